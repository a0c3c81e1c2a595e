"""Exact nearest-latent search for the VDAE's walk target x′, in O(B log n) per step on the CPU.

Each variational step (Algorithm 1) moves a batch of B codes z = ψ(x) to z′ = z + L_φ ε and needs, for
each row, the training point x′ ≠ x whose code is nearest z′ (Eq. 5). A scan over all n codes costs B·n
per step: at n = 100,000 it was most of the training time. The walk's steps are long (on the circle at n = 2,000,
99% of the moved codes are nearer to a code outside the 64 nearest codes of their start than to any inside,
and the span grows with n), so a fixed list of candidates per point does not help; a k-d tree over the codes (scikit-learn's ``KDTree``, built once per training) answers each query in
O(log n) for a diffusion map of few dimensions. (scikit-learn's ``KDTree`` answered the walk's
off-manifold queries 3× faster than scipy's ``cKDTree`` here.) On a GPU the scan is one matrix product and
stays (a tree would copy every batch to the CPU), and so it does for latents of more than
:data:`TREE_MAX_DIM` dimensions, where a tree prunes little (measured: 256 queries on the torus's 12-D codes,
n = 3,000, 15.6 ms by tree against 3.2 ms by scan; on the circle's 2-D codes at n = 100,000, 12 ms against
158 ms; benchmarks/bench_nearest_target.py).

The tree searches in float64 and is exact; the float32 scan is exact only up to rounding of
|z′|² − 2 z′·z_j + |z_j|², which picks another of two near-equidistant codes (relative gap ≲ 1e-6) for a
quarter of the rows at n = 20,000 on the circle: a near-tie, equally valid as a target.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import KDTree

#: Below this many codes the scan is about as fast as the tree (circle, n = 2,000: 1.2 ms against 1.7 ms).
SCAN_BELOW = 4096
#: Above this latent dimension the scan is faster than the tree.
TREE_MAX_DIM = 4


class NearestTarget:
    """Index of the nearest training code to each moved code, excluding the row's own point.

    Parameters
    ----------
    Z : torch.Tensor (n, D)
        Codes of the training points, on the training device.
    use_tree : bool or None
        Force the k-d tree (True) or the scan (False); None chooses: the tree on the CPU when
        n ≥ :data:`SCAN_BELOW` and D ≤ :data:`TREE_MAX_DIM`, else the scan.
    """

    def __init__(self, Z: torch.Tensor, use_tree=None):
        self.Z = Z
        if use_tree is None:
            use_tree = Z.device.type == "cpu" and len(Z) >= SCAN_BELOW and Z.shape[1] <= TREE_MAX_DIM
        self.tree = KDTree(Z.detach().cpu().numpy().astype(np.float64)) if use_tree else None
        if self.tree is None:
            self.sqnorm = Z.pow(2).sum(1)  # |z_j|², for the scan by addmm

    @torch.no_grad()
    def __call__(self, z_new: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Indices (B,) of the training codes nearest ``z_new`` (B, D), row i excluding point ``idx[i]``."""
        if self.tree is None:
            return self._scan(z_new, idx)
        # The two nearest: the first unless it is the row's own point (then the second).
        j = self.tree.query(z_new.detach().cpu().numpy().astype(np.float64), k=2, return_distance=False)
        own = j[:, 0] == idx.cpu().numpy()
        return torch.as_tensor(np.where(own, j[:, 1], j[:, 0]), device=z_new.device)

    def _scan(self, z_new: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        # |z' - z_j|² up to the per-row constant |z'|²: one matmul, no square roots.
        d2 = torch.addmm(self.sqnorm, z_new, self.Z.T, alpha=-2.0)
        d2[torch.arange(len(idx), device=d2.device), idx] = float("inf")  # x' ≠ x
        return d2.argmin(1)

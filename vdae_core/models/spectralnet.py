"""SpectralNet: a network whose outputs approximate the diffusion-map coordinates ψ(x).

Training minimises the Dirichlet energy of the outputs on a kNN Gaussian graph built inside each batch,
subject to degree-weighted orthonormality (the random-walk normalisation):

    minimise  Σ_ij W_ij |y_i - y_j|^2 / Σ_i d_i   s.t.  Y^T D Y / Σ_i d_i = I,  Σ_i d_i y_i = 0.

The minimisers are spanned by the generalised eigenvectors of (D - W, D) — the right eigenvectors of
P = D^{-1} W — with the constant one removed by the centring constraint. Orthonormalisation uses the
*same* batch inside the gradient step (float64 Cholesky with jitter): holding a factor from another
batch fixed (the alternating scheme) lets the columns collapse onto the smoothest eigenvector.

After training, :meth:`SpectralNet.finalise` freezes the centring and orthonormalisation on the whole
training set and rotates the outputs so that coordinate j is the j-th eigenvector (ordered by eigenvalue).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import nn

from vdae_core.geometry.affinity import knn_affinity
from vdae_core.models.networks import Standardise, mlp


def as_float64(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float64, moved to the CPU on devices without float64 (Apple MPS); autograd follows."""
    if t.device.type == "mps":
        t = t.cpu()
    return t.double()


def batch_affinity(x: torch.Tensor, k: int) -> torch.Tensor:
    """Dense symmetric kNN Gaussian affinity inside a batch, shape (B, B); σ = median k-th distance."""
    with torch.no_grad():
        d2 = torch.cdist(x, x).pow(2)
        d2.fill_diagonal_(float("inf"))
        vals, idx = torch.topk(d2, k, dim=1, largest=False)
        sigma2 = torch.clamp(vals[:, -1].median(), min=1e-12)
        W = torch.zeros_like(d2)
        W.scatter_(1, idx, torch.exp(-vals / sigma2))
        return 0.5 * (W + W.T)


def orthonormalise(y: torch.Tensor, d: torch.Tensor, jitter: float = 1e-6,
                   max_tries: int = 6) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centre and orthonormalise batch outputs w.r.t. degree weights.

    Parameters
    ----------
    y : Tensor (B, D)
    d : Tensor (B,) degrees (any positive weights)

    Returns
    -------
    y_o : Tensor (B, D) with Σ d_i y_o,i = 0 and Y_o^T diag(d) Y_o / Σd = I (up to jitter)
    mean : Tensor (D,) the weighted mean removed
    L : Tensor (D, D) float64 lower Cholesky factor; y_o = (y - mean) L^{-T}

    Rank-deficient batches get growing jitter; after ``max_tries`` the eigen-decomposition with
    clamped eigenvalues is used instead, so training never crashes on a degenerate batch.
    """
    y64 = as_float64(y)
    w = as_float64(d / d.sum())
    mean = (w[:, None] * y64).sum(0)
    yc = y64 - mean
    G = yc.T @ (w[:, None] * yc)
    eye = torch.eye(G.shape[0], dtype=G.dtype, device=G.device)
    scale = torch.clamp(torch.diagonal(G).mean().detach(), min=1e-30)
    eps = jitter
    for _ in range(max_tries):
        L, info = torch.linalg.cholesky_ex(G + eps * scale * eye)
        if int(info) == 0:
            yo = torch.linalg.solve_triangular(L, yc.T, upper=False).T
            return yo.to(y.device, y.dtype), mean.to(y.device, y.dtype), L
        eps *= 100
    ev, U = torch.linalg.eigh(G)
    ev = torch.clamp(ev, min=1e-8 * scale)
    L = U @ torch.diag(ev.sqrt())  # not triangular, but y_o = yc L^{-T} still whitens
    yo = torch.linalg.solve(L, yc.T).T
    return yo.to(y.device, y.dtype), mean.to(y.device, y.dtype), L


class SpectralNet(nn.Module):
    """ψ: R^m -> R^D, an MLP followed by a fixed centring + orthonormalisation + eigen-rotation.

    Parameters
    ----------
    n_in : int
        Ambient dimension m.
    n_out : int
        Number of diffusion coordinates D (the constant eigenvector is not counted).
    hidden : sequence of int
    activation : str
    net : nn.Module, optional
        The network (B, n_in) -> (B, n_out) to use instead of an MLP of ``hidden`` (a convolutional
        encoder for images, from the network registry); it receives standardised flat inputs.
    """

    def __init__(self, n_in: int, n_out: int, hidden=(256, 256, 256), activation: str = "relu",
                 net: Optional[nn.Module] = None):
        super().__init__()
        self.standardise = Standardise(n_in)
        self.net = net if net is not None else mlp(n_in, hidden, n_out, activation)
        # Frozen output map, set by finalise(): psi(x) = (net(x) - out_mean) @ out_matrix
        self.register_buffer("out_mean", torch.zeros(n_out))
        self.register_buffer("out_matrix", torch.eye(n_out))
        self.register_buffer("eigenvalues", torch.zeros(n_out))
        self.register_buffer("finalised", torch.zeros((), dtype=torch.bool))
        # Rows: an orthonormal basis the kNN graph is built in (principal axes of the standardised data);
        # empty: the graph on the standardised inputs themselves.
        self.register_buffer("affinity_basis", torch.zeros(0, n_in))

    def fit_affinity_pca(self, X: np.ndarray, r: int, max_points: int = 5000, seed: int = 0) -> np.ndarray:
        """Build the kNN graph in the first ``r`` principal components of the standardised data ``X`` (n, m)
        (fitted on at most ``max_points`` points); returns the explained share of variance of each, (r,)."""
        rng = np.random.default_rng(seed)
        idx = np.arange(len(X)) if len(X) <= max_points else rng.choice(len(X), max_points, replace=False)
        S = self.standardise(torch.as_tensor(X[idx], dtype=torch.float32)).double().numpy()
        S = S - S.mean(0)
        _, sv, Vt = np.linalg.svd(S, full_matrices=False)
        r = int(min(r, Vt.shape[0]))
        self.affinity_basis = torch.as_tensor(Vt[:r], dtype=torch.float32).to(self.out_mean.device)
        return (sv[:r] ** 2) / max((sv ** 2).sum(), 1e-300)

    def affinity_coords(self, x: torch.Tensor) -> torch.Tensor:
        """Where the kNN graph is built: the standardised inputs, or their principal components. (B, m) -> (B, r)."""
        s = self.standardise(x)
        return s if self.affinity_basis.numel() == 0 else s @ self.affinity_basis.T

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ψ(x), shape (B, D). Valid after :meth:`finalise`."""
        return (self.raw(x) - self.out_mean) @ self.out_matrix

    def batch_loss(self, x: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Dirichlet energy of the batch-orthonormalised outputs; returns (loss, per-coordinate energy)."""
        W = batch_affinity(self.affinity_coords(x), k)
        d = W.sum(1)
        yo, _, _ = orthonormalise(self.raw(x), d)
        yo64, d64 = as_float64(yo), as_float64(d)
        # Σ_ij W_ij |y_i - y_j|^2 = 2 tr(Y^T (D - W) Y)
        lap = d64[:, None] * yo64 - as_float64(W) @ yo64
        per_coord = 2.0 * (yo64 * lap).sum(0) / d64.sum()
        return per_coord.sum().to(x.device, x.dtype), per_coord.detach()

    @torch.no_grad()
    def finalise(self, X: np.ndarray, k: int, max_points: int = 6000, seed: int = 0) -> np.ndarray:
        """Freeze the output map on the training data and order coordinates by eigenvalue.

        Builds the kNN graph on (a subsample of) X, orthonormalises the raw outputs with the graph's
        degrees, then solves the D x D eigenproblem of the projected Laplacian Y^T (D - W) Y / Σd and
        rotates the outputs into its eigenvectors (ascending Laplacian eigenvalue = descending μ).

        Returns
        -------
        ndarray (D,) eigenvalues of the random-walk Laplacian I - P, estimated in the learned subspace.
        """
        rng = np.random.default_rng(seed)
        idx = np.arange(len(X)) if len(X) <= max_points else np.sort(rng.choice(len(X), max_points, replace=False))
        Xs = X[idx]
        dev = self.out_mean.device
        xs = torch.as_tensor(Xs, dtype=torch.float32, device=dev)
        W, _ = knn_affinity(self.affinity_coords(xs).cpu().numpy().astype(np.float64), k=min(k, len(Xs) - 1))
        deg = np.asarray(W.sum(1)).ravel()
        y = self.raw(xs).double().cpu()
        _, mean, L = orthonormalise(y, torch.as_tensor(deg))
        Linv_T = torch.linalg.inv(L).T
        yo = ((y - mean) @ Linv_T).numpy()
        lap = deg[:, None] * yo - W @ yo
        A = yo.T @ lap / deg.sum()
        lam, R = np.linalg.eigh(0.5 * (A + A.T))
        M = Linv_T.numpy() @ R
        # Fix signs for reproducibility: the largest-magnitude loading of each coordinate is positive.
        proj = yo @ R
        signs = np.sign(proj[np.abs(proj).argmax(0), np.arange(proj.shape[1])])
        signs[signs == 0] = 1
        M = M * signs[None, :]
        self.out_mean.copy_(mean.float().to(dev))
        self.out_matrix.copy_(torch.as_tensor(M, dtype=torch.float32, device=dev))
        self.eigenvalues.copy_(torch.as_tensor(lam, dtype=torch.float32, device=dev))
        self.finalised.fill_(True)
        return lam

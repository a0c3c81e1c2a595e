"""Maximum mean discrepancy with a Gaussian kernel."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
from scipy.spatial.distance import pdist

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.foundation.validation import as_points
from vdae_core.metrics.subsample import subsample_indices

# The median heuristic uses at most this many pooled points (a seeded subsample above it): the
# median of ~12.5 million pairwise distances is already very stable and costs ~100 MB.
_MEDIAN_MAX_POINTS = 5000
_BLOCK_ROWS = 1024


def _kernel_mean(a: np.ndarray, b: np.ndarray, gamma: float) -> float:
    """Mean of exp(-gamma |a_i - b_j|^2) over all pairs, in row blocks to bound memory."""
    b_sq = np.einsum("ij,ij->i", b, b)
    total = 0.0
    for start in range(0, a.shape[0], _BLOCK_ROWS):
        blk = a[start:start + _BLOCK_ROWS]
        d2 = np.einsum("ij,ij->i", blk, blk)[:, None] + b_sq[None, :] - 2.0 * (blk @ b.T)
        np.maximum(d2, 0.0, out=d2)
        total += float(np.exp(-gamma * d2).sum())
    return total / (a.shape[0] * b.shape[0])


def median_heuristic(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """Median pairwise Euclidean distance of the pooled sample ``[x; y]``.

    Parameters
    ----------
    x : ndarray, shape (n, m)
    y : ndarray, shape (n2, m)
    seed : int
        Seed of the subsample used when the pool has more than 5,000 points.

    Returns
    -------
    h : float
        The median over distinct pairs (``i < j``).
    rule : str
        A sentence stating how ``h`` was chosen.
    """
    pooled = np.vstack([x, y])
    idx = subsample_indices(pooled.shape[0], _MEDIAN_MAX_POINTS, seed)
    h = float(np.median(pdist(pooled[idx])))
    rule = f"median heuristic: median pairwise distance of the pooled sample ({pooled.shape[0]} points"
    if len(idx) < pooled.shape[0]:
        rule += f"; median over a seeded subsample of {len(idx)}"
    return h, rule + ")"


@METRICS.register("mmd", help="Squared MMD, Gaussian kernel, median-heuristic bandwidth (biased V-statistic).")
def mmd(x, y, bandwidth: Optional[float] = None) -> Dict[str, Any]:
    """Squared maximum mean discrepancy between two samples, Gaussian kernel.

    ``k(a, b) = exp(-|a - b|^2 / (2 h^2))`` and the biased (V-statistic) estimator

    ``MMD^2 = mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j)``

    with the diagonal terms included. It is the squared distance between the two empirical kernel
    mean embeddings, so it is >= 0 and exactly 0 when ``x`` and ``y`` hold the same points; it is
    biased upwards by O(1/n + 1/m) for two different samples of one distribution.

    Parameters
    ----------
    x : array_like, shape (n, m)
    y : array_like, shape (n2, m)
    bandwidth : float, optional
        Kernel width h > 0. If omitted, the median heuristic: h = the median Euclidean distance
        over distinct pairs of the pooled sample ``[x; y]`` (over a seeded subsample of 5,000
        points when the pool is larger).

    Returns
    -------
    dict
        ``mmd2`` (float, >= 0; round-off below 0 is clipped), ``bandwidth`` (float, h used),
        ``bandwidth_rule`` (str, how h was chosen).

    Raises
    ------
    UserInputError
        For non-2-D or non-finite input, different dimensions, a non-positive bandwidth, or a
        median heuristic of 0 (most pooled points identical).
    """
    x = as_points(x, "mmd: x", min_points=1)
    y = as_points(y, "mmd: y", min_points=1)
    if x.shape[1] != y.shape[1]:
        raise UserInputError(f"mmd: x has dimension {x.shape[1]} but y has {y.shape[1]}")
    if bandwidth is None:
        if x.shape[0] + y.shape[0] < 2:
            raise UserInputError("mmd: the median heuristic needs at least 2 pooled points")
        h, rule = median_heuristic(x, y)
        if h == 0.0:
            raise UserInputError("mmd: the median pairwise distance of the pooled sample is 0 "
                                 "(most points identical); pass an explicit bandwidth")
    else:
        h = float(bandwidth)
        if not np.isfinite(h) or h <= 0:
            raise UserInputError(f"mmd: bandwidth must be a positive finite number, got {bandwidth!r}")
        rule = "given"
    gamma = 1.0 / (2.0 * h * h)
    value = _kernel_mean(x, x, gamma) + _kernel_mean(y, y, gamma) - 2.0 * _kernel_mean(x, y, gamma)
    return {"mmd2": max(0.0, value), "bandwidth": h, "bandwidth_rule": rule}

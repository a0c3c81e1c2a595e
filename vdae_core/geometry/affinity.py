"""k-nearest-neighbour Gaussian affinities (the kernel of the diffusion map)."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from vdae_core.foundation.errors import UserInputError


def knn(X: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Distances and indices of each point's ``k`` nearest other points.

    Returns
    -------
    dist : ndarray (n, k), ascending
    idx : ndarray (n, k)
    """
    n = len(X)
    if k >= n:
        raise UserInputError(f"k={k} neighbours needs more than {k} points (have {n})")
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X)
    d, i = nn.kneighbors(X)
    return d[:, 1:], i[:, 1:]


def median_knn_scale(dist: np.ndarray) -> float:
    """Kernel scale σ: the median distance to the k-th neighbour (``dist`` (n, k) from :func:`knn`)."""
    s = float(np.median(dist[:, -1]))
    if not s > 0:
        raise UserInputError("the points' k-th neighbour distances are all zero (duplicated points?)")
    return s


def knn_affinity(X: np.ndarray, k: int = 10, scale: Optional[float] = None) -> Tuple[sp.csr_matrix, float]:
    """Symmetric kNN Gaussian affinity W_ij = exp(-|x_i - x_j|^2 / σ^2) on the kNN graph.

    The graph is symmetrised by W = (W + W^T)/2, so an edge found from one side only keeps half weight.

    Parameters
    ----------
    X : ndarray (n, m)
    k : int
        Neighbours per point.
    scale : float, optional
        σ; default the median k-th neighbour distance.

    Returns
    -------
    W : scipy.sparse.csr_matrix (n, n)
    sigma : float
    """
    dist, idx = knn(X, k)
    sigma = median_knn_scale(dist) if scale is None else float(scale)
    n = len(X)
    w = np.exp(-(dist / sigma) ** 2)
    W = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    return ((W + W.T) * 0.5).tocsr(), sigma

"""Exact diffusion maps by sparse eigendecomposition: the reference for SpectralNet.

With the kNN Gaussian affinity W and degrees d = W 1, the random-walk matrix is P = D^{-1} W.
Its right eigenvectors φ_j (P φ_j = μ_j φ_j, μ_0 = 1 > μ_1 >= ...) are the diffusion-map coordinates;
φ_0 is constant and is dropped. We solve the symmetric problem S = D^{-1/2} W D^{-1/2}, u_j = D^{1/2} φ_j,
and normalise each φ_j to unit degree-weighted mean square: Σ_i d_i φ_j(i)^2 / Σ_i d_i = 1.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.affinity import knn_affinity

MAX_EXACT_POINTS = 20_000


@dataclasses.dataclass
class DiffusionMap:
    """Result of :func:`diffusion_map`.

    Attributes
    ----------
    coords : ndarray (n, D)
        Eigenvectors φ_1..φ_D (constant one dropped), ordered by decreasing μ.
    eigenvalues : ndarray (D,)
        μ_1..μ_D of P.
    degrees : ndarray (n,)
    sigma : float
        Kernel scale used.
    k : int
    seconds : float
        Wall time of graph + eigensolver.
    """

    coords: np.ndarray
    eigenvalues: np.ndarray
    degrees: np.ndarray
    sigma: float
    k: int
    seconds: float

    def embedding(self, t: float = 1.0) -> np.ndarray:
        """Diffusion coordinates at time t: μ_j^t φ_j, shape (n, D) (:func:`diffusion_coordinates`)."""
        return diffusion_coordinates(self.coords, self.eigenvalues, t)


def diffusion_map(X: np.ndarray, n_components: int = 2, k: int = 10, scale: float | None = None) -> DiffusionMap:
    """Exact diffusion map of ``X`` (n, m): the first ``n_components`` non-trivial eigenvectors of P.

    Raises
    ------
    UserInputError
        Too many points for the exact solver, too few points, or more components than possible.
    """
    t0 = time.perf_counter()
    n = len(X)
    if n > MAX_EXACT_POINTS:
        raise UserInputError(f"the exact diffusion map is limited to {MAX_EXACT_POINTS} points (got {n})")
    if n_components < 1 or n_components > n - 2:
        raise UserInputError(f"n_components={n_components} must be between 1 and n-2={n - 2}")
    W, sigma = knn_affinity(np.asarray(X, dtype=np.float64), k=k, scale=scale)
    d = np.asarray(W.sum(1)).ravel()
    dm12 = sp.diags(1.0 / np.sqrt(d))
    S = (dm12 @ W @ dm12).tocsr()
    m = n_components + 1
    if n <= 1500:
        vals, vecs = scipy.linalg.eigh(S.toarray(), subset_by_index=[n - m, n - 1])
    else:
        # Shift-invert around 1 - eps finds the eigenvalues of S nearest 1 (the smooth end) quickly.
        L = (sp.identity(n) - S).tocsc()
        vals_l, vecs = spla.eigsh(L, k=m, sigma=-1e-3, which="LM", v0=np.full(n, 1.0 / np.sqrt(n)))
        vals = 1.0 - vals_l
    order = np.argsort(-vals)
    vals, vecs = vals[order], vecs[:, order]
    phi = vecs / np.sqrt(d)[:, None]
    phi /= np.sqrt((d[:, None] * phi ** 2).sum(0) / d.sum())[None, :]
    return DiffusionMap(phi[:, 1:], vals[1:], d, sigma, k, time.perf_counter() - t0)


def diffusion_coordinates(phi: np.ndarray, eigenvalues: np.ndarray, t: float = 0.0) -> np.ndarray:
    """The diffusion map at time t (Coifman & Lafon 2006): ψ_t = (μ_1^t φ_1, …, μ_D^t φ_D).

    Each eigenvector is scaled by its eigenvalue to the power t, so the fast-decaying coordinates (small μ)
    shrink as t grows, and the Euclidean distance between two points' ψ_t (all n − 1 coordinates) is their
    diffusion distance at time t. t = 0 gives the eigenvectors themselves.

    Parameters
    ----------
    phi : ndarray (n, D)
        Eigenvectors φ_j of P, one per column (``DiffusionMap.coords`` or any subset of its columns).
    eigenvalues : ndarray (D,)
        Their eigenvalues μ_j, in the same order.
    t : float
        Diffusion time, ≥ 0 (an integer number of random-walk steps; a fractional t needs μ ≥ 0).

    Returns
    -------
    psi : ndarray (n, D)
    """
    phi = np.asarray(phi, dtype=np.float64)
    mu = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    if phi.ndim != 2 or phi.shape[1] != mu.size:
        raise ValueError(f"phi {phi.shape} needs one eigenvalue per column (got {mu.size})")
    if not t >= 0:
        raise ValueError(f"the diffusion time t must be >= 0 (got {t})")
    return phi * (mu ** t)[None, :]


def transition_matrix(X: np.ndarray, k: int = 10, scale: float | None = None) -> tuple[sp.csr_matrix, float]:
    """The random-walk matrix P = D⁻¹W of the kNN Gaussian graph :func:`diffusion_map` is built on.

    W is :func:`~vdae_core.geometry.affinity.knn_affinity` (same k, same σ: the median k-th neighbour
    distance unless ``scale`` is given) and D = diag(W 1), so row i of P is the distribution of one
    random-walk step from point i: non-negative, summing to 1, non-zero only on i's graph neighbours.

    Parameters
    ----------
    X : ndarray (n, m)
    k : int
        Neighbours per point.
    scale : float, optional
        Kernel scale σ.

    Returns
    -------
    P : scipy.sparse.csr_matrix (n, n)
    sigma : float
    """
    W, sigma = knn_affinity(np.asarray(X, dtype=np.float64), k=k, scale=scale)
    d = np.asarray(W.sum(1)).ravel()
    return (sp.diags(1.0 / d) @ W).tocsr(), sigma


def transition_row(P, i: int, t: int = 1) -> np.ndarray:
    """Row i of P^t: where a random walk started at point i is after t steps.

    Computed as e_iᵀ P^t by t sparse products (Pᵀ applied t times to the one-hot vector e_i), never forming P^t.

    Parameters
    ----------
    P : scipy.sparse matrix (n, n)
        A row-stochastic transition matrix (:func:`transition_matrix`).
    i : int
        The start point, 0 <= i < n.
    t : int
        Steps, >= 0 (t = 0 gives e_i).

    Returns
    -------
    row : ndarray (n,)
        P^t[i, :], non-negative and summing to 1.
    """
    n = P.shape[0]
    if not 0 <= int(i) < n:
        raise ValueError(f"point {i} is out of range (n = {n})")
    if int(t) != t or t < 0:
        raise ValueError(f"the number of steps t must be a non-negative integer (got {t})")
    PT = sp.csr_matrix(P).T.tocsr()
    row = np.zeros(n)
    row[int(i)] = 1.0
    for _ in range(int(t)):
        row = PT @ row
    return row


def canonical_correlations(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Canonical correlations between the column spaces of A (n, p) and B (n, q), descending.

    Invariant to any invertible linear map of either side, so it compares embeddings up to
    rotation, reflection and scaling of coordinates.
    """
    Qa, _ = np.linalg.qr(A - A.mean(0))
    Qb, _ = np.linalg.qr(B - B.mean(0))
    return np.clip(np.linalg.svd(Qa.T @ Qb, compute_uv=False), 0.0, 1.0)

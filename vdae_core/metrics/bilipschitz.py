"""Per-point bi-Lipschitz constants of a map over latent nearest neighbours."""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from sklearn.neighbors import NearestNeighbors

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.foundation.validation import as_points, check_k, check_not_constant, check_same_length


def _neighbour_ratios(z, x, k: int, what: str, latent_space=None) -> Tuple[np.ndarray, np.ndarray]:
    """Distance ratios d_X / d_Z over each latent point's k nearest latent neighbours.

    With ``latent_space`` (a :class:`~vdae_core.geometry.manifolds.Manifold`), ``z`` holds its points
    (n, *shape) and d_Z is its geodesic distance, neighbours included (the manifold's exact geodesic kNN);
    otherwise d_Z is Euclidean.

    Returns
    -------
    ratio : ndarray, shape (n, k)
        ``|x_i - x_j| / |z_i - z_j|`` for the j-th latent neighbour of point i; 1.0 where invalid.
    valid : ndarray, shape (n, k), bool
        False for pairs of identical latent points (``d_Z = 0``), which are left out.
    """
    z_pts = z
    if latent_space is not None:
        z = np.asarray(z, dtype=np.float64)
        z = z.reshape(len(z), -1) if z.ndim > 1 else z
    z = as_points(z, f"{what}: z", min_points=2)
    x = as_points(x, f"{what}: x", min_points=2)
    check_same_length(x, z, what)
    k = check_k(k, z.shape[0], what)
    check_not_constant(z, f"{what}: z")

    if latent_space is None:
        # kneighbors() without a query excludes each point from its own neighbours by index, so a
        # duplicate of z_i is still returned as a neighbour (and then dropped below as d_Z = 0).
        idx = NearestNeighbors(n_neighbors=k).fit(z).kneighbors(return_distance=False)
        # Distances are recomputed exactly: the brute-force search's |a|^2+|b|^2-2ab can turn an exact
        # duplicate into a tiny positive distance, and hence a huge spurious ratio.
        dz = np.linalg.norm(z[idx] - z[:, None, :], axis=-1)
    else:
        import torch

        zt = torch.as_tensor(np.asarray(z_pts, dtype=np.float64)).reshape(len(z), *latent_space.shape)
        # exact geodesic kNN, never one's own row (a duplicate still is a neighbour, at distance 0)
        dzt, idxt = latent_space.knn_geodesic(zt, k)
        dz, idx = dzt.numpy(), idxt.numpy()
    dx = np.linalg.norm(x[idx] - x[:, None, :], axis=-1)
    valid = dz > 0
    no_valid = ~valid.any(axis=1)
    if no_valid.any():
        raise UserInputError(
            f"{what}: {int(no_valid.sum())} latent points have all their k={k} nearest neighbours at "
            "distance 0 (duplicates); remove duplicate latent points or increase k")
    ratio = np.ones_like(dz)
    np.divide(dx, dz, out=ratio, where=valid)
    return ratio, valid


def _constants(ratio: np.ndarray, valid: np.ndarray, scale_free: bool) -> np.ndarray:
    """Per-point max over valid neighbours of max(r, 1/r); ``inf`` where some r = 0."""
    if scale_free:
        c = float(np.median(ratio[valid]))
        if c == 0.0:
            # More than half the neighbour pairs collapse to one decoded point: no finite scale.
            return np.full(ratio.shape[0], np.inf)
        ratio = ratio / c
    q = np.full_like(ratio, np.inf)  # r = 0 (d_X = 0 < d_Z): the map is not injective, K = inf
    pos = ratio > 0
    q[pos] = np.maximum(ratio[pos], 1.0 / ratio[pos])
    q[~valid] = 1.0  # neutral: every constant is >= 1
    return q.max(axis=1)


@METRICS.register("bilipschitz", help="Per-point bi-Lipschitz constant of the decoder over latent kNN.")
def bilipschitz(z, x, k: int = 10, scale_free: bool = False) -> np.ndarray:
    """Per-point bi-Lipschitz constant of the map ``z_i -> x_i`` over latent neighbours.

    For each latent point ``z_i`` with its paired point ``x_i = f(z_i)`` (row i of both arrays),
    the smallest ``K_i >= 1`` with ``1/K_i <= d_X(x_i, x_j) / d_Z(z_i, z_j) <= K_i`` for the k
    nearest latent neighbours ``z_j`` of ``z_i`` (itself excluded), i.e.
    ``K_i = max_j max(r_ij, 1 / r_ij)`` with ``r_ij = d_X / d_Z``. An isometry gives 1 everywhere, a
    uniform scaling by s gives ``max(s, 1/s)``.

    Parameters
    ----------
    z : array_like, shape (n, D)
        Latent points.
    x : array_like, shape (n, m)
        Their images (decoded points), paired row by row with ``z``.
    k : int
        Number of latent nearest neighbours (Euclidean, scikit-learn); needs ``n >= k + 1``.
    scale_free : bool
        If True, every ratio is first divided by the median of all ratios, so a map that is an
        isometry up to a global scale scores 1.

    Returns
    -------
    ndarray, shape (n,), float64
        ``K_i`` for each point, all ``>= 1``. ``inf`` where some neighbour is mapped onto the same
        point as ``z_i`` (``d_X = 0 < d_Z``: the map is not injective there, no finite K exists);
        with ``scale_free``, all ``inf`` if the median ratio is 0.

    Raises
    ------
    UserInputError
        For non-2-D, non-finite or unpaired input, fewer than ``k + 1`` points, all latent points
        identical, or a point whose k neighbours all duplicate it.

    Notes
    -----
    Pairs of identical latent points (``d_Z = 0``, duplicates) carry no ratio and are left out;
    the neighbour list is not extended to replace them. The scale-free median is taken over the
    remaining pairs.
    """
    ratio, valid = _neighbour_ratios(z, x, k, "bilipschitz")
    return _constants(ratio, valid, scale_free)


def geodesic_latent(model):
    """The model's latent space where latent distances must be geodesic (a compact manifold), else None."""
    space = getattr(model, "latent_space", None)
    return space if space is not None and space.is_compact else None


def bilipschitz_both(z, x, k: int = 10, latent_space=None) -> Tuple[np.ndarray, np.ndarray]:
    """Raw and scale-free constants from one neighbour search.

    ``latent_space``: measure latent distances geodesically on it (``z`` then holds its points,
    (n, *shape)); see :func:`_neighbour_ratios`.

    Returns
    -------
    raw, scale_free : ndarray, shape (n,) each
        As :func:`bilipschitz` with ``scale_free=False`` and ``True``.
    """
    ratio, valid = _neighbour_ratios(z, x, k, "bilipschitz", latent_space)
    return _constants(ratio, valid, False), _constants(ratio, valid, True)


def bilipschitz_summary(values) -> Dict[str, float]:
    """Summary statistics of per-point constants.

    Parameters
    ----------
    values : array_like, shape (n,)
        Per-point constants from :func:`bilipschitz` (``inf`` allowed, NaN not).

    Returns
    -------
    dict
        ``median``, ``mean``, ``max``, ``p95`` (95th percentile) as Python floats. If some values
        are ``inf``, the percentiles are nearest-rank (no interpolation) and may be ``inf``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise UserInputError(f"bilipschitz_summary: expected a non-empty 1-D array, got shape {v.shape}")
    if np.isnan(v).any():
        raise UserInputError("bilipschitz_summary: values contain NaN")
    # With infinite values, linear interpolation can give inf - inf = NaN: use a nearest-rank
    # (non-interpolating) percentile instead.
    method = "linear" if np.isfinite(v).all() else "inverted_cdf"
    return {
        "median": float(np.percentile(v, 50, method=method)),
        "mean": float(np.mean(v)),
        "max": float(np.max(v)),
        "p95": float(np.percentile(v, 95, method=method)),
    }

"""Quality metrics for learned maps and generated samples.

Every metric is a pure function, arrays in and plain numbers or arrays out, registered in
:data:`vdae_core.foundation.registry.METRICS`:

``bilipschitz``
    Per-point bi-Lipschitz constant of a decoder over latent k-nearest neighbours.
``gromov_wasserstein``
    Gromov-Wasserstein discrepancy between two point clouds (POT), possibly of different dimensions.
``mmd``
    Squared maximum mean discrepancy, Gaussian kernel, median-heuristic bandwidth.
``circular_correlation``
    Fisher–Lee correlation of two angles (is a latent angle a homeomorphic image of the true one?).
``angle_recovery``
    |ρ_T| of each periodic true coordinate with the best latent angle (did the model find the loop?).
``walk_class_retention``
    Share of random-walk samples a kNN classifier gives the start's label (cluster-conditional sampling).
``trustworthiness`` / ``continuity``
    Neighbourhood preservation of latent codes (scikit-learn).
``persistence``
    Persistence diagrams (ripser) and Betti numbers read off at a stated threshold.
``tears_folds``
    Data neighbours cut apart by an encoder, latent neighbours glued from far apart.
``prior_holes``
    Prior mass with no encoded data behind it, and how far its decodings land from the data.

:func:`evaluate_model` runs them all on a trained model. Invalid input (wrong shape, NaN/inf,
too few points, all points identical, mismatched lengths) raises
:class:`vdae_core.foundation.errors.UserInputError`, a ``ValueError``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError


# The validation helpers are defined before the submodule imports below: the submodules import
# them from this (partially initialised) package, so keep them above those imports.
def as_points(a, what: str = "points", min_points: int = 1) -> np.ndarray:
    """Validate a point array and return it as float64.

    Parameters
    ----------
    a : array_like, shape (n, m)
        Points, one per row. Torch tensors are accepted (detached and moved to the CPU).
    what : str
        Name used in error messages, e.g. ``"bilipschitz: z"``.
    min_points : int
        Fewest rows accepted.

    Returns
    -------
    ndarray, shape (n, m), float64, C-contiguous

    Raises
    ------
    UserInputError
        If ``a`` is not a numeric 2-D array, has fewer than ``min_points`` rows, no columns, or
        contains NaN or inf.
    """
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch tensor, without importing torch here
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise UserInputError(f"{what}: values are not numeric (dtype {a.dtype})")
    if np.iscomplexobj(a):
        raise UserInputError(f"{what}: complex values are not supported")
    if a.ndim != 2:
        raise UserInputError(f"{what}: expected a 2-D array (n points x m coordinates), got shape {a.shape}")
    if a.shape[1] == 0:
        raise UserInputError(f"{what}: points have no coordinates (shape {a.shape})")
    if a.shape[0] < min_points:
        raise UserInputError(f"{what}: needs at least {min_points} points, got {a.shape[0]}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        rows = int(bad.any(axis=1).sum())
        raise UserInputError(f"{what}: {rows} of {a.shape[0]} rows contain NaN or inf values")
    return a


def check_same_length(a: np.ndarray, b: np.ndarray, what: str, names=("x", "z")) -> None:
    """Raise :class:`UserInputError` unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise UserInputError(f"{what}: {names[0]} has {a.shape[0]} points but {names[1]} has {b.shape[0]}; "
                             "they must be paired row by row")


def check_not_constant(a: np.ndarray, what: str) -> None:
    """Raise :class:`UserInputError` if all rows of ``a`` are the same point."""
    if not (a != a[:1]).any():
        raise UserInputError(f"{what}: all {a.shape[0]} points are identical")


def check_k(k, n: int, what: str) -> int:
    """Validate a neighbour count ``k`` against ``n`` points (needs ``n >= k + 1``); return it as int."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise UserInputError(f"{what}: k must be a positive integer, got {k!r}")
    if n < k + 1:
        raise UserInputError(f"{what}: k={k} neighbours need at least {k + 1} points, got {n}")
    return int(k)


def subsample_indices(n: int, max_points: Optional[int], seed: int) -> np.ndarray:
    """Indices of a seeded subsample of ``n`` items, at most ``max_points`` of them.

    Parameters
    ----------
    n : int
        Number of items.
    max_points : int or None
        Largest subsample; ``None`` keeps everything.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray, shape (min(n, max_points),), int64
        ``arange(n)`` if nothing is dropped, else sorted indices drawn without replacement, so
        the same ``(n, max_points, seed)`` always gives the same subsample.
    """
    if max_points is None or n <= max_points:
        return np.arange(n)
    if max_points < 1:
        raise UserInputError(f"max_points must be at least 1, got {max_points}")
    return np.sort(np.random.default_rng(seed).choice(n, int(max_points), replace=False))


from vdae_core.metrics.bilipschitz import bilipschitz, bilipschitz_summary  # noqa: E402
from vdae_core.metrics.circular import circular_correlation, torus_alignment  # noqa: E402
from vdae_core.metrics.angle_recovery import angle_recovery, angle_recovery_floor, latent_angle_candidates  # noqa: E402
from vdae_core.metrics.class_retention import walk_class_retention  # noqa: E402
from vdae_core.metrics.gromov_wasserstein import gromov_wasserstein  # noqa: E402
from vdae_core.metrics.mmd import mmd  # noqa: E402
from vdae_core.metrics.trustworthiness import continuity, trustworthiness  # noqa: E402
from vdae_core.metrics.persistence import persistence  # noqa: E402
from vdae_core.metrics.prior_holes import prior_holes  # noqa: E402
from vdae_core.metrics.tears import tears_and_folds  # noqa: E402
from vdae_core.metrics.evaluate import evaluate_model, evaluation_subset  # noqa: E402

__all__ = [
    "bilipschitz",
    "bilipschitz_summary",
    "circular_correlation",
    "torus_alignment",
    "angle_recovery",
    "angle_recovery_floor",
    "latent_angle_candidates",
    "walk_class_retention",
    "gromov_wasserstein",
    "mmd",
    "trustworthiness",
    "continuity",
    "evaluate_model",
    "evaluation_subset",
    "as_points",
    "subsample_indices",
]

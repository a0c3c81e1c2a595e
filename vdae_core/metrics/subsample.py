"""Seeded subsamples: the same ``(n, max_points, seed)`` always keeps the same points."""
from __future__ import annotations

from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError


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

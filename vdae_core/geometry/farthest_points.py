"""Farthest-point sampling: a few points spread evenly over a cloud."""
from __future__ import annotations

import numpy as np


def farthest_point_indices(P: np.ndarray, k: int, seed: int = 0, stop_radius: float = 0.0) -> np.ndarray:
    """Indices of ``min(k, n)`` points of ``P`` (n, m): a random first point, then each next point the
    one farthest from those chosen so far.

    With ``stop_radius`` > 0 it stops sooner, as soon as every point of ``P`` lies within ``stop_radius`` of a
    chosen one (the chosen points' covering radius is the distance of the next candidate).

    Returns
    -------
    ndarray (min(k, n),) int64, or fewer with ``stop_radius``
    """
    P = np.asarray(P, dtype=np.float64)
    k = min(int(k), len(P))
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(P)))]
    d = np.linalg.norm(P - P[chosen[0]], axis=1)
    for _ in range(k - 1):
        i = int(np.argmax(d))
        if d[i] <= stop_radius:
            break
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(P - P[i], axis=1))
    return np.asarray(chosen, dtype=np.int64)

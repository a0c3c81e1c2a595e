"""How unevenly a sample fills the cells of the data's law (the evaluation protocol's lumpiness)."""
from __future__ import annotations

from typing import Dict

import numpy as np
from sklearn.neighbors import NearestNeighbors


def lumpiness(samples: np.ndarray, centres: np.ndarray, expected: np.ndarray, top: float = 0.10) -> Dict[str, float]:
    """How unevenly ``samples`` fill the cells of the data's law.

    Parameters
    ----------
    samples : ndarray, shape (M, m)
    centres : ndarray, shape (K, m)
        Cell centres (Voronoi cells, nearest centre).
    expected : ndarray, shape (K,)
        Each cell's mass under the law (sums to 1; estimate it from a large exact sample).
    top : float
        Share of the law's mass in the densest cells looked at.

    Returns
    -------
    dict
        ``lump_top10``: share of samples in the cells of highest observed/expected ratio that hold ``top``
        of the expected mass (the last cell counted in part), ``top`` for an even sampler; ``lump_max``:
        the largest observed/expected ratio.
    """
    cell = NearestNeighbors(n_neighbors=1).fit(centres).kneighbors(samples)[1][:, 0]
    obs = np.bincount(cell, minlength=len(centres)) / len(samples)
    ratio = obs / expected
    order = np.argsort(-ratio, kind="stable")
    cum = np.cumsum(expected[order])
    last = int(np.searchsorted(cum, top))               # first cell that reaches ``top``
    before = cum[last - 1] if last > 0 else 0.0
    share = obs[order[:last]].sum() + (top - before) / expected[order[last]] * obs[order[last]]
    return {"lump_top10": float(share), "lump_max": float(ratio.max())}


def cell_masses(centres: np.ndarray, big: np.ndarray) -> np.ndarray:
    """Expected mass of each Voronoi cell of ``centres`` (K, m) from a large law sample ``big`` (N, m):
    (counts + ½) / (N + K/2), so no cell has mass 0."""
    cell = NearestNeighbors(n_neighbors=1).fit(centres).kneighbors(big)[1][:, 0]
    counts = np.bincount(cell, minlength=len(centres)).astype(np.float64)
    return (counts + 0.5) / (counts.sum() + 0.5 * len(centres))

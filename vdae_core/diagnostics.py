"""Walk diagnostics: is a sampler on the manifold, uniform, and does it stay in its cluster?

Generated points get the ground-truth coordinates of their nearest data point, which makes every
dataset with ``params`` checkable (angles of the circle and torus, blob labels, mesh heights).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional

import numpy as np
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from .data.base import Dataset
from .errors import UserInputError


@dataclasses.dataclass
class NearestLookup:
    """Nearest-data-point queries against a dataset's points ``X`` (n, m)."""

    X: np.ndarray

    def __post_init__(self):
        self._nn = NearestNeighbors(n_neighbors=2).fit(self.X)
        self.spacing = float(np.median(self._nn.kneighbors(self.X)[0][:, 1]))

    def query(self, Y: np.ndarray):
        """Distances (k,) and indices (k,) of each row of ``Y`` (k, m) to its nearest data point."""
        d, i = self._nn.kneighbors(np.asarray(Y, dtype=np.float64), n_neighbors=1)
        return d[:, 0], i[:, 0]


def uniform_ks(angles: np.ndarray, cdf: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> float:
    """Kolmogorov-Smirnov statistic of angles (k,) in [0, 2π) against their target law.

    The target is uniform unless ``cdf`` (the law's CDF on [0, 2π)) is given.
    """
    a = np.mod(angles, 2 * np.pi)
    if cdf is None:
        return float(stats.kstest(a / (2 * np.pi), "uniform").statistic)
    return float(stats.kstest(a, cdf).statistic)


def walk_report(ds: Dataset, walk: np.ndarray, start_label: Optional[int] = None,
                lookup: Optional[NearestLookup] = None) -> List[Dict[str, float]]:
    """Per-step diagnostics of a walk ``walk`` (T + 1, n, m) on dataset ``ds``.

    Returns one dict per step with: ``step``; ``median_dist`` (walker to nearest data point) and
    ``spacing`` (data's median nearest-neighbour distance); ``ks_<param>`` for each periodic parameter
    (against the dataset's sampling law of that parameter: uniform, or ``ds.param_laws[name]``);
    ``stay`` (fraction of walkers whose nearest data point has ``start_label``) when labels exist;
    ``median_manifold_dist`` (walker to the true manifold) when ``ds.manifold`` is known in closed form.
    """
    if walk.ndim != 3 or walk.shape[2] != ds.ambient_dim:
        raise UserInputError(f"walk must have shape (steps+1, n, {ds.ambient_dim}), got {walk.shape}")
    lookup = lookup or NearestLookup(ds.X)
    out = []
    for t in range(walk.shape[0]):
        d, idx = lookup.query(walk[t])
        row = {"step": t, "median_dist": float(np.median(d)), "spacing": lookup.spacing}
        if ds.manifold is not None:
            row["median_manifold_dist"] = float(np.median(ds.manifold.distance(walk[t])))
        for j, (name, per) in enumerate(zip(ds.param_names, ds.periodic)):
            if per:
                row[f"ks_{name}"] = uniform_ks(ds.params[idx, j], law.cdf if (law := ds.param_laws.get(name)) else None)
        if ds.labels is not None and start_label is not None:
            row["stay"] = float(np.mean(ds.labels[idx] == start_label))
        out.append(row)
    return out

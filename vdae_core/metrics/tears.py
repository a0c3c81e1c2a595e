"""Tears and folds of an encoder, read off two k-nearest-neighbour graphs (issue 14, part 3).

* A **tear**: an edge of the *data's* kNN graph whose two codes lie far apart — the map cut the data between
  two neighbours (a β-VAE that lays a circle on a line cuts it once).
* A **fold**: an edge of the *latent's* kNN graph whose two data points lie far apart — the map glued two
  distant parts of the data together (a circle projected onto a diameter folds at both ends).

"Far" is relative to the typical edge, so that a map that shrinks or stretches everything evenly shows
neither: a data edge (i, j) is torn when its code length |z_i − z_j| exceeds ``factor`` (default
:data:`FACTOR`) times the median code length over all data edges; a latent edge is folded when its data length
|x_i − x_j| exceeds ``factor`` times the median data length over all latent edges. A cut sends a pair of
neighbours to opposite ends of the latent cloud, orders of magnitude beyond the typical edge; a continuous map
with a continuous inverse only varies edge lengths within its bi-Lipschitz range. (Edge lengths, not per-edge
ratios: a ratio over a very short data edge — two near-duplicate points — is dominated by the encoder's
small-scale jitter and flagged an under-trained encoder's smooth stretches as tears.)
"""
from __future__ import annotations

import dataclasses
from typing import Dict

import numpy as np
from sklearn.neighbors import NearestNeighbors

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS

#: An edge counts as torn (folded) when its code (data) length is this many typical edges.
FACTOR = 10.0


@dataclasses.dataclass
class TearsFolds:
    """Torn and folded edges of one map X → Z.

    Attributes
    ----------
    idx : ndarray (n,)
        Rows of the given points that were used (all, or a seeded random subset).
    data_edges, latent_edges : ndarray (e, 2)
        Edges (positions into ``idx``) of the data's and of the latent's kNN graph, each once.
    stretch : ndarray (e_data,)
        Code length of each data edge over the median code length of data edges; torn where > ``factor``.
    shrink : ndarray (e_latent,)
        Data length of each latent edge over the median data length of latent edges; folded where > ``factor``.
    """

    idx: np.ndarray
    data_edges: np.ndarray
    latent_edges: np.ndarray
    stretch: np.ndarray
    shrink: np.ndarray
    factor: float
    k: int

    @property
    def torn(self) -> np.ndarray:
        return self.data_edges[self.stretch > self.factor]

    @property
    def folded(self) -> np.ndarray:
        return self.latent_edges[self.shrink > self.factor]

    def per_point(self) -> Dict[str, np.ndarray]:
        """Torn and folded edges at each used point, (n,) int each."""
        n = len(self.idx)
        return {"tears": np.bincount(self.torn.ravel(), minlength=n),
                "folds": np.bincount(self.folded.ravel(), minlength=n)}

    def summary(self) -> Dict[str, object]:
        pp = self.per_point()
        return {"n_points": int(len(self.idx)), "k": self.k, "factor": self.factor,
                "torn_edges": int(len(self.torn)), "data_edges": int(len(self.data_edges)),
                "folded_edges": int(len(self.folded)), "latent_edges": int(len(self.latent_edges)),
                "points_at_a_tear": int((pp["tears"] > 0).sum()), "points_at_a_fold": int((pp["folds"] > 0).sum()),
                "max_stretch": float(self.stretch.max()), "max_shrink": float(self.shrink.max())}


def knn_edges(P: np.ndarray, k: int) -> np.ndarray:
    """Undirected edges (e, 2), i < j, of the k-nearest-neighbour graph of ``P`` (n, m), each once."""
    ind = NearestNeighbors(n_neighbors=k + 1).fit(P).kneighbors(P, return_distance=False)
    rows = np.repeat(np.arange(len(P)), k)
    cols = ind[:, 1:].ravel()
    e = np.sort(np.stack([rows, cols], 1), axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0)


def _relative(edges: np.ndarray, B: np.ndarray) -> np.ndarray:
    """|B_i − B_j| over the edges, divided by its median (the typical edge)."""
    lb = np.linalg.norm(B[edges[:, 0]] - B[edges[:, 1]], axis=1)
    med = float(np.median(lb))
    if med <= 0:
        raise UserInputError("most neighbouring points share one code (or one position): no typical edge to compare with")
    return lb / med


@METRICS.register("tears_folds", help="Data neighbours cut apart by the encoder (tears) and latent neighbours from "
                                      "far apart in the data (folds), relative to the typical edge.")
def tears_and_folds(X: np.ndarray, Z: np.ndarray, k: int = 10, factor: float = FACTOR, max_points: int = 2000,
                    seed: int = 0) -> TearsFolds:
    """Tears and folds of the map sending the rows of ``X`` (n, m) to the rows of ``Z`` (n, d).

    Parameters
    ----------
    k : int
        Neighbours in both kNN graphs.
    factor : float
        Length, in typical edges, above which an edge is torn (folded).
    max_points : int
        Above this many points a seeded random subset of this size is used.
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    if len(X) != len(Z):
        raise UserInputError(f"{len(X)} points for {len(Z)} codes")
    if len(X) <= k + 1:
        raise UserInputError(f"tears and folds need more than k + 1 = {k + 1} points, got {len(X)}")
    if not (np.isfinite(X).all() and np.isfinite(Z).all()):
        raise UserInputError("the points or codes hold NaN or inf values")
    idx = np.arange(len(X))
    if len(X) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(len(X), max_points, replace=False))
    Xs, Zs = X[idx], Z[idx]
    de, le = knn_edges(Xs, k), knn_edges(Zs, k)
    return TearsFolds(idx, de, le, _relative(de, Zs), _relative(le, Xs), float(factor), int(k))

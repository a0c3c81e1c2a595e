"""Persistent homology of a point cloud (ripser), Betti numbers at a stated threshold, diagram distances (persim).

A Vietoris–Rips filtration of ``max_points`` or fewer points: a cloud is replaced by a farthest-point
subsample (seeded) that stops at ``max_points`` points, or sooner, once every point lies within
:data:`COVER_FRACTION` of the cloud's median pairwise distance of a kept one. Its covering radius r (every
dropped point lies within r of a kept one) is reported — by the stability theorem the subsample's diagram is
within bottleneck distance 2r of the whole cloud's (Chazal et al. 2009, with the filtration indexed by edge
length as ripser does). The early stop matters for curves: 1,000 points of a unit circle are covered to
r = 0.014 by ~220 points, whose H0 + H1 take 0.26 s against 1.7 s for 400 (ripser's cost grows about as the
cube of the points), and the bound 2r stays under 2% of the median distance.

**Which bars count.** A bar [b, d) of dimension k counts as a feature when its persistence d − b exceeds

    τ_k = κ_k · δ,   δ = the 90th percentile of the finite H0 death times of the (sub)sampled cloud,

with κ = :data:`KAPPA` = (4, 2, 2) for k = 0, 1, 2. The finite H0 deaths are the edge lengths of the cloud's
minimum spanning tree, so δ is the scale of the gaps between neighbouring points: bars that live only a
few such gaps are sampling noise, a loop or a void of the shape lives much longer. An H0 bar *is* one such
gap, and the largest of n random gaps is about ln n times the typical one (on 1,000 uniform points of a
curve, 2.4 δ was seen), hence the larger κ_0; loops and voids of noise lived at most 1.1 δ in the
closed-answer tests (circle, sphere, torus, nine blobs, figure eight, with stated noise), where the shapes'
features lived at least 2.3 δ. The rule is scale-free (data, latent codes and samples each get their own
τ). The one H0 bar that never dies counts as one component.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.farthest_points import farthest_point_indices
from vdae_core.foundation.registry import METRICS

#: Bars of dimension k count when they live more than KAPPA[k] gaps between neighbouring points (module docstring).
KAPPA = (4.0, 2.0, 2.0)
#: Points kept for the Rips filtration (ripser's cost grows about as the cube of the points).
MAX_POINTS = 400
#: The subsample stops once its covering radius is this fraction of the cloud's median pairwise distance.
COVER_FRACTION = 0.01
#: Names of the homology dimensions for people.
FEATURE_NAMES = {0: ("component", "components"), 1: ("loop", "loops"), 2: ("void", "voids")}


@dataclasses.dataclass
class Persistence:
    """Persistence diagrams of one cloud and what they say.

    Attributes
    ----------
    diagrams : list of ndarray (m_k, 2)
        Birth and death of each bar of dimension k = 0 .. maxdim (death ``inf`` for the bar that never dies).
    tau : list of float
        Per dimension, the persistence above which a bar counts as a feature.
    delta : float
        The gap scale δ (90th percentile of the finite H0 deaths).
    betti : list of int
        Bars of each dimension longer than ``tau`` (H0 counts its infinite bar).
    n_points, n_used : int
        Points given, and points in the filtration (fewer when subsampled).
    cover_radius : float
        Largest distance from a given point to the nearest used one (0 when nothing was dropped).
    """

    diagrams: List[np.ndarray]
    tau: List[float]
    delta: float
    betti: List[int]
    n_points: int
    n_used: int
    cover_radius: float

    @property
    def subsampled(self) -> bool:
        return self.n_used < self.n_points

    def long_bars(self, dim: int) -> np.ndarray:
        """The bars (j, 2) of dimension ``dim`` that count, longest first (infinite first of all)."""
        d = self.diagrams[dim]
        life = d[:, 1] - d[:, 0]
        keep = life > self.tau[dim]
        return d[keep][np.argsort(-life[keep], kind="stable")]

    def describe(self) -> str:
        """'1 component, 1 loop' — the Betti numbers in words."""
        return ", ".join(f"{b} {FEATURE_NAMES[k][b != 1]}" for k, b in enumerate(self.betti))

    def to_dict(self) -> Dict[str, object]:
        return {"betti": list(self.betti), "tau": self.tau, "delta": self.delta, "kappa": list(KAPPA[:len(self.diagrams)]),
                "n_points": self.n_points, "n_used": self.n_used, "cover_radius": self.cover_radius,
                "diagrams": [[[float(b), None if not np.isfinite(d) else float(d)] for b, d in dg]
                             for dg in self.diagrams]}


def _checked(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        X = X.reshape(len(X), -1)
    if len(X) < 3:
        raise UserInputError(f"persistent homology needs at least 3 points, got {len(X)}")
    if not np.isfinite(X).all():
        raise UserInputError("the points hold NaN or inf values")
    return X


@METRICS.register("persistence", help="Persistence diagrams (ripser) and Betti numbers: bars longer than 4 (H0) "
                                      "or 2 (H1, H2) neighbour gaps.")
def persistence(X: np.ndarray, maxdim: int = 1, max_points: int = MAX_POINTS, seed: int = 0,
                kappa=KAPPA, cover_fraction: float = COVER_FRACTION) -> Persistence:
    """Persistence diagrams H0..H``maxdim`` of the cloud ``X`` (n, m) and its Betti numbers.

    Parameters
    ----------
    X : ndarray (n, m) (or (n, ...), flattened)
    maxdim : int
        Highest homology dimension (1: components and loops; 2 adds voids, slower).
    max_points : int
        Above this many points a farthest-point subsample of this size (first point drawn with ``seed``) is used.
    kappa : sequence of float
        τ_k = kappa[k] · δ (module docstring).
    cover_fraction : float
        The subsample stops sooner once covered to this fraction of the median pairwise distance (0: never;
        with ``max_points`` ≥ n, every point is used).

    Returns
    -------
    Persistence
    """
    from ripser import ripser

    X = _checked(X)
    if maxdim not in (0, 1, 2):
        raise UserInputError(f"maxdim={maxdim}: choose 0, 1 or 2")
    n = len(X)
    cover = 0.0
    stop = cover_fraction * _median_distance(X, seed) if cover_fraction > 0 else 0.0
    idx = farthest_point_indices(X, max_points, seed, stop_radius=stop)
    if len(idx) < n:
        P = X[idx]
        cover = float(_cover_radius(X, P))
    else:
        P = X
    dgms = [np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in ripser(P, maxdim=maxdim)["dgms"]]
    finite0 = dgms[0][np.isfinite(dgms[0][:, 1]), 1]
    delta = float(np.quantile(finite0, 0.9)) if len(finite0) else 0.0
    if delta <= 0:
        raise UserInputError("all points coincide: no scale to read persistence on")
    tau = [float(kappa[k] * delta) for k in range(len(dgms))]
    betti = [int(((d[:, 1] - d[:, 0]) > t).sum()) for d, t in zip(dgms, tau)]
    return Persistence(dgms, tau, delta, betti, n, len(P), cover)


def _median_distance(X: np.ndarray, seed: int, n: int = 1000) -> float:
    """Median distance between the points of ``X`` (n, m) (of a seeded random 1,000 when there are more)."""
    from scipy.spatial.distance import pdist

    idx = np.random.default_rng([seed, 3]).choice(len(X), min(n, len(X)), replace=False)
    return float(np.median(pdist(X[idx]))) if len(idx) > 1 else 0.0


def _cover_radius(X: np.ndarray, P: np.ndarray) -> float:
    from sklearn.neighbors import NearestNeighbors

    return float(NearestNeighbors(n_neighbors=1).fit(P).kneighbors(X)[0].max())


def diagram_distances(a: Persistence, b: Persistence, kinds=("bottleneck", "wasserstein")
                      ) -> Dict[str, List[Optional[float]]]:
    """Bottleneck and 1-Wasserstein distances (persim) between the diagrams of two clouds in the same space,
    per dimension; the never-dying H0 bar is left out of both (each cloud has exactly one). ``kinds``: which."""
    import persim

    out: Dict[str, List[Optional[float]]] = {k: [] for k in kinds}
    for da, db in zip(a.diagrams, b.diagrams):
        da, db = da[np.isfinite(da[:, 1])], db[np.isfinite(db[:, 1])]
        for k in kinds:
            if k == "bottleneck" and not (da[:, 0].any() or db[:, 0].any()):
                out[k].append(bottleneck_born_at_zero(da[:, 1], db[:, 1]))  # H0 of a Rips filtration
            else:
                out[k].append(float(getattr(persim, k)(da, db)))
    return out


def bottleneck_born_at_zero(a: np.ndarray, b: np.ndarray) -> float:
    """The bottleneck distance between two diagrams whose points are all born at 0 (H0 of a Rips filtration),
    given their deaths ``a`` (p,) and ``b`` (q,); equal to persim's, in O(n log n) instead of persim's general
    matching (0.23 s per pair of 400-point H0 diagrams, a third of a first audit's distance time).

    With the L∞ ground metric, matching deaths a and b costs |a − b| and leaving one unmatched costs half of
    it. Some optimal matching pairs the m largest deaths of each side in sorted order and leaves the rest
    unmatched (exchange: an unmatched death above a matched one can take its place, or both partners can go
    unmatched, at no higher cost; sorted pairs minimise the largest gap), so the distance is
    min over m of max(max_{i<m} |a_(i) − b_(i)|, a_(m)/2, b_(m)/2), deaths sorted in decreasing order and
    a_(m) = 0 past the end.
    """
    a = np.sort(np.asarray(a, dtype=np.float64))[::-1]
    b = np.sort(np.asarray(b, dtype=np.float64))[::-1]
    n = min(len(a), len(b))
    gap = np.concatenate([[0.0], np.maximum.accumulate(np.abs(a[:n] - b[:n]))])  # gap[m]: largest of the first m
    rest_a = np.concatenate([a[:n + 1], np.zeros(max(0, n + 1 - len(a)))])[:n + 1] / 2
    rest_b = np.concatenate([b[:n + 1], np.zeros(max(0, n + 1 - len(b)))])[:n + 1] / 2
    return float(np.min(np.maximum(gap, np.maximum(rest_a, rest_b))))


def point_persistence(n_points: int, maxdim: int = 1) -> Persistence:
    """The diagrams of a cloud whose points all coincide (a collapsed generator): one component, nothing else."""
    dgms = [np.array([[0.0, np.inf]])] + [np.zeros((0, 2)) for _ in range(maxdim)]
    return Persistence(dgms, [0.0] * (maxdim + 1), 0.0, [1] + [0] * maxdim, int(n_points), 1, 0.0)


_CACHE: "OrderedDict[tuple, Persistence]" = OrderedDict()


def persistence_cached(X: np.ndarray, maxdim: int = 1, max_points: int = MAX_POINTS, seed: int = 0) -> Persistence:
    """:func:`persistence`, kept for the last 16 clouds by content (a reference shared by many models' samples and
    their floor samples is computed once)."""
    X = _checked(X)
    key = (hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest(), X.shape, int(maxdim), int(max_points),
           int(seed))
    if key not in _CACHE:
        _CACHE[key] = persistence(X, maxdim, max_points, seed)
        while len(_CACHE) > 16:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return _CACHE[key]


def sample_topology(G: np.ndarray, R: np.ndarray, seed: int) -> Dict[str, float]:
    """Betti numbers (H0, H1) of the sample ``G`` (M, m) and the bottleneck distances of its diagrams to those of
    the reference ``R`` (n, m), on farthest-point subsamples of :data:`MAX_POINTS` points (the reference's
    diagrams are computed once, :func:`persistence_cached`)."""
    try:
        pg = persistence(G, 1, seed=seed)
    except UserInputError:  # every sample the same point: one component, no loop
        pg = point_persistence(len(G))
    d = diagram_distances(persistence_cached(R, 1, seed=seed), pg, kinds=("bottleneck",))["bottleneck"]
    return {"betti0": float(pg.betti[0]), "betti1": float(pg.betti[1]), "bottleneck_h0": d[0], "bottleneck_h1": d[1]}

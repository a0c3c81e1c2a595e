"""Walk diagnostics: is a sampler on the manifold, uniform, and does it stay in its cluster?

Generated points get the ground-truth coordinates of their nearest data point, which makes every
dataset with ``params`` checkable (angles of the circle and torus, blob labels, mesh heights).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from vdae_core.data.base import Dataset
from vdae_core.foundation.errors import UserInputError


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


# -- walks on meshes and point clouds: learned against the truth -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class WalkComparison:
    """A learned walk and the ground-truth mesh walk from the same vertex.

    Attributes
    ----------
    start_vertex : int
    start : ndarray (3,) position of the start vertex
    learned : ndarray (T+1, n, m) the model's walk (data space)
    truth : ndarray (T+1, n, 3) the mesh walk (vertex positions)
    substeps : int  graph steps per displayed step of the true walk
    tv : dict name -> (T+1,) total variation to π (coarse-grained to regions)
    floor : float  TV of n i.i.d. samples of π (sampling noise)
    off_surface : ndarray (T+1,) mean distance of learned walkers to the nearest vertex, in edge lengths
    n_regions : int
    """

    start_vertex: int
    start: np.ndarray
    learned: np.ndarray
    truth: np.ndarray
    substeps: int
    tv: Dict[str, np.ndarray]
    floor: float
    off_surface: np.ndarray
    n_regions: int

    def reach(self, axis: int) -> Tuple[float, float]:
        """How far up the learned and the true walkers get: the largest coordinate ``axis`` (the mesh's up axis)
        any walker reaches over all steps, above the start's, (learned, true); NaN codes are left out."""
        learned = np.nanmax(self.learned[..., axis]) if np.isfinite(self.learned[..., axis]).any() else np.nan
        return float(learned - self.start[axis]), float(self.truth[..., axis].max() - self.start[axis])


def compare_walks(model, vertices: np.ndarray, faces: np.ndarray, start_vertex: int, n_walkers: int, steps: int,
                  seed: int = 0, substeps: Optional[int] = None, n_regions: int = 64) -> WalkComparison:
    """Walk ``n_walkers`` with the model (its ``random_walk``) and on the mesh graph from one vertex.

    ``substeps=None`` matches the true walk's step length to the learned one (RMS of the first step).
    """
    from vdae_core.geometry import mesh_walk as mw

    graph = mw.mesh_graph(vertices, faces)
    start_vertex = mw.check_start(graph, start_vertex)  # before the model walks
    if n_walkers < 1 or steps < 1:
        raise UserInputError("need at least one walker and one step")
    x0 = graph.vertices[start_vertex]
    if model.data_dim != 3:
        raise UserInputError(f"the mesh walk needs 3-D data (the model's data has {model.data_dim} dimensions)")
    from vdae_core.pipeline.sampling import random_walk

    learned = random_walk(model, graph.vertices, int(n_walkers), int(steps), start=start_vertex, seed=int(seed))
    if substeps is None:
        substeps = mw.match_substeps(graph, start_vertex, mw.rms_step(learned), seed=seed)
    gt_idx = mw.simulate_walk(graph, start_vertex, int(n_walkers), int(steps), int(substeps), seed=seed)
    labels = mw.region_partition(graph.vertices, n_regions, seed=0)
    finite = np.isfinite(learned).all(axis=(0, 2))
    lv = mw.nearest_vertices(graph.vertices, np.nan_to_num(learned[..., :3]))
    exact = mw.propagate(graph, start_vertex, int(steps), int(substeps))
    tv = {"true walk (exact)": mw.exact_tv_curve(exact, graph.pi, labels),
          f"true walk ({n_walkers} walkers)": mw.tv_curve(gt_idx, graph.pi, labels),
          f"learned walk ({n_walkers} walkers)": mw.tv_curve(lv[:, finite] if finite.any() else lv, graph.pi, labels)}
    dist = np.linalg.norm(learned[..., :3] - graph.vertices[lv], axis=-1)
    return WalkComparison(start_vertex, x0, learned, graph.vertices[gt_idx], int(substeps), tv,
                          mw.iid_tv_floor(graph.pi, int(n_walkers), labels, seed=seed),
                          np.nanmean(dist, axis=1) / graph.edge_length, int(labels.max() + 1))


def point_cloud_walk(model, X: np.ndarray, start_index: int, n_walkers: int, steps: int, seed: int = 0,
                     n_regions: int = 32) -> Tuple[np.ndarray, Dict[str, np.ndarray], float]:
    """A learned walk on data without a mesh, and its TV distance to the data distribution
    (uniform over the training points, coarse-grained into regions of nearby points).

    Returns
    -------
    walk : ndarray (T+1, n, m)
    tv : {"learned walk": (T+1,)}
    floor : float
    """
    from vdae_core.geometry import mesh_walk as mw
    from vdae_core.pipeline.sampling import random_walk

    walk = random_walk(model, X, int(n_walkers), int(steps), start=int(start_index), seed=int(seed))
    Xd = np.asarray(X, dtype=np.float64)
    labels = mw.region_partition(Xd, n_regions, seed=0)
    pi = np.full(len(Xd), 1.0 / len(Xd))
    idx = mw.nearest_vertices(Xd, np.nan_to_num(walk.astype(np.float64)))
    tv = {f"learned walk ({n_walkers} walkers)": mw.tv_curve(idx, pi, labels)}
    return walk, tv, mw.iid_tv_floor(pi, int(n_walkers), labels, seed=seed)


def burst_comparison(model, vertices: np.ndarray, faces: np.ndarray, start_vertex: int, n: int, seed: int = 0,
                     substeps: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """``n`` one-step samples of the model from a vertex, and the true walk's distribution after one
    displayed step (``substeps`` graph steps) from it.

    Returns
    -------
    burst : ndarray (n, m)
    probability : ndarray (V,)
    """
    from vdae_core.geometry import mesh_walk as mw
    from vdae_core.pipeline.sampling import burst

    graph = mw.mesh_graph(vertices, faces)
    x0 = graph.vertices[int(start_vertex)].astype(np.float32)
    b = burst(model, x0, int(n), seed=int(seed))
    p = mw.propagate(graph, int(start_vertex), 1, int(substeps))[1]
    return b, p


def nearest_vertex(vertices: np.ndarray, point: np.ndarray) -> int:
    """Index of the vertex nearest ``point`` (m,) (first 3 coordinates)."""
    from vdae_core.geometry.mesh_walk import nearest_vertices

    return int(nearest_vertices(vertices, np.asarray(point, dtype=np.float64)[None, :3])[0])

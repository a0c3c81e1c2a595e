"""The computations behind the app's views, as plain functions (arrays and models in, arrays out).

The pages call these (through caching wrappers in :mod:`vdae_core.ui.cache`) so that no maths lives in
a page, and scripts/tests can call them directly.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import UserInputError

#: Largest n for which the Data page computes the exact diffusion map interactively.
EXACT_DM_MAX_POINTS = 5000
UI_METRICS_FILE = "ui_metrics.json"


# -- display coordinates --------------------------------------------------------------------------
def display_coords(X: np.ndarray, max_dim: int = 3, seed: int = 0) -> Tuple[np.ndarray, List[str]]:
    """Coordinates to draw ``X`` (n, m): itself when m <= 3, else its first three principal components.

    Returns
    -------
    P : ndarray (n, min(m, 3))
    axis_names : list of str
    """
    proj = DisplayProjection(X, max_dim, seed)
    return proj(X), proj.axis_names


class DisplayProjection:
    """The map from data space to drawing coordinates: identity for m <= 3, else the top three principal
    components of the data it was fitted on (apply it to walks and samples to draw them with the data)."""

    def __init__(self, X: np.ndarray, max_dim: int = 3, seed: int = 0):
        X = np.asarray(X, dtype=np.float64)
        self.m = X.shape[1]
        self.max_dim = max_dim
        if self.m <= max_dim:
            self.mean, self.components = None, None
            self.axis_names = ["x", "y", "z"][:self.m]
            return
        self.mean = X.mean(0)
        Xc = X - self.mean
        sub = Xc if len(Xc) <= 5000 else Xc[np.random.default_rng(seed).choice(len(Xc), 5000, replace=False)]
        _, s, Vt = np.linalg.svd(sub, full_matrices=False)
        var = s ** 2 / max((s ** 2).sum(), 1e-300)
        self.components = Vt[:max_dim]
        self.axis_names = [f"PC{j + 1} ({100 * var[j]:.0f}%)" for j in range(max_dim)]

    def __call__(self, Y: np.ndarray, pad3: bool = False) -> np.ndarray:
        """Drawing coordinates of points ``Y`` (..., m) -> (..., min(m, 3)); ``pad3`` appends zero columns
        up to 3 (to draw 1-D/2-D data in a 3-D scene)."""
        Y = np.asarray(Y, dtype=np.float64)
        P = Y if self.components is None else (Y - self.mean) @ self.components.T
        if pad3 and P.shape[-1] < 3:
            P = np.concatenate([P, np.zeros(P.shape[:-1] + (3 - P.shape[-1],))], axis=-1)
        return P


def colour_options(params: np.ndarray, param_names: Sequence[str],
                   periodic: Sequence[bool]) -> Dict[str, Tuple[np.ndarray, bool]]:
    """Ground-truth colourings by name: ``{name: (values (n,), periodic)}``."""
    return {str(n): (np.asarray(params)[:, j], bool(periodic[j])) for j, n in enumerate(param_names)}


def exact_diffusion(X: np.ndarray, n_components: int = 3, k: int = 10, max_points: int = EXACT_DM_MAX_POINTS):
    """The exact diffusion map for the Data page's teaching view (limited to ``max_points`` points).

    Raises
    ------
    UserInputError
        Too many points (with what to do), or a degenerate point set.
    """
    from .geometry.diffusion_maps import diffusion_map

    n = len(X)
    if n > max_points:
        raise UserInputError(f"the exact diffusion map is shown for up to {max_points:,} points and this data has "
                             f"{n:,}: lower the number of points to see it (SpectralNet, which the models use, "
                             "has no such limit)")
    if n < 10:
        raise UserInputError("the exact diffusion map needs at least 10 points")
    return diffusion_map(np.asarray(X, dtype=np.float64), n_components=min(n_components, n - 2), k=min(k, n - 1))


# -- latent views ----------------------------------------------------------------------------------
def latent_plane(model, Z: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """Two display coordinates of codes ``Z`` (n, *latent_space.shape) for 2-D latent views.

    R^D: its first two coordinates; a latent whose points live in the plane (S¹): the points themselves;
    other manifolds: their first two intrinsic coordinates (angles, axis-angle...).

    Returns
    -------
    P : ndarray (n, 2), names : list of 2 str
    """
    space = model.latent_space
    Z = np.asarray(Z, dtype=np.float64)
    if space.shape == (2,) or not space.is_compact:
        P = Z.reshape(len(Z), -1)
        names = [f"z{j + 1}" for j in range(min(2, P.shape[1]))]
    else:
        P = model.latent_coords(Z)
        names = list(space.coord_names[:2])
    if P.shape[1] == 1:
        return np.column_stack([P[:, 0], np.zeros(len(P))]), names + ["0"]
    return P[:, :2], names[:2]


def decoded_grid(model, Z: np.ndarray, g: int = 15, margin: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
    """Decode a g x g grid spanning the 2-D latent codes ``Z`` (n, 2).

    Returns
    -------
    grid_z : ndarray (g*g, 2), row-major (z2 slow, z1 fast)
    decoded : ndarray (g*g, m)
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape[1] != 2:
        raise UserInputError(f"a decoded grid needs a 2-D latent (this one is {Z.shape[1]}-D)")
    lo, hi = Z.min(0), Z.max(0)
    pad = margin * (hi - lo)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], g)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], g)
    A, B = np.meshgrid(a, b)
    grid = np.column_stack([A.ravel(), B.ravel()]).astype(np.float32)
    return grid, model.decode(grid)


def joint_embedding_for_model(model, X: np.ndarray, method: str, n: int = 500, seed: int = 0):
    """One t-SNE/UMAP embedding of ``n`` real points and ``n`` points generated by ``model``.

    Returns
    -------
    emb_real, emb_gen : ndarray (n', 2)
    idx_real : ndarray of int (rows of X embedded)
    """
    import torch

    from .embeddings import joint_embedding

    gen = model.sample(int(n), torch.Generator().manual_seed(int(seed)))
    er, eg, ir, _ = joint_embedding(X, gen, method=method, seed=int(seed), max_points=int(n), return_indices=True)
    return er, eg, ir


# -- bi-Lipschitz ------------------------------------------------------------------------------------
@dataclasses.dataclass
class BilipResult:
    """Per-point bi-Lipschitz constants of the decoder on a subset of the data.

    ``idx`` rows of X evaluated; ``z`` their codes; ``raw``/``scale_free`` the constants (n,).
    """

    idx: np.ndarray
    z: np.ndarray
    raw: np.ndarray
    scale_free: np.ndarray
    k: int

    def summary(self, which: str = "raw") -> Dict[str, float]:
        v = self.raw if which == "raw" else self.scale_free
        fin = v[np.isfinite(v)]
        return {"median": float(np.median(v)), "mean": float(fin.mean()) if fin.size else math.inf,
                "max": float(v.max()), "n_inf": int((~np.isfinite(v)).sum()), "n": int(v.size)}


def per_point_bilipschitz(model, X: np.ndarray, k: int = 10, n_points: int = 1500, seed: int = 0) -> BilipResult:
    """Encode a seeded subset of ``X``, decode the codes, and compute bi-Lipschitz constants of the decoder
    over the k latent neighbours (raw and scale-free, as in ``evaluate_model``); on a manifold latent the
    latent distances are geodesic."""
    from .metrics import subsample_indices
    from .metrics.bilipschitz import bilipschitz_both

    idx = subsample_indices(len(X), int(n_points), int(seed))
    z = model.encode(np.asarray(X)[idx])
    x_dec = model.decode(z)
    space = model.latent_space
    raw, sf = bilipschitz_both(z, x_dec, k=int(k), latent_space=space if space.is_compact else None)
    return BilipResult(idx, z, raw, sf, int(k))


def worst_points(values: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` largest values (infinite first), largest first."""
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(-np.where(np.isfinite(v), v, np.inf), kind="stable")
    return order[:k]


# -- walks -------------------------------------------------------------------------------------------
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


def compare_walks(model, vertices: np.ndarray, faces: np.ndarray, start_vertex: int, n_walkers: int, steps: int,
                  seed: int = 0, substeps: Optional[int] = None, n_regions: int = 64) -> WalkComparison:
    """Walk ``n_walkers`` with the model (its ``random_walk``) and on the mesh graph from one vertex.

    ``substeps=None`` matches the true walk's step length to the learned one (RMS of the first step).
    """
    from .geometry import mesh_walk as mw

    graph = mw.mesh_graph(vertices, faces)
    start_vertex = mw.check_start(graph, start_vertex)  # before the model walks
    if n_walkers < 1 or steps < 1:
        raise UserInputError("need at least one walker and one step")
    x0 = graph.vertices[start_vertex]
    if model.data_dim != 3:
        raise UserInputError(f"the mesh walk needs 3-D data (the model's data has {model.data_dim} dimensions)")
    from .sampling import random_walk

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
    from .geometry import mesh_walk as mw
    from .sampling import random_walk

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
    from .geometry import mesh_walk as mw
    from .sampling import burst

    graph = mw.mesh_graph(vertices, faces)
    x0 = graph.vertices[int(start_vertex)].astype(np.float32)
    b = burst(model, x0, int(n), seed=int(seed))
    p = mw.propagate(graph, int(start_vertex), 1, int(substeps))[1]
    return b, p


def nearest_vertex(vertices: np.ndarray, point: np.ndarray) -> int:
    """Index of the vertex nearest ``point`` (m,) (first 3 coordinates)."""
    from .geometry.mesh_walk import nearest_vertices

    return int(nearest_vertices(vertices, np.asarray(point, dtype=np.float64)[None, :3])[0])


# -- metrics across runs -------------------------------------------------------------------------------
METRIC_COLUMNS = ("gw", "mmd2", "bilip_median", "bilip_mean", "bilip_scale_free_median", "bilip_scale_free_mean",
                  "trustworthiness", "continuity")


def _metrics_key(n_samples: int, k: int, seed: int) -> str:
    return f"n{int(n_samples)}_k{int(k)}_s{int(seed)}"


def _read_ui_metrics(run_path: str) -> Dict:
    """The run's ``ui_metrics.json`` (summaries keyed by :func:`_metrics_key`), or {} if absent or unreadable."""
    try:
        with open(os.path.join(run_path, UI_METRICS_FILE)) as fh:
            cache = json.load(fh)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def read_cached_evaluation(run_path: str, n_samples: int = 1000, k: int = 10, seed: int = 0) -> Optional[Dict]:
    """The summary :func:`evaluate_run_cached` stored for these parameters, or None."""
    return _read_ui_metrics(run_path).get(_metrics_key(n_samples, k, seed))


def evaluate_run_cached(run_path: str, model, X: np.ndarray, n_samples: int = 1000, k: int = 10,
                        seed: int = 0) -> Dict:
    """``evaluate_model`` summary of a saved run, cached in ``<run>/ui_metrics.json`` by its parameters."""
    from .metrics.evaluate import evaluate_model

    key = _metrics_key(n_samples, k, seed)
    path = os.path.join(run_path, UI_METRICS_FILE)
    cache = _read_ui_metrics(run_path)
    if key in cache:
        return cache[key]
    summary, _ = evaluate_model(model, X, seed=int(seed), n_samples=int(n_samples), k=int(k))
    cache[key] = summary
    tmp = path + f".tmp{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            json.dump(cache, fh, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only run folder still gets its numbers, just not cached on disk
    return summary


def aggregate_metrics(rows: List[Dict], group: Sequence[str] = ("dataset", "model"),
                      metrics: Sequence[str] = METRIC_COLUMNS):
    """Mean ± std over seeds of each metric, per group.

    Parameters
    ----------
    rows : one dict per run with the ``group`` keys, ``seed`` and the metric values.

    Returns
    -------
    pandas.DataFrame with the group columns, ``runs``, ``seeds``, and ``<metric>`` (formatted
    "mean ± std"), ``<metric>_mean``, ``<metric>_std`` (std with ddof=1; 0 for one run).
    """
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=list(group) + ["runs", "seeds"])
    out = []
    for keys, g in df.groupby(list(group), sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        rec = dict(zip(group, keys))
        rec["runs"] = int(len(g))
        rec["seeds"] = ",".join(str(s) for s in sorted(g["seed"].unique()))
        for m in metrics:
            if m not in g:
                continue
            v = g[m].astype(float).to_numpy()
            mean = float(np.mean(v))
            std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
            rec[f"{m}_mean"], rec[f"{m}_std"] = mean, std
            rec[m] = f"{mean:.4g} ± {std:.2g}" if np.isfinite(mean) else "inf"
        out.append(rec)
    return pd.DataFrame(out)

"""The ground-truth diffusion random walk on a triangle mesh's vertex graph.

This is the reference a learned walk (VDAE's Algorithm 2) is compared with in the app:

* the graph is the mesh's edges, weighted by a Gaussian of the edge length,
  ``W_ij = exp(-|v_i - v_j|^2 / σ^2)`` with σ the median edge length;
* the walk's transition matrix is ``P = D^{-1} W`` (``D`` the degrees), so one step moves to a
  neighbouring vertex with probability proportional to the edge weight;
* its stationary distribution is ``π ∝ degree`` (for a connected mesh).

A displayed "step" may bundle several graph steps (``substeps``): one graph step only moves one edge,
while a learned walk usually moves further, and :func:`match_substeps` picks the number of graph steps
whose RMS displacement matches the learned walk's. The convergence of a walk is measured by the total
variation distance to π after coarse-graining the vertices into regions (:func:`region_partition`), so
that a few hundred walkers give a meaningful empirical distribution; :func:`iid_tv_floor` is the
distance that many independent exact samples from π would still show (the sampling-noise floor).

Everything is NumPy/SciPy, deterministic for a given seed.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.farthest_points import farthest_point_indices


@dataclasses.dataclass
class MeshGraph:
    """The weighted vertex graph of a mesh and its random walk.

    Attributes
    ----------
    vertices : ndarray (V, 3)
    W : scipy.sparse.csr_matrix (V, V)
        Symmetric Gaussian edge weights (no self loops, except for isolated vertices).
    P : scipy.sparse.csr_matrix (V, V)
        Row-stochastic transition matrix ``D^{-1} W``.
    degrees : ndarray (V,)
    pi : ndarray (V,)
        Stationary distribution ``degrees / degrees.sum()``.
    sigma : float
        Kernel scale (median edge length unless given).
    edge_length : float
        Median edge length.
    """

    vertices: np.ndarray
    W: sp.csr_matrix
    P: sp.csr_matrix
    degrees: np.ndarray
    pi: np.ndarray
    sigma: float
    edge_length: float

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2), ``i < j``, of a triangle list (F, 3)."""
    faces = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e.sort(axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0)


def mesh_graph(vertices: np.ndarray, faces: np.ndarray, scale: Optional[float] = None) -> MeshGraph:
    """Build the Gaussian-weighted vertex graph and its transition matrix.

    Parameters
    ----------
    vertices : ndarray (V, 3)
    faces : ndarray (F, 3) int
    scale : float, optional
        σ of the edge kernel; default the median edge length.

    Raises
    ------
    UserInputError
        No faces, face indices out of range, or non-finite vertices.
    """
    V = np.asarray(vertices, dtype=np.float64)
    F = np.asarray(faces, dtype=np.int64)
    if V.ndim != 2 or V.shape[0] < 3 or F.ndim != 2 or F.shape[0] == 0 or F.shape[1] != 3:
        raise UserInputError("the mesh walk needs a triangle mesh (vertices (V, 3) and at least one face)")
    if F.min() < 0 or F.max() >= len(V):
        raise UserInputError("mesh faces refer to vertices that do not exist")
    if not np.isfinite(V).all():
        raise UserInputError("mesh vertices contain NaN or inf")
    E = mesh_edges(F)
    length = np.linalg.norm(V[E[:, 0]] - V[E[:, 1]], axis=1)
    edge_length = float(np.median(length)) if len(length) else 1.0
    sigma = float(scale) if scale is not None else edge_length
    if not sigma > 0:
        raise UserInputError("the mesh's edges all have zero length")
    w = np.exp(-(length / sigma) ** 2)
    n = len(V)
    W = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([E[:, 0], E[:, 1]]),
                                                 np.concatenate([E[:, 1], E[:, 0]]))), shape=(n, n)).tocsr()
    deg = np.asarray(W.sum(1)).ravel()
    isolated = deg <= 0
    if isolated.any():  # an unreferenced or degenerate vertex stays where it is
        W = (W + sp.diags(isolated.astype(np.float64))).tocsr()
        deg = np.asarray(W.sum(1)).ravel()
    P = (sp.diags(1.0 / deg) @ W).tocsr()
    return MeshGraph(V, W, P, deg, deg / deg.sum(), sigma, edge_length)


def check_start(graph: MeshGraph, start: int) -> int:
    """``start`` as an int, or a :class:`UserInputError` naming the valid vertex range."""
    if not 0 <= int(start) < graph.n_vertices:
        raise UserInputError(f"start vertex {start} is out of range: the mesh has {graph.n_vertices} vertices "
                             f"(0..{graph.n_vertices - 1})")
    return int(start)


def simulate_walk(graph: MeshGraph, start: int, n_walkers: int, steps: int, substeps: int = 1,
                  seed: int = 0) -> np.ndarray:
    """Sample ``n_walkers`` independent walks of the chain ``P`` from vertex ``start``.

    Returns
    -------
    ndarray (steps + 1, n_walkers) int64
        Vertex index of every walker after each displayed step (each made of ``substeps`` graph steps).
    """
    start = check_start(graph, start)
    if n_walkers < 1 or steps < 0 or substeps < 1:
        raise UserInputError("need n_walkers >= 1, steps >= 0 and substeps >= 1")
    rng = np.random.default_rng(seed)
    P = graph.P
    indptr, indices = P.indptr, P.indices
    # Cumulative probabilities within each row, for inverse-CDF sampling of all walkers at once.
    cum = np.cumsum(P.data)
    row_start_cum = np.concatenate([[0.0], cum])[indptr[:-1]]  # mass of all earlier rows
    out = np.empty((steps + 1, n_walkers), dtype=np.int64)
    cur = np.full(n_walkers, start, dtype=np.int64)
    out[0] = cur
    for t in range(1, steps + 1):
        for _ in range(substeps):
            u = row_start_cum[cur] + rng.uniform(size=n_walkers) * (cum[indptr[cur + 1] - 1] - row_start_cum[cur])
            pos = np.searchsorted(cum, u, side="right")
            pos = np.clip(pos, indptr[cur], indptr[cur + 1] - 1)
            cur = indices[pos]
        out[t] = cur
    return out


def propagate(graph: MeshGraph, start: int, steps: int, substeps: int = 1) -> np.ndarray:
    """Exact distribution of the walk from ``start``: ``p_t = δ_start P^(t·substeps)``.

    Returns
    -------
    ndarray (steps + 1, V) float64, each row summing to 1.
    """
    start = check_start(graph, start)
    PT = graph.P.T.tocsr()
    p = np.zeros(graph.n_vertices)
    p[start] = 1.0
    out = np.empty((steps + 1, graph.n_vertices))
    out[0] = p
    for t in range(1, steps + 1):
        for _ in range(substeps):
            p = PT @ p
        out[t] = p
    return out


def nearest_vertices(vertices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the nearest vertex of every point; ``points`` (..., 3) -> (...) int64."""
    pts = np.asarray(points, dtype=np.float64)
    shape = pts.shape[:-1]
    _, idx = cKDTree(np.asarray(vertices, dtype=np.float64)).query(pts.reshape(-1, pts.shape[-1]))
    return idx.reshape(shape).astype(np.int64)


def region_partition(vertices: np.ndarray, n_regions: int = 64, seed: int = 0) -> np.ndarray:
    """Coarse-grain vertices into ``n_regions`` compact regions (farthest-point seeds, nearest seed).

    Returns
    -------
    ndarray (V,) int64 labels in ``0..n_regions-1`` (fewer if V < n_regions).
    """
    V = np.asarray(vertices, dtype=np.float64)
    seeds = farthest_point_indices(V, max(1, n_regions), seed)
    _, lab = cKDTree(V[seeds]).query(V)
    return lab.astype(np.int64)


def coarse(p: np.ndarray, labels: np.ndarray, n_regions: Optional[int] = None) -> np.ndarray:
    """Sum a distribution over vertices (..., V) into regions (..., R)."""
    R = int(n_regions if n_regions is not None else labels.max() + 1)
    p = np.asarray(p, dtype=np.float64)
    flat = p.reshape(-1, p.shape[-1])
    out = np.zeros((flat.shape[0], R))
    for i, row in enumerate(flat):
        out[i] = np.bincount(labels, weights=row, minlength=R)
    return out.reshape(p.shape[:-1] + (R,))


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation distance ½ Σ |p - q| along the last axis (values in [0, 1])."""
    return 0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(-1)


def empirical_distributions(vertex_idx: np.ndarray, n_bins: int, labels: Optional[np.ndarray] = None) -> np.ndarray:
    """Histogram of walker positions per step: (T, n) vertex indices -> (T, n_bins) frequencies.

    With ``labels`` the vertices are first mapped to their regions (then ``n_bins`` = number of regions).
    """
    idx = np.asarray(vertex_idx, dtype=np.int64)
    if labels is not None:
        idx = labels[idx]
    T, n = idx.shape
    out = np.zeros((T, n_bins))
    for t in range(T):
        out[t] = np.bincount(idx[t], minlength=n_bins)[:n_bins] / n
    return out


def tv_curve(vertex_idx: np.ndarray, pi: np.ndarray, labels: Optional[np.ndarray] = None) -> np.ndarray:
    """TV distance to ``pi`` (V,) of the walkers' empirical distribution at each step, (T,).

    With ``labels`` both are coarse-grained to regions first.
    """
    if labels is not None:
        R = int(labels.max() + 1)
        target = coarse(pi, labels, R)
        emp = empirical_distributions(vertex_idx, R, labels)
    else:
        target = np.asarray(pi, dtype=np.float64)
        emp = empirical_distributions(vertex_idx, len(target))
    return total_variation(emp, target[None, :])


def exact_tv_curve(distributions: np.ndarray, pi: np.ndarray, labels: Optional[np.ndarray] = None) -> np.ndarray:
    """TV distance to ``pi`` of exact distributions (T, V) (from :func:`propagate`), (T,)."""
    if labels is not None:
        R = int(labels.max() + 1)
        return total_variation(coarse(distributions, labels, R), coarse(pi, labels, R)[None, :])
    return total_variation(distributions, np.asarray(pi)[None, :])


def iid_tv_floor(pi: np.ndarray, n: int, labels: Optional[np.ndarray] = None, seed: int = 0,
                 reps: int = 20) -> float:
    """Mean TV distance between ``n`` i.i.d. samples from ``pi`` and ``pi`` itself (sampling noise).

    A walk whose curve reaches this level is as close to stationary as ``n`` walkers can show.
    """
    rng = np.random.default_rng(seed)
    pi = np.asarray(pi, dtype=np.float64)
    draws = rng.choice(len(pi), size=(reps, n), p=pi / pi.sum())
    return float(tv_curve(draws, pi, labels).mean())


def match_substeps(graph: MeshGraph, start: int, step_length: float, max_substeps: int = 200,
                   n_probe: int = 400, seed: int = 0) -> int:
    """Graph steps per displayed step so that the RMS displacement of one displayed step of the
    mesh walk from ``start`` is closest to ``step_length`` (e.g. the learned walk's first step).

    Returns an int in ``[1, max_substeps]``.
    """
    start = check_start(graph, start)
    if not np.isfinite(step_length) or step_length <= 0:
        return 1
    V = graph.vertices
    traj = simulate_walk(graph, start, n_probe, max_substeps, substeps=1, seed=seed)
    rms = np.sqrt(((V[traj] - V[start]) ** 2).sum(-1).mean(1))  # (max_substeps + 1,)
    return int(np.argmin(np.abs(rms[1:] - step_length))) + 1


def rms_step(trajectory: np.ndarray) -> float:
    """RMS length of the first step of a walk (T+1, n, m) -> float."""
    traj = np.asarray(trajectory, dtype=np.float64)
    if traj.shape[0] < 2:
        return 0.0
    return float(np.sqrt(((traj[1] - traj[0]) ** 2).sum(-1).mean()))

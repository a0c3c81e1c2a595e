"""Audit any map: points X and their codes Z from any method (issue 32, part 1).

The studio's own runs are audited through their model (:mod:`vdae_core.study.topology`); here the map is
given as two arrays, row i of ``Z`` the code of row i of ``X``, so that an embedding made anywhere (a
published model, UMAP, a colleague's encoder) is measured with the same tools and keys:

* :func:`map_audit` — tears and folds (:func:`vdae_core.metrics.tears.tears_and_folds`; the keys of a run's
  ``audit`` JSON under ``tears_folds``), the bi-Lipschitz constants of the map X → Z over latent neighbours
  (raw and scale-free, :func:`vdae_core.metrics.bilipschitz.bilipschitz_both`), trustworthiness,
  continuity and the Representation Topology Divergence (:mod:`vdae_core.metrics.rtd`);
* :func:`map_topology` — persistence of the points, the codes and optionally samples (the keys of a run's
  ``topology`` JSON); samples are judged against a random half of the points with floors from the other half
  (:class:`~vdae_core.study.evaluation.SplitReferencePool`), as ``evaluate --samples`` does.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import MAX_CODE_DIM, MIN_DISTINCT_POINTS, check_array


def checked_map(X, Z) -> Tuple[np.ndarray, np.ndarray]:
    """``X`` (n, m) and ``Z`` (n, d) (or (n,): one column) as float64 arrays, or a :class:`UserInputError` that
    says what is wrong:
    not numeric, NaN or inf, fewer than :data:`MIN_DISTINCT_POINTS` distinct points, rows that differ, codes
    wider than :data:`MAX_CODE_DIM` columns."""
    X = check_array(X, "points", min_rows=MIN_DISTINCT_POINTS, min_distinct=MIN_DISTINCT_POINTS, dtype=np.float64)
    if np.ndim(Z) == 1:  # one code per point given as a vector (an angle): one column
        Z = np.reshape(Z, (-1, 1))
    Z = check_array(Z, "codes", min_rows=1, dtype=np.float64)
    if len(X) != len(Z):
        raise UserInputError(f"{len(X)} points but {len(Z)} codes: row i of the codes must be the code of row i "
                             f"of the points")
    if Z.shape[1] > MAX_CODE_DIM:
        raise UserInputError(f"codes: {Z.shape[1]} columns; at most {MAX_CODE_DIM} (a latent code, not a feature "
                             f"vector; reduce it first, e.g. with PCA)")
    return X, Z


def map_audit(X, Z, k: int = 10, factor: Optional[float] = None, max_points: int = 2000,
              seed: int = 0) -> Tuple[Dict[str, Any], Any]:
    """Tears, folds, bi-Lipschitz, trustworthiness and continuity of the map sending row i of ``X`` (n, m) to
    row i of ``Z`` (n, d).

    Parameters
    ----------
    k : int
        Neighbours of the kNN graphs (tears, folds), of the bi-Lipschitz ratios and of trustworthiness.
    factor : float, optional
        Length in typical edges above which an edge is torn or folded (default
        :data:`~vdae_core.metrics.tears.FACTOR`).
    max_points : int
        Above this many points every measure uses the same seeded random subset of this size.

    Returns
    -------
    report : dict
        ``tears_folds`` (the summary of a run's audit), ``bilipschitz`` {median, mean, p95 of the raw constant
        and ``scale_free_median``}, ``trustworthiness``, ``continuity``, ``rtd`` (Representation Topology
        Divergence of the codes against the points, :func:`vdae_core.metrics.rtd.rtd_summary`), ``n_points``,
        ``points_dim``, ``codes_dim``.
    tears : :class:`~vdae_core.metrics.tears.TearsFolds`
        Per edge and per point (``idx`` the rows used).
    """
    from vdae_core.metrics.bilipschitz import bilipschitz_both, bilipschitz_summary
    from vdae_core.metrics.rtd import rtd_summary
    from vdae_core.metrics.tears import FACTOR, tears_and_folds
    from vdae_core.metrics.trustworthiness import continuity, trustworthiness

    X, Z = checked_map(X, Z)
    tf = tears_and_folds(X, Z, k=k, factor=FACTOR if factor is None else factor, max_points=max_points, seed=seed)
    Xs, Zs = X[tf.idx], Z[tf.idx]
    # The map's constants over latent neighbours: the ratio |x_i − x_j| / |z_i − z_j| of the original points,
    # as a decoder's are measured (Eq. 12 of the VDAE paper with the decoder replaced by the inverse map).
    raw, free = bilipschitz_both(Zs, Xs, k=k)
    s_raw, s_free = bilipschitz_summary(raw), bilipschitz_summary(free)
    kt = min(int(k), (len(Xs) - 1) // 2)
    report = {"tears_folds": tf.summary(),
              "bilipschitz": {"median": s_raw["median"], "mean": s_raw["mean"], "p95": s_raw["p95"],
                              "scale_free_median": s_free["median"]},
              "trustworthiness": trustworthiness(Xs, Zs, kt), "continuity": continuity(Xs, Zs, kt),
              "rtd": rtd_summary(Xs, Zs, seed),
              "n_points": int(len(X)), "points_dim": int(X.shape[1]), "codes_dim": int(Z.shape[1])}
    return report, tf


def map_topology(X, Z, samples=None, maxdim: int = 1, max_points: Optional[int] = None, seed: int = 0,
                 reps: int = 3) -> Dict[str, Any]:
    """Persistence of the points ``X`` (n, m), their codes ``Z`` (n, d) and optionally ``samples`` (M, m), with
    the keys of :func:`vdae_core.study.topology.topology_report`.

    Without samples the data cloud is all of ``X``; with samples it is a random half of ``X`` (the
    reference), and the samples–data distances stand beside a floor: the same distances for ``reps`` disjoint
    draws from the other half.
    """
    from vdae_core.metrics.persistence import MAX_POINTS
    from vdae_core.study.evaluation import SplitReferencePool
    from vdae_core.study.topology import clouds_report

    X, Z = checked_map(X, Z)
    max_points = MAX_POINTS if max_points is None else int(max_points)
    if samples is None:  # no floors without samples: the points as they are
        R = SplitReferencePool.points_dataset("points", X)
        return clouds_report(R, Z, None, None, f"the given points ({len(X)})", maxdim, max_points, seed, reps)
    pool = SplitReferencePool(X, seed=seed, reps=reps, label="the given points")
    G = check_array(samples, "samples", width=X.shape[1], min_rows=MIN_DISTINCT_POINTS, dtype=np.float64)
    return clouds_report(pool.reference(len(G)), Z, G, pool, pool.description, maxdim, max_points, seed, reps)


def map_summary(X, Z, seed: int = 0) -> Dict[str, Any]:
    """One row of the learners' comparison (issue 32, part 5) for the map X (n, m) -> Z (n, d): torn and folded
    edges, the scale-free bi-Lipschitz median, trustworthiness, continuity, RTD and the Betti numbers of points
    and codes, from :func:`map_audit` and :func:`map_topology`."""
    audit, _ = map_audit(X, Z, seed=seed)
    top = map_topology(X, Z, seed=seed)
    return {"torn_edges": audit["tears_folds"]["torn_edges"], "folded_edges": audit["tears_folds"]["folded_edges"],
            "data_edges": audit["tears_folds"]["data_edges"], "bilip_scale_free": audit["bilipschitz"]["scale_free_median"],
            "trustworthiness": audit["trustworthiness"], "continuity": audit["continuity"],
            "rtd": audit["rtd"]["value"], "betti_data": top["clouds"]["data"]["betti"],
            "betti_codes": top["clouds"]["latent"]["betti"], "latent_dim": int(np.asarray(Z).reshape(len(Z), -1).shape[1])}


def run_map_summary(run, max_points: int = 2000, seed: int = 0) -> Dict[str, Any]:
    """:func:`map_summary` of a run's encoder on (a seeded subset of up to ``max_points``) training points; a
    :class:`UserInputError` for a model without an encoder."""
    from vdae_core.study.topology import training_codes

    return map_summary(*training_codes(run, max_points, seed, "its map has no codes to audit"), seed)


def load_map(points: str, codes: Optional[str] = None, model: Optional[str] = None, samples: Optional[str] = None,
             seed: int = 0):
    """The arrays of a map given as files: points X (n, m), codes Z (n, d) and samples (M, m) or None.

    The codes come from ``codes`` (a file; a .npy vector is one column) or from ``model``'s ``encode`` (a
    TorchScript file, :class:`~vdae_core.models.scripted.ScriptedModel`, never unpickled); the model's sampler,
    where it has one, gives the samples (as many as the points, seeded) when no ``samples`` file is given.
    Returns (X, Z, S, the ScriptedModel or None), checked by :func:`checked_map`.
    """
    from vdae_core.data import read_codes, read_points
    from vdae_core.models.scripted import ScriptedModel

    if bool(codes) == bool(model):
        raise UserInputError("give the codes or a model that makes them (one of the two)")
    X = read_points(points)
    S = read_points(samples) if samples else None
    scripted = ScriptedModel(model) if model else None
    if scripted is not None:
        Z = scripted.encode(X)
        if S is None and scripted.has_sampler:
            S = scripted.sample(len(X), seed, X.shape[1])
    else:
        Z = read_codes(codes)
    X, Z = checked_map(X, Z)
    if S is not None:
        S = check_array(S, "samples", width=X.shape[1], min_rows=MIN_DISTINCT_POINTS, dtype=np.float64)
    return X, Z, S, scripted


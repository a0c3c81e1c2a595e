"""The few measurements lessons share, each a thin call of the studio's own analysis."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np


def codes(run) -> np.ndarray:
    """The run's codes of its training points, flattened to (n, d)."""
    Z = np.asarray(run.model.encode(run.dataset.X), dtype=np.float64)
    return Z.reshape(len(Z), -1)


def loops(P: np.ndarray, max_points: int = 400, seed: int = 0) -> int:
    """Betti₁ of a cloud (n, m) by the topology audit's rule (:func:`vdae_core.metrics.persistence.persistence`),
    on at most ``max_points`` farthest points (the audit page's default for loops; 300 misses a torus's tube)."""
    from vdae_core.metrics.persistence import persistence_cached

    return int(persistence_cached(np.asarray(P, dtype=np.float64), 1, max_points, seed).betti[1])


def tear_numbers(run, k: int = 10) -> Dict[str, Any]:
    """The audit's tears and folds of a run (:func:`vdae_core.study.topology.tear_report`), at its defaults."""
    from vdae_core.study.topology import tear_report

    s = tear_report(run, k=k)[0]
    return {key: s[key] for key in ("torn_edges", "data_edges", "points_at_a_tear", "n_points", "folded_edges",
                                    "latent_edges")}


def hole_numbers(run, n: int = 2000, summary: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The audit's prior holes of a run (:func:`vdae_core.study.topology.prior_hole_report`), or of its report's
    ``summary`` when the caller has it already."""
    from vdae_core.study.topology import prior_hole_report

    s = summary if summary is not None else prior_hole_report(run, n=n)[0]
    return {"hole_share": s["hole_share"], "hole_floor": list(s["hole_share_floor"]), "off_share": s["off_share"],
            "off_floor": list(s["off_share_floor"]), "off_in_holes": s["off_share_in_holes"]}


def pct(x: Optional[float]) -> str:
    """A share as a percentage with one decimal ("—" for None)."""
    return "—" if x is None else f"{100 * float(x):.1f}%"


def first_periodic(ds) -> int:
    """The index of the data's first periodic ground-truth coordinate (0 if none)."""
    return next((j for j, p in enumerate(ds.periodic) if p), 0)


def correlation_ratio(values: np.ndarray, param: np.ndarray, bins: int = 30) -> float:
    """η²: the share of the variance of ``values`` (n,) explained by ``param`` (n,), read as the variance of the
    means of ``values`` over ``bins`` equal-count bins of ``param`` over the total variance. Near 1 when the values
    are a function of the parameter that varies slowly against the bins (a harmonic cos 2t included, which no
    correlation coefficient sees; an oscillation faster than the bins, or a mode mixing two parameters, scores
    lower); about bins / n when they are unrelated.

    Parameters
    ----------
    values, param : ndarray (n,)
    bins : int

    Returns
    -------
    float in [0, 1]
    """
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(np.asarray(param, dtype=np.float64), kind="stable")
    groups = np.array_split(values[order], bins)
    total = values.var()
    if total <= 0:
        return 0.0
    between = sum(len(g) * (g.mean() - values.mean()) ** 2 for g in groups) / len(values)
    return float(between / total)

"""The persistent homology of a trained run: data, latent codes and generated samples, with a noise floor.

:func:`topology_report` computes the persistence diagrams (:mod:`vdae_core.metrics.persistence`) of

* the **data**: the run's evaluation reference (fresh samples of a built-in law, or the held-out split —
  never the training points, as for every sample metric);
* the **latent codes** of the training points (models with an encoder);
* the model's **samples** (as many as the reference has points),

and the bottleneck and Wasserstein distances between the data's diagrams and the samples'. Each distance
comes with its **noise floor**: the same distance between the reference and ``reps`` independent samples of
the data's law (:class:`vdae_core.study.evaluation.ReferencePool`), mean ± sd — a model whose distance is within
the floor generates the data's topology as well as a second sample of the data would. The data's diagrams do
not depend on the model, so they are computed once per reference and settings (in this process) and shared
by every run on that data.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Dict, Optional

import numpy as np

from vdae_core.metrics.persistence import FEATURE_NAMES, MAX_POINTS, Persistence, diagram_distances, persistence


def _found(k: int, counts: Dict[str, Optional[int]]) -> str:
    """'1 loop found in the data, 1 in the latent codes, 0 in the samples'."""
    parts = [f"{c} in the {name}" for name, c in counts.items() if c is not None]
    if not parts:
        return ""
    first = counts[next(iter(counts))]
    head = f"{first} {FEATURE_NAMES[k][first != 1]} found in the data" if first is not None else parts[0]
    return ", ".join([head] + parts[1:])


#: The data's own diagrams (reference and floor samples), which do not depend on the model: key -> result.
_LAW_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()


def _law(pool, R, maxdim: int, max_points: int, seed: int, reps: int):
    """The reference's diagrams, ``reps`` floor samples' diagrams and their distances to the reference; kept
    for the last 8 references (every model of a dataset shares them), keyed by the reference's points, the
    data's config and the settings."""
    key = (hashlib.sha1(np.ascontiguousarray(R.X).tobytes()).hexdigest(), repr(getattr(pool, "config", None)),
           pool.description, pool.seed, int(R.n),
           maxdim, max_points, seed, int(reps))
    if key in _LAW_CACHE:
        _LAW_CACHE.move_to_end(key)
        return _LAW_CACHE[key]
    data = persistence(R.X, maxdim, max_points, seed)
    law = [persistence(pool.floor_sample(R.n, j).X, maxdim, max_points, seed) for j in range(int(reps))]
    out = (data, law, [diagram_distances(data, p) for p in law])
    _LAW_CACHE[key] = out
    while len(_LAW_CACHE) > 8:
        _LAW_CACHE.popitem(last=False)
    return out


def topology_report(run, maxdim: int = 1, max_points: int = MAX_POINTS, n: int = 1000, seed: int = 0,
                    reps: int = 3) -> Dict[str, Any]:
    """Persistence of a run's data, codes and samples, and the data–samples diagram distances with their floor.

    Parameters
    ----------
    run : Run
    maxdim : int
        Highest homology dimension (2 adds voids; slower).
    max_points : int
        Farthest-point subsample size per cloud (each cloud says whether it was subsampled).
    n : int
        Generated samples, and the size of a fresh reference (a held-out split is used whole).
    reps : int
        Independent law samples behind the floor of each distance.

    Returns
    -------
    dict with ``clouds`` {"data", "latent", "samples": :meth:`Persistence.to_dict` or None}, ``distances``
    {"bottleneck", "wasserstein": per dimension}, ``floor`` {same keys: per dimension [mean, sd]},
    ``floor_betti`` (Betti numbers of each law sample), ``reference`` (what the data is), ``latent_note``,
    ``summary`` (one sentence per dimension) and ``settings``.
    """
    import torch

    from vdae_core.study.evaluation import ReferencePool

    pool = ReferencePool(run.dataset, run.data_config, getattr(run, "heldout", None), seed=seed)
    R = pool.reference(n)
    model = run.model
    latent_note, Z = "", None
    if model.has_encoder:
        Z = np.asarray(model.encode(run.dataset.X), dtype=np.float64).reshape(run.dataset.n, -1)
    else:
        latent_note = model.lacks("has_encoder", "no latent codes to read holes from")
    G = np.asarray(model.sample(int(R.n), torch.Generator().manual_seed(int(seed)))) if model.has_sampler else None
    if G is None:
        latent_note = (latent_note + " " if latent_note else "") + model.lacks("has_sampler", "no samples to compare")
    return clouds_report(R, Z, G, pool, pool.description, maxdim, max_points, seed, reps, latent_note)


def clouds_report(R, Z: Optional[np.ndarray], G: Optional[np.ndarray], pool, reference: str, maxdim: int,
                  max_points: int, seed: int, reps: int, latent_note: str = "") -> Dict[str, Any]:
    """The persistence report of a reference ``R`` (a Dataset, n × m), codes ``Z`` (N × d) and samples ``G``
    (M × m), either may be None, with the data–samples distances beside their floor drawn from ``pool``
    (a :class:`~vdae_core.study.evaluation.ReferencePool` or ``SplitReferencePool``; None without samples);
    ``reference`` says what ``R`` is. The keys of :func:`topology_report` (``distances`` and ``floor`` None
    without samples, ``floor_betti`` then empty)."""
    if G is not None:
        data, law, null = _law(pool, R, maxdim, max_points, seed, reps)
    else:
        data, law, null = persistence(np.asarray(R.X, dtype=np.float64), maxdim, max_points, seed), [], []
    clouds: Dict[str, Optional[Persistence]] = {
        "data": data,
        "latent": persistence(Z, maxdim, max_points, seed) if Z is not None else None,
        "samples": persistence(G, maxdim, max_points, seed) if G is not None else None}
    dist = floor = None
    if G is not None:
        dist = diagram_distances(clouds["data"], clouds["samples"])
        floor = {key: [[float(np.mean([d[key][k] for d in null])),
                        float(np.std([d[key][k] for d in null], ddof=1)) if len(null) > 1 else 0.0]
                       for k in range(maxdim + 1)] for key in ("bottleneck", "wasserstein")}
    names = {"data": "data", "latent": "latent codes", "samples": "samples"}
    summary = [_found(k, {names[c]: (p.betti[k] if p is not None else None) for c, p in clouds.items()})
               for k in range(maxdim + 1)]
    return {"clouds": {c: (p.to_dict() if p is not None else None) for c, p in clouds.items()},
            "distances": dist, "floor": floor, "floor_betti": [p.betti for p in law],
            "reference": reference, "latent_note": latent_note, "summary": summary,
            "settings": {"maxdim": maxdim, "max_points": max_points, "n": int(R.n), "seed": seed, "reps": reps}}


def tear_report(run, k: int = 10, factor: Optional[float] = None, max_points: int = 2000, seed: int = 0):
    """Tears and folds (:func:`vdae_core.metrics.tears.tears_and_folds`) of a run's encoder on its training points.

    Returns
    -------
    (summary dict, TearsFolds, X used (n, m), Z used (n, d)); raises :class:`UserInputError` for a model
    without an encoder.
    """
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.metrics.tears import FACTOR, tears_and_folds

    model = run.model
    if not model.has_encoder:
        raise UserInputError(model.lacks("has_encoder", "tears and folds are read off the codes of the data, and "
                                                        "this model has none"))
    X = np.asarray(run.dataset.X, dtype=np.float64)
    Z = np.asarray(model.encode(run.dataset.X), dtype=np.float64).reshape(len(X), -1)
    r = tears_and_folds(X, Z, k=k, factor=FACTOR if factor is None else factor, max_points=max_points, seed=seed)
    return r.summary(), r, X[r.idx], Z[r.idx]


def rtd_report(run, max_points: int = 2000, seed: int = 0) -> Dict[str, Any]:
    """The Representation Topology Divergence (:func:`vdae_core.metrics.rtd.rtd_summary`) of a run's codes against
    its training points (a seeded subset of up to ``max_points``); raises :class:`UserInputError` for a model
    without an encoder."""
    from vdae_core.metrics.rtd import rtd_summary

    X, Z = training_codes(run, max_points, seed, "RTD compares the codes of the data with the data")
    return rtd_summary(X, Z, seed)


def training_codes(run, max_points: int, seed: int, why: str):
    """(X (n, m), Z (n, d)) float64: a seeded subset of up to ``max_points`` of a run's training points and their
    codes; a :class:`UserInputError` (with ``why``) for a model without an encoder."""
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.metrics.subsample import subsample_indices

    if not run.model.has_encoder:
        raise UserInputError(run.model.lacks("has_encoder", why))
    idx = subsample_indices(run.dataset.n, max_points, seed)
    X = np.asarray(run.dataset.X[idx], dtype=np.float64).reshape(len(idx), -1)
    Z = np.asarray(run.model.encode(run.dataset.X[idx]), dtype=np.float64).reshape(len(idx), -1)
    return X, Z


def prior_hole_report(run, n: int = 2000, k: Optional[int] = None, t: Optional[float] = None, seed: int = 0,
                      reps: int = 3):
    """The prior-hole map (:func:`vdae_core.metrics.prior_holes.prior_holes`) of a run.

    The aggregate posterior is the codes of (up to ``n``) training points; ``n`` prior codes are drawn with
    :meth:`GenerativeModel.prior_codes` (VDAE: its walk's codes after ``sample_steps`` steps) and decoded; the
    decoded points are judged against the run's held-out reference, as every sample metric.

    Returns
    -------
    (summary dict, PriorHoles, Z_data (N, D) codes used, Z_prior (M, D), X_decoded (M, m), R (n_ref, m));
    raises :class:`UserInputError` for a model without an encoder or without prior codes.
    """
    import torch

    from vdae_core.foundation.errors import UserInputError
    from vdae_core.study.evaluation import ReferencePool
    from vdae_core.metrics.subsample import subsample_indices
    from vdae_core.metrics.prior_holes import T_SPACINGS, prior_holes

    model = run.model
    for cap, why in (("has_encoder", "the hole map compares the prior with the codes of the data, and this model "
                                     "encodes nothing"),
                     ("has_prior", "the hole map needs the codes the model's samples are decoded from")):
        if not getattr(model, cap):
            raise UserInputError(model.lacks(cap, why))
    X = run.dataset.X[subsample_indices(run.dataset.n, n, seed)]
    Zd = np.asarray(model.encode(X), dtype=np.float64).reshape(len(X), -1)
    g = torch.Generator().manual_seed(int(seed))
    Zp = np.asarray(model.prior_codes(int(n), g), dtype=np.float64)
    Xs = np.asarray(model.decode(Zp), dtype=np.float64).reshape(len(Zp), -1)
    Zp = Zp.reshape(len(Zp), -1)
    null = [np.asarray(model.prior_codes(len(Zd), g), dtype=np.float64).reshape(len(Zd), -1) for _ in range(reps)]
    pool = ReferencePool(run.dataset, run.data_config, getattr(run, "heldout", None), seed=seed)
    R = pool.reference(n)
    floors = [pool.floor_sample(len(Xs), j).X for j in range(int(reps))]
    r = prior_holes(Zd, Zp, null, Xs, R.X, floors, dim=int(model.latent_space.dim), k=k,
                    t=T_SPACINGS if t is None else float(t))
    summary = {**r.summary(), "reference": pool.description, "prior": model.sampler_description,
               "n_data_codes": int(len(Zd))}
    return summary, r, Zd, Zp, Xs, np.asarray(R.X, dtype=np.float64).reshape(R.n, -1)


"""All metrics of one trained model, in one call."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import as_points
from vdae_core.metrics.subsample import subsample_indices
from vdae_core.metrics.bilipschitz import bilipschitz_both, bilipschitz_summary, geodesic_latent
from vdae_core.metrics.gromov_wasserstein import gromov_wasserstein
from vdae_core.metrics.mmd import mmd
from vdae_core.metrics.trustworthiness import continuity, trustworthiness


def evaluation_subset(n_total: int, n_samples: int, seed: int) -> np.ndarray:
    """Indices of the data points :func:`evaluate_model` evaluates on.

    Returns
    -------
    ndarray, shape (min(n_total, n_samples),), int64
        Sorted indices into ``X``: all of them if ``n_total <= n_samples``, else a seeded draw
        without replacement (``numpy.random.default_rng(seed)``).
    """
    return subsample_indices(n_total, n_samples, seed)


def evaluate_model(model, X, seed: int = 0, n_samples: int = 1000, k: int = 10,
                   return_indices: bool = False, with_samples: bool = True):
    """Evaluate a trained model: bi-Lipschitz, GW, MMD, trustworthiness and continuity.

    The model needs ``encode(x (n, m)) -> z (n, D)``, ``decode(z (n, D)) -> x (n, m)`` and
    ``sample(n, generator: torch.Generator) -> x (n, m)`` (NumPy arrays; torch tensors are
    accepted too).

    Steps: a seeded subset ``Xs`` of at most ``n_samples`` data points
    (:func:`evaluation_subset`); ``z = encode(Xs)``; bi-Lipschitz of ``z -> decode(z)`` over the
    k latent neighbours, raw and scale-free (a model without a decoder: of ``z_i -> x_i``, the map itself); trustworthiness and continuity of ``Xs -> z``;
    ``n_samples`` generated points ``model.sample(n_samples, torch.Generator().manual_seed(seed))``
    compared with ``Xs`` by Gromov-Wasserstein (at most 1,000 points a side, seeded) and MMD
    (median-heuristic bandwidth).

    Parameters
    ----------
    model : object
        With ``encode``, ``decode`` and ``sample`` as above.
    X : array_like, shape (N, m)
        Real data.
    seed : int
        Seeds the subset, the generator and GW subsampling.
    n_samples : int
        Data points evaluated and points generated.
    k : int
        Neighbourhood size of bi-Lipschitz, trustworthiness and continuity; needs
        ``k < min(N, n_samples) / 2``.
    return_indices : bool
        Also return the subset indices.
    with_samples : bool
        Also generate and compare samples with ``X`` (GW, MMD). The protocol of
        :mod:`vdae_core.study.evaluation` passes False: it judges samples against held-out data instead.

    Returns
    -------
    summary : dict
        JSON-serialisable plain values: ``gw`` (float), ``gw_subsampled`` (bool), ``mmd2``,
        ``mmd_bandwidth``, ``bilip_median``, ``bilip_mean``, ``bilip_scale_free_median``,
        ``bilip_scale_free_mean``, ``trustworthiness``, ``continuity`` (floats; the bi-Lipschitz
        ones may be ``inf`` where the decoder is not injective), ``n_samples`` (int, data points
        actually evaluated), ``k``, ``seed`` (int).
    per_point_bilip_raw : ndarray, shape (n_used,)
        Raw bi-Lipschitz constant of each evaluated point, in the order of the subset indices.
    indices : ndarray, shape (n_used,), int64
        Only with ``return_indices``: rows of ``X`` evaluated (``evaluation_subset``).

    Raises
    ------
    UserInputError
        For invalid data, parameters, or model outputs (wrong shape, NaN/inf).
    """
    import torch  # deferred: keeps `import vdae_core.metrics` light

    X_in = X
    X = as_points(X, "evaluate_model: X", min_points=2)
    for name, v in (("n_samples", n_samples), ("seed", seed), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise UserInputError(f"evaluate_model: {name} must be an integer, got {v!r}")
    if n_samples < 2:
        raise UserInputError(f"evaluate_model: n_samples must be at least 2, got {n_samples}")
    if seed < 0:
        raise UserInputError(f"evaluate_model: seed must be >= 0, got {seed}")

    idx = evaluation_subset(X.shape[0], int(n_samples), int(seed))
    Xs = X[idx]
    # The model gets the rows in the caller's dtype (datasets are float32).
    X_model = np.asarray(X_in)[idx] if isinstance(X_in, np.ndarray) else Xs
    z_model = model.encode(X_model)
    z_model = np.asarray(z_model)
    z = as_points(z_model.reshape(len(z_model), -1), "evaluate_model: model.encode output", min_points=2)
    if z.shape[0] != Xs.shape[0]:
        raise UserInputError(f"evaluate_model: model.encode returned {z.shape[0]} codes for {Xs.shape[0]} points")
    if getattr(model, "has_decoder", True):
        x_dec = as_points(model.decode(z_model), "evaluate_model: model.decode output", min_points=2)
        if x_dec.shape[0] != z.shape[0]:
            raise UserInputError(f"evaluate_model: model.decode returned {x_dec.shape[0]} points for {z.shape[0]} "
                                 f"codes")
    else:  # an encoder only: the constants of the map itself, its inverse read at the points (z_i -> x_i)
        x_dec = Xs
    raw, scale_free = bilipschitz_both(z, x_dec, k=k, latent_space=geodesic_latent(model))
    trust = trustworthiness(Xs, z, k=k)
    cont = continuity(Xs, z, k=k)

    s_raw, s_free = bilipschitz_summary(raw), bilipschitz_summary(scale_free)
    summary: Dict[str, Any] = {}
    if with_samples:
        gen = model.sample(int(n_samples), torch.Generator().manual_seed(int(seed)))
        gen = as_points(gen, "evaluate_model: model.sample output", min_points=2)
        if gen.shape[1] != Xs.shape[1]:
            raise UserInputError(f"evaluate_model: model.sample returned dimension {gen.shape[1]}, data has "
                                 f"{Xs.shape[1]}")
        gw = gromov_wasserstein(gen, Xs, max_points=1000, seed=int(seed))
        m = mmd(gen, Xs)
        summary.update({"gw": float(gw["value"]), "gw_subsampled": bool(gw["subsampled"]), "mmd2": float(m["mmd2"]),
                        "mmd_bandwidth": float(m["bandwidth"])})
    summary.update({
        "bilip_median": s_raw["median"],
        "bilip_mean": s_raw["mean"],
        "bilip_scale_free_median": s_free["median"],
        "bilip_scale_free_mean": s_free["mean"],
        "trustworthiness": float(trust),
        "continuity": float(cont),
        "n_samples": int(Xs.shape[0]),
        "k": int(k),
        "seed": int(seed),
    })
    if return_indices:
        return summary, raw, idx
    return summary, raw

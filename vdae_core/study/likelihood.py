"""A run's importance-sampled log-likelihood on points it never trained on (issue 36, item 2).

The number is :func:`vdae_core.metrics.likelihood.importance_sampled_log_likelihood` (Burda et al. 2016, L draws a
point; the ΔVAE paper's Table 1 uses L = 100) averaged over held-out points: fresh samples of a built-in law, or
the run's held-out split of a file. Beside it, as its yardstick, the same number on as many of the run's training
points: a model that fits its training points much better than new ones memorises. Each mean comes with its
standard error over points (the Monte Carlo error of L draws is inside it, as each point's estimate carries it).
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import torch

from vdae_core.metrics.likelihood import PAPER_SAMPLES, importance_sampled_log_likelihood


def _summary(values: Dict[str, np.ndarray]) -> Dict[str, float]:
    out = {}
    for key, v in values.items():
        out[key] = float(np.mean(v))
        out[f"{key}_se"] = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return out


def held_out_likelihood(run, samples: int = PAPER_SAMPLES, n: int = 1000, seed: int = 0) -> Dict[str, Any]:
    """Importance-sampled log-likelihood, ELBO, reconstruction and KL of ``run`` in nats per point.

    Parameters
    ----------
    run : Run
        A trained run whose model has ``has_likelihood``.
    samples : int
        L, draws of the posterior per point.
    n : int
        Points on each side (at most the held-out split's size, and the training set's).
    seed : int
        Seeds the reference draw, the choice of training points and the posterior draws.

    Returns
    -------
    dict
        ``held_out`` and ``training``: each ``log_likelihood``, ``elbo``, ``recon``, ``kl`` with ``<key>_se``;
        ``gap`` (training minus held-out log-likelihood), ``samples``, ``points``, ``reference`` (what the
        held-out points are), ``units`` ("nats per point, data units").
    """
    from vdae_core.study.evaluation import ReferencePool

    pool = ReferencePool(run.dataset, run.data_config, getattr(run, "heldout", None), seed=seed)
    H = pool.reference(int(n)).X
    rng = np.random.default_rng([int(seed), 0x11])
    if len(H) > int(n):  # a held-out split keeps the file's order (objects, video frames): draw, never the first n
        H = H[rng.choice(len(H), int(n), replace=False)]
    T = run.dataset.X[rng.choice(run.dataset.n, size=min(len(H), run.dataset.n), replace=False)]
    held = importance_sampled_log_likelihood(run.model, H, samples, torch.Generator().manual_seed(int(seed)))
    train = importance_sampled_log_likelihood(run.model, T, samples, torch.Generator().manual_seed(int(seed) + 1))
    held_s, train_s = _summary(held), _summary(train)
    return {"held_out": held_s, "training": train_s, "gap": train_s["log_likelihood"] - held_s["log_likelihood"],
            "samples": int(samples), "points": int(len(H)), "reference": pool.description,
            "units": "nats per point, in the data's units (every constant kept)"}

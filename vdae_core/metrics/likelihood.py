"""Importance-sampled log-likelihood of a model with an encoder and a decoder density (Burda et al. 2016).

For a model with a posterior q(z | x), a prior p(z) and a decoder density p(x | z),

    log p(x) ≈ log (1/L) Σ_l  p(x | z_l) p(z_l) / q(z_l | x),   z_l ~ q(z | x),          (Burda et al. 2016, Eq. 8)

whose expectation is a lower bound on log p(x) that rises with L to log p(x) (their Theorem 1); with L = 1 it
is one draw of the ELBO. The ΔVAE paper's Table 1 reports it with L = 100 samples per point. Every density here
is in the data's own units and keeps its constants (the training loss drops (m/2) log 2πσ² and the
standardisation's Jacobian; the reference code of the ΔVAE paper drops constants too), so that two models on the
same data compare, and a linear-Gaussian model gives its closed-form marginal (``tests/test_likelihood.py``).
The model supplies the three log densities (:meth:`~vdae_core.models.latent_vae.LatentVAE.log_weights`); the
log-mean-exp is taken here, stably.
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError

#: The ΔVAE paper's number of importance samples per point (its Table 1, after Burda et al. 2016).
PAPER_SAMPLES = 100


def log_mean_exp(w: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log (1/L) Σ exp(w) along ``dim`` (L = its length), without overflow."""
    return torch.logsumexp(w, dim=dim) - math.log(w.shape[dim])


@torch.no_grad()
def importance_sampled_log_likelihood(model, X: np.ndarray, samples: int = PAPER_SAMPLES,
                                      generator: Optional[torch.Generator] = None,
                                      batch_points: int = 256) -> Dict[str, np.ndarray]:
    """Per-point importance-sampled log p(x) and the ELBO from the same draws.

    Parameters
    ----------
    model : GenerativeModel
        A model with ``has_likelihood`` (its ``log_weights`` gives log p(x|z), log p(z), log q(z|x)).
    X : ndarray (n, m)
        Points in data units (held-out points for an honest number).
    samples : int
        L, draws of q(z | x) per point.
    generator : torch.Generator, optional
        CPU generator of the draws (seed 0 if omitted).
    batch_points : int
        Points per pass (memory: L × batch_points decoder outputs).

    Returns
    -------
    dict of ndarray (n,)
        ``log_likelihood`` (nats per point), ``elbo`` (the mean over the L draws of
        log p(x|z) + log p(z) − log q(z|x)), ``recon`` (mean log p(x | z)) and ``kl`` (mean of
        log q(z|x) − log p(z), a one-sample-per-draw estimate of the KL).
    """
    if not getattr(model, "has_likelihood", False):
        raise UserInputError(model.lacks("has_likelihood"))
    X = np.asarray(X)
    if X.ndim < 2 or X.shape[0] == 0:
        raise UserInputError(f"points must have shape (n, m) with n ≥ 1, got {X.shape}")
    if not np.isfinite(X).all():
        raise UserInputError("the points contain NaN or inf")
    if samples < 1:
        raise UserInputError(f"the number of importance samples must be at least 1, got {samples}")
    g = generator or torch.Generator().manual_seed(0)
    was_training = model.training
    model.eval()
    out = {k: [] for k in ("log_likelihood", "elbo", "recon", "kl")}
    try:
        for i in range(0, len(X), batch_points):
            x = torch.as_tensor(X[i:i + batch_points], dtype=torch.float32, device=model.device)
            recon, prior, post = model.log_weights(x, samples, g)  # each (L, B)
            w = recon + prior - post
            out["log_likelihood"].append(log_mean_exp(w.double(), 0))
            out["elbo"].append(w.double().mean(0))
            out["recon"].append(recon.double().mean(0))
            out["kl"].append((post - prior).double().mean(0))
    finally:
        model.train(was_training)
    return {k: torch.cat(v).cpu().numpy() for k, v in out.items()}

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


#: Rows (draws × points) decoded at once: bounds the memory of one pass whatever L is.
ROWS_PER_PASS = 32_768


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
        Points per pass at most; the L draws of a pass are taken in chunks of at most :data:`ROWS_PER_PASS` rows
        and combined by a running log-sum-exp, so memory does not grow with L.

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
    B = max(1, min(int(batch_points), ROWS_PER_PASS))
    chunk = max(1, ROWS_PER_PASS // B)  # draws per pass: chunk × B rows at most
    try:
        for i in range(0, len(X), B):
            x = torch.as_tensor(X[i:i + B], dtype=torch.float32, device=model.device)
            lse = torch.full((len(x),), -math.inf, dtype=torch.float64)
            sums = {k: torch.zeros(len(x), dtype=torch.float64) for k in ("w", "recon", "kl")}
            for start in range(0, int(samples), chunk):
                L = min(chunk, int(samples) - start)
                recon, prior, post = (t.double().cpu() for t in model.log_weights(x, L, g))  # each (L, B)
                w = recon + prior - post
                lse = torch.logaddexp(lse, torch.logsumexp(w, 0))
                sums["w"] += w.sum(0)
                sums["recon"] += recon.sum(0)
                sums["kl"] += (post - prior).sum(0)
            out["log_likelihood"].append(lse - math.log(samples))
            out["elbo"].append(sums["w"] / samples)
            out["recon"].append(sums["recon"] / samples)
            out["kl"].append(sums["kl"] / samples)
    finally:
        model.train(was_training)
    return {k: torch.cat(v).numpy() for k, v in out.items()}

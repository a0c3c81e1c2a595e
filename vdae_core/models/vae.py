"""β-VAE baseline: Gaussian encoder, Gaussian prior N(0, I), loss = reconstruction + β KL."""
from __future__ import annotations

import dataclasses
import math
from typing import Tuple

import torch

from vdae_core.foundation.config import param
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import gaussian_parameters, gaussian_sample, kl_to_standard_normal, randn
from vdae_core.models.latent_vae import LatentVAE, LatentVAEConfig


@dataclasses.dataclass(frozen=True)
class BetaVAEConfig(LatentVAEConfig):
    """Hyperparameters of the β-VAE."""

    depth: int = param(2, help="Hidden layers of encoder and decoder.", min=1, max=8)

    ESSENTIAL = ("latent_dim", "beta", "steps", "hidden", "device")
    PAPER = dict(hidden=512, depth=1, activation="tanh", latent_dim=2, beta=1.0)
    TUNED_FILE = "beta_vae.json"  # β by benchmarks/sweep_beta.py, latent_dim by benchmarks/sweep_latent_dims.py
    PAPER_SOURCE = "VDAE paper §6.1: a VAE with a two-dimensional Gaussian prior, one hidden layer of 512 tanh units"


class GaussianVAE(LatentVAE):
    """The Gaussian latent maths: q(u | x) = N(μ(x), diag σ²(x)) and p(u) = N(0, I_k) on R^k, k = :attr:`gaussian_dim`.

    The encoder's 2k outputs are μ and log σ²; draws are μ + σ ε; the KL is the closed form
    ½ Σ (μ² + σ² − 1 − log σ²) (Kingma & Welling 2014, Appendix B). Codes u are used as they are (the β-VAE); a subclass may map them onto its
    latent space (the ER-VAE).
    """

    @property
    def gaussian_dim(self) -> int:
        """k, the dimension of the Gaussian latent (R^D of the latent space here)."""
        return self.latent_dim

    def _n_posterior_params(self) -> int:
        return 2 * self.gaussian_dim

    def posterior(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Parameters of q(u | x).

        Parameters
        ----------
        x : Tensor (B, m)
            Points in data units.

        Returns
        -------
        mu, logvar : Tensor (B, k)
            Means and log-variances (clamped to [−20, 10]).
        """
        return gaussian_parameters(self._encoder_output(x))

    def _sample_posterior(self, q, generator: torch.Generator) -> torch.Tensor:
        return gaussian_sample(*q, generator)

    def _kl(self, q) -> torch.Tensor:
        return kl_to_standard_normal(*q)

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return randn((n, self.gaussian_dim), generator, self.device)

    # the likelihood's densities live on R^k, the Gaussian's space (a subclass maps u to its code: _code_of); a
    # concrete class whose prior and posterior are these declares has_likelihood itself

    def _code_of(self, u: torch.Tensor) -> torch.Tensor:
        """The code decoded from a Gaussian latent ``u`` (B, k): ``u`` itself here."""
        return u

    def _likelihood_draw(self, q, generator: torch.Generator):
        u = gaussian_sample(*q, generator)
        return u, self._code_of(u)

    def _log_posterior(self, q, u: torch.Tensor) -> torch.Tensor:
        """log N(u; μ, diag σ²), (B,)."""
        mu, logvar = q
        return -0.5 * ((u - mu).pow(2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(1)

    def _log_prior(self, u: torch.Tensor) -> torch.Tensor:
        """log N(u; 0, I), (B,)."""
        return -0.5 * (u.pow(2) + math.log(2 * math.pi)).sum(1)


@MODELS.register("beta_vae", help="β-VAE with a Gaussian N(0, I) prior (baseline).")
class BetaVAE(GaussianVAE):
    """Encoder q(z|x) = N(μ(x), diag σ²(x)), decoder mean f(z), prior N(0, I).

    Its random walk is encode-perturb-decode: x -> f(μ(x) + walk_noise ε).
    """

    name = "beta_vae"
    title = "β-VAE"
    config_class = BetaVAEConfig
    has_likelihood = True
    training_notes = ("One phase: the encoder gives q(z|x) = N(μ(x), diag σ²(x)); a reparameterised sample is decoded "
                      "and the loss is the reconstruction error plus β·KL(q ‖ N(0, I)).")

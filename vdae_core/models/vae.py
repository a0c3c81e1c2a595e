"""β-VAE baseline: Gaussian encoder, Gaussian prior N(0, I), loss = reconstruction + β KL."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np
import torch

from vdae_core.foundation.config import param
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import GenerativeModel, ModelConfig, kl_to_standard_normal, randn
from vdae_core.training.phases import OptimiserPhase, Phase
from vdae_core.models.networks import Standardise, network


@dataclasses.dataclass(frozen=True)
class BetaVAEConfig(ModelConfig):
    """Hyperparameters of the β-VAE."""

    beta: float = param(1.0, help="Weight β of the KL term (β = 1 is the plain VAE).", min=0.0, max=1000.0)
    hidden: int = param(256, help="Width of every hidden layer.", min=8, max=4096)
    depth: int = param(2, help="Hidden layers of encoder and decoder.", min=1, max=8)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))
    recon_var: float = param(0.01, help="Decoder variance in standardised units (sets the reconstruction weight).",
                             min=1e-6, max=100.0)
    steps: int = param(2000, help="Gradient steps.", min=1, max=200_000)
    batch_size: int = param(256, help="Batch size.", min=8, max=16384)
    lr: float = param(1e-3, help="Learning rate.", min=1e-6, max=1.0)
    walk_noise: float = param(0.3, help="Latent noise std of the encode-perturb-decode random walk.", min=0.0,
                              max=10.0)

    PAPER = dict(hidden=512, depth=1, activation="tanh", latent_dim=2, beta=1.0)
    TUNED_FILE = "beta_vae.json"  # β per dataset by benchmarks/sweep_beta.py, with the paper's 2-D prior
    PAPER_SOURCE = "VDAE paper §6.1: a VAE with a two-dimensional Gaussian prior, one hidden layer of 512 tanh units"


@MODELS.register("beta_vae", help="β-VAE with a Gaussian N(0, I) prior (baseline).")
class BetaVAE(GenerativeModel):
    """Encoder q(z|x) = N(μ(x), diag σ²(x)), decoder mean f(z), prior N(0, I).

    Its random walk is encode-perturb-decode: x -> f(μ(x) + walk_noise ε).
    """

    name = "beta_vae"
    title = "β-VAE"
    config_class = BetaVAEConfig
    has_elbo = True
    has_prior = True
    training_notes = ("One phase: the encoder gives q(z|x) = N(μ(x), diag σ²(x)); a reparameterised sample is decoded "
                      "and the loss is the reconstruction error plus β·KL(q ‖ N(0, I)).")

    def __init__(self, config: BetaVAEConfig, data_shape, latent_dim: int):
        super().__init__(config, data_shape, latent_dim)
        hidden = (config.hidden,) * config.depth
        data_dim = self.data_dim
        self.x_scale = Standardise(data_dim)
        self.encoder = network(config, self.data_shape, 2 * latent_dim, hidden, config.activation)
        self.decoder = network(config, (latent_dim,), data_dim, hidden, config.activation,
                               out_shape=self.data_shape)
        self.walk_scale = config.walk_noise

    def prepare(self, X: np.ndarray) -> None:
        self.x_scale.fit(torch.as_tensor(X))

    def phases(self) -> List[Phase]:
        c = self.config
        return [OptimiserPhase("vae", c.steps, self.parameters, self.loss, c.batch_size, c.lr)]

    def _posterior(self, x: torch.Tensor):
        h = self.encoder(self.x_scale(x).reshape(-1, *self.data_shape))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        g = generator or torch.Generator().manual_seed(0)
        mu, logvar = self._posterior(x)
        z = mu + torch.exp(0.5 * logvar) * randn(mu.shape, g, mu.device)
        recon = (self.decoder(z) - self.x_scale(x)).pow(2).sum(1).mean() / (2 * self.config.recon_var)
        kl = kl_to_standard_normal(mu, logvar)
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._posterior(x)[0]

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.decoder(z))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return randn((n, self.latent_dim), generator, self.device)

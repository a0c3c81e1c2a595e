"""Two-stage VAE: a VAE with a learned decoder variance, then a second VAE on its latent codes.

Reference: Dai and Wipf, "Diagnosing and Enhancing VAE Models" (ICLR 2019; ``shared/papers/two-stage-vae.txt``).

Stage 1 (§4, step 1) is a VAE x -> z ∈ R^κ whose Gaussian decoder p(x | z) = N(f(z), γ I) learns its
variance γ. With γ learned the optimum fits the data manifold ever more tightly (γ -> 0, Theorem 3) and
the negative ELBO of one point is

    ‖x − f(z)‖² / (2γ) + (m/2) log(2πγ) + KL(N(μ(x), diag σ²(x)) ‖ N(0, I))            (Eq. 2 with Σ_x = γ I)

The paper lets γ go to zero; here log γ is floored at ``log_gamma_min`` (γ in standardised units) so that
the loss stays bounded on data that lie exactly on a manifold (synthetic sets have no noise, and γ -> 0
makes the loss -> −∞ and the gradients blow up). With a fixed small γ the model is our β-VAE.

Stage 1 fits the manifold but not the law on it: the aggregate posterior q(z) = ∫ q(z|x) μ_gt(dx)
(Eq. 10) is not N(0, I), so decoding prior draws misplaces mass. Stage 2 (§4, step 2) is a second, small
VAE z -> u ∈ R^κ trained on draws z ~ q(z | x) of the training points, with its own learned variance γ₂;
its aggregate posterior q(u) is close to N(0, I) because there the manifold dimension equals the ambient
one (§2.1, Theorem 1). Sampling (§4, step 3): u ~ N(0, I), z = mean of p(z | u), x = f(z) (the means, as
for every model in the studio). The stages are trained one after the other, never jointly (the paper's
footnote 6: joint training does not help).

Departures: MLPs (the paper's first stage is a ResNet for images; its second stage three hidden layers of
1024 or 2048 units, here ``stage2_hidden`` = 256 for 2-3-D data); the floor on γ (above).

The random walk is the model's own: encode through both stages (x -> μ(x) -> μ₂(z)), a Gaussian step in
u, decode through both (u -> z -> x).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from vdae_core.foundation.config import param
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import ModelConfig, StandardisedModel, gaussian_parameters, gaussian_sample, kl_to_standard_normal, randn
from vdae_core.training.phases import OptimiserPhase, Phase
from vdae_core.models.networks import mlp, network


@dataclasses.dataclass(frozen=True)
class TwoStageVAEConfig(ModelConfig):
    """Hyperparameters of the two-stage VAE."""

    hidden: int = param(256, help="Width of the first stage's hidden layers.", min=8, max=4096)
    depth: int = param(2, help="Hidden layers of the first stage's encoder and decoder.", min=1, max=8)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))
    stage2_hidden: int = param(256, help="Width of the second stage's hidden layers (three, as the paper).",
                               min=8, max=4096)
    log_gamma_min: float = param(-9.0, help="Floor of log γ, the learned decoder variance (standardised units).",
                                 min=-30.0, max=5.0)
    gamma_init: float = param(0.01, help="Initial decoder variance γ of both stages (standardised units); from "
                              "γ = 1 a low-dimensional VAE collapses to its mean (KL -> 0) before γ can fall.",
                              min=1e-6, max=10.0)
    steps: int = param(2000, help="Gradient steps of the first stage.", min=1, max=200_000)
    stage2_steps: int = param(2000, help="Gradient steps of the second stage.", min=1, max=200_000)
    batch_size: int = param(256, help="Batch size.", min=8, max=16384)
    lr: float = param(1e-3, help="Learning rate (both stages).", min=1e-6, max=1.0)
    walk_noise: float = param(0.3, help="Std of the random walk's step in the second stage's latent u.", min=0.0,
                              max=10.0)

    QUICK = {"steps": 300, "stage2_steps": 300}
    ESSENTIAL = ("latent_dim", "steps", "stage2_steps", "hidden", "device")
    PAPER = {"stage2_hidden": 1024, "lr": 1e-4}
    TUNED_FILE = "two_stage_vae.json"  # latent dimension per dataset by benchmarks/sweep_latent_dims.py
    PAPER_SOURCE = ("Dai and Wipf 2019, supplement: second stage three hidden layers of 1024 units, Adam with "
                    "learning rate 1e-4 (its ResNet first stage is for images; the MLP is kept)")


def _gaussian_nll(target: torch.Tensor, mean: torch.Tensor, log_gamma: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −log N(target; mean, γ I): ‖·‖²/(2γ) + (m/2) log(2πγ). target, mean (B, m)."""
    m = target.shape[1]
    return ((target - mean).pow(2).sum(1) / (2 * log_gamma.exp())).mean() + 0.5 * m * (math.log(2 * math.pi) + log_gamma)


class _Stage2Phase(OptimiserPhase):
    """The second stage's phase: its batches are draws z ~ q(z | x) of the first stage (held fixed)."""

    def batch_terms(self, model, data, idx):
        with torch.no_grad():
            z = model.stage1_draw(data.X[idx], data.generator)
        return model.stage2_loss(z, data.generator)


@MODELS.register("two_stage_vae", help="Two-stage VAE (Dai & Wipf): a learned-variance VAE, then a VAE on its codes.")
class TwoStageVAE(StandardisedModel):
    """Stage 1: q(z|x), p(x|z) = N(f(z), γI); stage 2: q(u|z), p(z|u) = N(f₂(u), γ₂I); prior u ~ N(0, I)."""

    name = "two_stage_vae"
    title = "two-stage VAE"
    config_class = TwoStageVAEConfig
    has_elbo = True
    native_walk = True
    has_prior = True
    training_notes = ("Two phases, one after the other (Dai & Wipf 2019, §4). `stage1`: a VAE whose decoder variance γ "
                      "is learned (floored), so it fits the data manifold tightly. `stage2`: a small VAE trained on "
                      "codes drawn from stage 1's posterior, so that its own latent u is close to N(0, I). Sampling "
                      "draws u ~ N(0, I) and decodes through both stages.")

    def __init__(self, config: TwoStageVAEConfig, data_shape, latent_dim: int):
        super().__init__(config, data_shape, latent_dim)
        k, hidden = self.latent_dim, (config.hidden,) * config.depth
        self.encoder = network(config, self.data_shape, 2 * k, hidden, config.activation)
        self.decoder = network(config, (k,), self.data_dim, hidden, config.activation,
                               out_shape=self.data_shape)
        self.log_gamma = nn.Parameter(torch.full((), math.log(config.gamma_init)))
        h2 = (config.stage2_hidden,) * 3
        self.encoder2 = mlp(k, h2, 2 * k, config.activation)
        self.decoder2 = mlp(k, h2, k, config.activation)
        self.log_gamma2 = nn.Parameter(torch.full((), math.log(config.gamma_init)))
        self.walk_scale = config.walk_noise

    @property
    def sampler_description(self) -> str:
        return f"u ~ N(0, I) in R^{self.latent_dim} decoded through both stages"

    def phases(self) -> List[Phase]:
        c = self.config
        stage1 = lambda: [*self.encoder.parameters(), *self.decoder.parameters(), self.log_gamma]  # noqa: E731
        stage2 = lambda: [*self.encoder2.parameters(), *self.decoder2.parameters(), self.log_gamma2]  # noqa: E731
        return [OptimiserPhase("stage1", c.steps, stage1, self.loss, c.batch_size, c.lr),
                _Stage2Phase("stage2", c.stage2_steps, stage2, self.stage2_loss, c.batch_size, c.lr)]

    # ----------------------------------------------------------------------------------- stage 1
    def _posterior(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return gaussian_parameters(self.encoder(self.x_scale(x).reshape(-1, *self.data_shape)))

    def _log_gamma(self, p: torch.Tensor) -> torch.Tensor:
        return p.clamp(min=self.config.log_gamma_min)

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Stage 1's negative ELBO on a batch ``x`` (B, m), with its learned γ."""
        g = generator or torch.Generator().manual_seed(0)
        mu, logvar = self._posterior(x)
        z = gaussian_sample(mu, logvar, g)
        lg = self._log_gamma(self.log_gamma)
        recon = _gaussian_nll(self.x_scale(x), self.decoder(z), lg)
        kl = kl_to_standard_normal(mu, logvar)
        return {"loss": recon + kl, "recon": recon, "kl": kl, "log_gamma": lg.detach()}

    def stage1_draw(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """z ~ q(z | x) of stage 1 for points ``x`` (B, m) -> (B, κ)."""
        return gaussian_sample(*self._posterior(x), generator)

    # ----------------------------------------------------------------------------------- stage 2
    def _posterior2(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return gaussian_parameters(self.encoder2(z))

    def stage2_loss(self, z: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Stage 2's negative ELBO on stage-1 codes ``z`` (B, κ)."""
        g = generator or torch.Generator().manual_seed(0)
        mu, logvar = self._posterior2(z)
        u = gaussian_sample(mu, logvar, g)
        lg = self._log_gamma(self.log_gamma2)
        recon = _gaussian_nll(z, self.decoder2(u), lg)
        kl = kl_to_standard_normal(mu, logvar)
        return {"loss": recon + kl, "recon": recon, "kl": kl, "log_gamma": lg.detach()}

    @torch.no_grad()
    def aggregate_posteriors(self, X: np.ndarray, generator: torch.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """One draw of each stage's aggregate posterior per point of ``X`` (n, m): z ~ q(z|x) and u ~ q(u|z),
        each (n, κ). The paper's claim (§4) is that u is much closer to N(0, I) than z."""
        z = self.stage1_draw(self._t(X, self.data_dim, "points"), generator)
        u = gaussian_sample(*self._posterior2(z), generator)
        return z.cpu().numpy(), u.cpu().numpy()

    # ------------------------------------------------------------------------------- inference
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._posterior(x)[0]

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.decoder(z))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Stage 2's pushforward of N(0, I): z = decoder2(u)."""
        return self.decoder2(randn((n, self.latent_dim), generator, self.device))

    def _walk_step(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        u = self._posterior2(self._encode(x))[0]
        u = u + self.walk_scale * randn(u.shape, generator, u.device)
        return self._decode(self.decoder2(u))

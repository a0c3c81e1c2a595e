"""The VAE skeleton, written once: the β-VAE, the hyperspherical VAE, the ER-VAE and the ΔVAE differ only in
their latent space's maths.

Each of them is an encoder that gives the parameters of a posterior q(z | x) on its latent space Z, a decoder
mean f: Z -> R^m and a prior p(z), trained on the negative β-ELBO

    loss(x) = ‖f(z̃) − x̂‖² / (2σ²) + β KL(q(z | x) ‖ p(z)),   z̃ ~ q(z | x) reparameterised,

the batch mean of both terms with one draw z̃ per point. This is Dai & Wipf 2019, Eq. 2
(``shared/papers/two-stage-vae.txt``), −E_q[log p(x | z)] + KL(q(z | x) ‖ p(z)), with the Gaussian decoder
p(x | z) = N(f(z), σ² I) of a fixed variance σ² = ``recon_var`` in standardised units x̂ (the constant
(m/2) log 2πσ² is dropped) and β weighing the KL as in a β-VAE (β = 1 is the ELBO).

:class:`LatentVAE` holds the parts they share: standardisation, the encoder and decoder networks, the one
training phase and the loss above. A subclass gives its latent space's maths through these hooks:

- :meth:`LatentVAE.posterior` (x -> a tuple of the posterior's parameters) and
  :meth:`LatentVAE._n_posterior_params` (the encoder's outputs they are read from);
- :meth:`LatentVAE._sample_posterior` (the reparameterised draw) and :meth:`LatentVAE._kl`;
- optionally :meth:`LatentVAE._history_terms`, :meth:`LatentVAE._hidden`, :meth:`LatentVAE._decoder_mean`,
  :meth:`LatentVAE._build_latent_modules`, and the inference hooks ``_encode`` / ``_prior_codes``.

The order in which modules are built is kept (standardisation, encoder, any latent modules, decoder): it fixes
which draws of the seed initialise which weights, so a model's weights for a seed do not depend on this split.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import torch

from vdae_core.foundation.config import param
from vdae_core.models.base import ModelConfig, StandardisedModel
from vdae_core.training.phases import OptimiserPhase, Phase
from vdae_core.models.networks import network


@dataclasses.dataclass(frozen=True)
class LatentVAEConfig(ModelConfig):
    """Settings every VAE of the studio has: the objective, the training phase, the walk, the networks.

    The defaults and help texts are the β-VAE's; a model whose own differ re-declares the field with
    :func:`vdae_core.foundation.config.override` (the field keeps its place in the form). The depth of the networks is the
    subclass's own (one ``depth``, or the ΔVAE's ``encoder_depth`` and ``decoder_depth``).
    """

    beta: float = param(1.0, help="Weight β of the KL term (β = 1 is the plain VAE).", min=0.0, max=1000.0)
    recon_var: float = param(0.01, help="Decoder variance in standardised units (sets the reconstruction weight).",
                             min=1e-6, max=100.0)
    steps: int = param(2000, help="Gradient steps.", min=1, max=200_000)
    batch_size: int = param(256, help="Batch size.", min=8, max=16384)
    lr: float = param(1e-3, help="Learning rate.", min=1e-6, max=1.0)
    walk_noise: float = param(0.3, help="Latent noise std of the encode-perturb-decode random walk.", min=0.0,
                              max=10.0)
    hidden: int = param(256, help="Width of every hidden layer.", min=8, max=4096)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))


class LatentVAE(StandardisedModel):
    """Encoder q(z | x), decoder mean f(z), prior p(z) on the latent space; loss = reconstruction + β KL.

    Codes (``encode``) are the posterior's location, ``posterior(x)[0]``, unless a subclass says otherwise.
    Samples decode draws of the prior (``_prior_codes``; by default the latent space's own prior, uniform on a
    compact manifold). The random walk is encode-perturb-decode with noise ``walk_noise``.
    """

    config_class = LatentVAEConfig
    has_elbo = True
    has_prior = True
    #: Name of the training phase (the history's key).
    phase_name: ClassVar[str] = "vae"

    def __init__(self, config: LatentVAEConfig, data_shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        self.encoder = network(config, self.data_shape, self._n_posterior_params(), self._hidden("encoder"),
                               config.activation)
        self._build_latent_modules()
        self.decoder = network(config, (self.latent_dim,), self.data_dim, self._hidden("decoder"), config.activation,
                               out_shape=self.data_shape)
        self.walk_scale = config.walk_noise

    # -- construction hooks ---------------------------------------------------------------------
    def _n_posterior_params(self) -> int:
        """Outputs of the encoder's last layer, from which :meth:`posterior` reads q(z | x)'s parameters."""
        raise NotImplementedError

    def _hidden(self, part: str) -> Tuple[int, ...]:
        """Widths of the hidden layers of ``part`` ("encoder" or "decoder"): ``depth`` layers of ``hidden`` units."""
        return (self.config.hidden,) * self.config.depth

    def _build_latent_modules(self) -> None:
        """Modules built after the encoder and before the decoder (none by default)."""

    # -- training -------------------------------------------------------------------------------
    def vae_phase(self) -> OptimiserPhase:
        """The phase that trains every parameter on :meth:`loss` for ``steps`` steps."""
        c = self.config
        return OptimiserPhase(self.phase_name, c.steps, self.parameters, self.loss, c.batch_size, c.lr)

    def phases(self) -> List[Phase]:
        return [self.vae_phase()]

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Negative β-ELBO on a batch (Dai & Wipf 2019, Eq. 2, β on the KL): ``recon + β kl``.

        Parameters
        ----------
        x : Tensor (B, m)
            Points in data units.
        generator : torch.Generator, optional
            CPU generator of the posterior draw (seed 0 if omitted).

        Returns
        -------
        dict of scalar Tensors
            ``loss``; ``recon`` = ‖f(z̃) − x̂‖²/(2σ²) for one draw z̃ ~ q(z | x) per point (standardised units),
            batch mean; ``kl`` = batch mean of KL(q(z | x) ‖ p(z)); then :meth:`_history_terms`.
        """
        g = generator or torch.Generator().manual_seed(0)
        q = self.posterior(x)
        z = self._sample_posterior(q, g)
        recon = (self._decoder_mean(z) - self.x_scale(x)).pow(2).sum(1).mean() / (2 * self.config.recon_var)
        kl = self._kl(q)
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl, **self._history_terms(q)}

    # -- the latent space's maths ---------------------------------------------------------------
    def _encoder_output(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output on standardised points: x (B, m) in data units -> (B, :meth:`_n_posterior_params`)."""
        return self.encoder(self.x_scale(x).reshape(-1, *self.data_shape))

    def posterior(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Parameters of q(z | x) for points ``x`` (B, m), a tuple of tensors with the batch first; the first
        is the posterior's location, a code (B, *latent_space.shape)."""
        raise NotImplementedError

    def _sample_posterior(self, q: Tuple[torch.Tensor, ...], generator: torch.Generator) -> torch.Tensor:
        """One reparameterised draw of q(z | x) per point, (B, *latent_space.shape), from the parameters ``q``
        (:meth:`posterior`), differentiable in them; its noise comes from the CPU ``generator``."""
        raise NotImplementedError

    def _kl(self, q: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Batch mean of KL(q(z | x) ‖ p(z)) for the parameters ``q`` (:meth:`posterior`), a scalar."""
        raise NotImplementedError

    def _history_terms(self, q: Tuple[torch.Tensor, ...]) -> Dict[str, Any]:
        """Further scalar tensors for the training history (detached), from the parameters ``q``; none by
        default."""
        return {}

    def _decoder_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder mean f(z) in standardised units: codes (B, *latent_space.shape) -> (B, m)."""
        return self.decoder(z.flatten(1))

    # -- likelihood (models with has_likelihood) ----------------------------------------------------------
    def _likelihood_draw(self, q: Tuple[torch.Tensor, ...], generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
        """One draw per point of the variable the densities are written in, and the code decoded from it:
        ``(w, z)``, by default both the posterior draw. A model whose posterior lives on a pre-image (the
        ER-VAE's R^k) returns the pre-image point and its code."""
        z = self._sample_posterior(q, generator)
        return z, z

    def _log_posterior(self, q: Tuple[torch.Tensor, ...], w: torch.Tensor) -> torch.Tensor:
        """log q(w | x), (B,), for the parameters ``q`` and draws ``w`` of :meth:`_likelihood_draw`."""
        raise NotImplementedError

    def _log_prior(self, w: torch.Tensor) -> torch.Tensor:
        """log p(w), (B,), with respect to the measure of :meth:`_log_posterior`."""
        raise NotImplementedError

    def log_decoder_density(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) in data units with every constant: the decoder N(f(z), σ² I) on x̂ = (x − mean)/s with
        σ² = ``recon_var`` (the loss drops −(m/2) log 2πσ²), plus the standardisation's Jacobian −m log s.

        Parameters
        ----------
        z : Tensor (B, *latent_space.shape)
        x : Tensor (B, m) in data units

        Returns
        -------
        Tensor (B,)
        """
        var = self.config.recon_var
        m = self.data_dim
        sq = (self._decoder_mean(z).flatten(1) - self.x_scale(x).flatten(1)).pow(2).sum(1)
        return -0.5 * sq / var - 0.5 * m * math.log(2 * math.pi * var) - m * torch.log(self.x_scale.scale)

    def log_weights(self, x: torch.Tensor, samples: int, generator: torch.Generator
                    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log p(x | z_l), log p(z_l) and log q(z_l | x) for ``samples`` draws z_l ~ q(z | x) per point, each
        (samples, B): the terms of the importance-sampled log-likelihood (Burda et al. 2016, Eq. 8;
        :func:`vdae_core.metrics.likelihood.importance_sampled_log_likelihood`)."""
        if not self.has_likelihood:
            raise NotImplementedError(self.lacks("has_likelihood"))
        B = x.shape[0]
        q = self.posterior(x)
        rep = tuple(t.repeat(samples, *([1] * (t.dim() - 1))) for t in q)  # draw l of point b at row l·B + b
        w, z = self._likelihood_draw(rep, generator)
        xs = x.repeat(samples, *([1] * (x.dim() - 1)))
        recon = self.log_decoder_density(z, xs)
        return recon.view(samples, B), self._log_prior(w).view(samples, B), self._log_posterior(rep, w).view(samples, B)

    # -- inference ------------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self._decoder_mean(z))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.latent_space.prior_sample(n, generator, dtype=torch.float32).to(self.device)

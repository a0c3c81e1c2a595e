"""Hyperspherical VAE (S-VAE; Davidson et al. 2018): a von Mises–Fisher posterior on S^d, uniform prior.

The latent space is the unit sphere S^d ⊂ R^{d+1} (``latent_manifold_dim`` = d; d = 1 is the circle S¹
in R², the setting of the VDAE paper's circle comparison). With p = d + 1 the ambient dimension:

    q(z | x) = vMF(μ(x), κ(x)),   μ(x) = h_μ(x) / ‖h_μ(x)‖ ∈ S^d,   κ(x) = softplus(h_κ(x)) + κ_min,
    p(z)     = U(S^d),
    p(x | z) = N(f(z), σ² I)      (σ² = ``recon_var`` in standardised units, fixed),

    loss = E_q[‖f(z) − x‖²] / (2σ²) + β KL(vMF(μ, κ) ‖ U(S^d))      (the negative β-ELBO, eq. 3)

the loss of :class:`~vdae_core.models.latent_vae.LatentVAE`, which this model gives its sphere's maths
(Davidson et al. 2018: §2 for the ELBO; §3 for the vMF posterior, Wood's rejection sampler with its
reparameterisation, and the KL to the uniform prior, which depends on κ only). The additive Gaussian
constant (m/2) log 2πσ² is dropped. The vMF itself — the exact, stable KL (κ from 1e-3 to 1e5) and the
reparameterised sampler — lives in :mod:`vdae_core.models.vmf`.

Architecture (default): one hidden layer of 500 ReLU units for the encoder and the decoder, the VDAE
paper's setting for every model on the synthetic sets (ECCV version, Appendix A.6). The encoder's last
layer has d + 2 outputs: d + 1 for the direction μ, one for κ.

Departures from Davidson et al. (2018), stated once here:

- κ_min: κ = softplus(h) + κ_min with κ_min = 1 by default (the authors' PyTorch example adds 1 as well,
  "to prevent collapsing behaviors"). κ is also capped at ``kappa_max`` (1e5, the top of the range where
  the vMF module's accuracy is checked), so a saturating encoder cannot leave that range; in the default
  circle runs κ ends near 40 and the cap never binds.
- Gradient through the sampler: the g_cor correction term is dropped (as in the paper's own code); see
  :meth:`vdae_core.models.vmf.VonMisesFisher.rsample`.
- Gaussian decoder with a fixed variance in standardised units, as our β-VAE, so that the two baselines
  weigh reconstruction alike (the paper's MNIST experiments use a Bernoulli decoder); β weights the KL as
  in a β-VAE (β = 1 is the paper's ELBO).
- Architecture and training length follow this project's synthetic-set setting (above), not the paper's
  MNIST networks.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from vdae_core.foundation.config import override, param
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.models.latent_vae import LatentVAE, LatentVAEConfig
from vdae_core.models.vmf import VonMisesFisher, _log_sphere_volume


@dataclasses.dataclass(frozen=True)
class SVAEConfig(LatentVAEConfig):
    """Hyperparameters of the hyperspherical VAE.

    ``latent_dim`` (inherited) is not used: the latent space is S^d with d = ``latent_manifold_dim``, whose
    codes have d + 1 coordinates; a ``latent_dim`` other than 0 or d + 1 is refused.
    """

    beta: float = override(LatentVAEConfig, "beta",
                           help="Weight β of the KL term to the uniform prior (β = 1 is the plain ELBO).")
    walk_noise: float = override(LatentVAEConfig, "walk_noise",
                                 help="Ambient noise std of the encode-perturb-decode walk on the sphere.")
    hidden: int = override(LatentVAEConfig, "hidden", 500)
    depth: int = param(1, help="Hidden layers of encoder and decoder.", min=1, max=8)
    latent_manifold_dim: int = param(1, help="Dimension d of the latent sphere S^d ⊂ R^(d+1) (1: the circle).",
                                     min=1, max=64)
    kappa_min: float = param(1.0, help="Smallest concentration: κ = softplus(h) + kappa_min.", min=1e-3, max=100.0)
    kappa_max: float = param(1e5, help="Largest concentration (κ is capped here; the vMF is exact up to 1e5).",
                             min=10.0, max=1e5, advanced=True)

    QUICK = {"steps": 300}
    ESSENTIAL = ("latent_manifold_dim", "beta", "steps", "hidden", "device")
    PAPER = {"hidden": 512, "depth": 1, "activation": "tanh", "latent_manifold_dim": 1}
    TUNED_FILE = "svae.json"  # S¹ or S² per dataset by benchmarks/sweep_latent_dims.py
    PAPER_SOURCE = ("VDAE paper §6.1, its hyperspherical-VAE baseline: latent dimension D = 2 (S¹ ⊂ R²), one hidden "
                    "layer of 512 tanh units")

    def validate(self) -> None:
        super().validate()
        if self.latent_dim not in (0, self.latent_manifold_dim + 1):
            raise UserInputError(
                f"the SVAE's latent space is set by latent_manifold_dim (S^{self.latent_manifold_dim} has "
                f"{self.latent_manifold_dim + 1} coordinates); leave latent_dim at 0, got {self.latent_dim}")
        if self.kappa_max <= self.kappa_min:
            raise UserInputError(f"kappa_max={self.kappa_max} must exceed kappa_min={self.kappa_min}")


@MODELS.register("svae", help="Hyperspherical VAE: von Mises–Fisher posterior, uniform prior on S^d (baseline).")
class SVAE(LatentVAE):
    """Encoder q(z|x) = vMF(μ(x), κ(x)) on S^d, decoder mean f(z), uniform prior U(S^d).

    Codes (``encode``) are the posterior's mean directions μ(x), points of S^d of shape (n, d + 1). Its random
    walk is encode-perturb-decode on the sphere: x -> f(P(μ(x) + walk_noise ε)), P the projection onto S^d.
    """

    name = "svae"
    title = "SVAE"
    config_class = SVAEConfig
    phase_name = "svae"
    training_notes = ("One phase: the encoder gives a von Mises–Fisher posterior vMF(μ(x), κ(x)) on the sphere "
                      "S^d; a reparameterised sample (Wood's rejection sampler) is decoded, and the loss is the "
                      "reconstruction error plus β·KL(vMF ‖ uniform on S^d), computed exactly. The latent sphere's "
                      "dimension is `latent_manifold_dim` (1: a circle).")

    @classmethod
    def make_latent_space(cls, config: SVAEConfig, latent_dim: int):
        """S^d with d = ``config.latent_manifold_dim`` (``latent_dim`` is ignored)."""
        from vdae_core.geometry.manifolds import MANIFOLDS

        return MANIFOLDS.get("sphere")(dim=config.latent_manifold_dim)

    @classmethod
    def latent_dim_for(cls, config: SVAEConfig, suggested: int, n: int) -> int:
        """0: the latent space is set by the config, not by the dataset."""
        return 0

    def _n_posterior_params(self) -> int:
        """d + 2: d + 1 for the direction μ, one for κ."""
        return self.latent_dim + 1

    def posterior(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Parameters of q(z | x).

        Parameters
        ----------
        x : Tensor (B, m)
            Points in data units.

        Returns
        -------
        mu : Tensor (B, d + 1)
            Mean directions, unit vectors.
        kappa : Tensor (B, 1)
            Concentrations in [kappa_min, kappa_max].
        """
        h = self._encoder_output(x)
        direction, raw = h[:, :-1], h[:, -1:]
        # Normalise with a floor on the norm: an all-zero direction stays finite (its gradient is then 0).
        mu = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
        kappa = (F.softplus(raw) + self.config.kappa_min).clamp(max=self.config.kappa_max)
        return mu, kappa

    def _sample_posterior(self, q, generator: torch.Generator) -> torch.Tensor:
        """z ~ vMF(μ, κ) by Wood's sampler with its reparameterisation (Davidson et al. 2018, §3), (B, d + 1)."""
        return VonMisesFisher(*q, validate_args=False).rsample(generator=generator)

    def _kl(self, q) -> torch.Tensor:
        """Batch mean of KL(vMF(μ, κ) ‖ U(S^d)), exact; it depends on κ only (Davidson et al. 2018, §3)."""
        return VonMisesFisher(*q, validate_args=False).kl_to_uniform().mean()

    has_likelihood = True

    def _log_posterior(self, q, z: torch.Tensor) -> torch.Tensor:
        """log vMF(z; μ, κ) w.r.t. the surface measure of S^d, (B,)."""
        return VonMisesFisher(*q, validate_args=False).log_prob(z)

    def _log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log of the uniform density on S^d, −log Vol(S^d), (B,)."""
        return torch.full(z.shape[:1], -_log_sphere_volume(z.shape[1]), dtype=z.dtype, device=z.device)

    def _history_terms(self, q) -> Dict[str, torch.Tensor]:
        """``kappa``: the batch mean of κ."""
        return {"kappa": q[1].detach().mean()}

"""Hyperspherical VAE (S-VAE; Davidson et al. 2018): a von Mises–Fisher posterior on S^d, uniform prior.

The latent space is the unit sphere S^d ⊂ R^{d+1} (``latent_manifold_dim`` = d; d = 1 is the circle S¹
in R², the setting of the VDAE paper's circle comparison). With p = d + 1 the ambient dimension:

    q(z | x) = vMF(μ(x), κ(x)),   μ(x) = h_μ(x) / ‖h_μ(x)‖ ∈ S^d,   κ(x) = softplus(h_κ(x)) + κ_min,
    p(z)     = U(S^d),
    p(x | z) = N(f(z), σ² I)      (σ² = ``recon_var`` in standardised units, fixed),

    loss = E_q[‖f(z) − x‖²] / (2σ²) + β KL(vMF(μ, κ) ‖ U(S^d))

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
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from vdae_core.foundation.config import param
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import GenerativeModel, ModelConfig
from vdae_core.training.phases import OptimiserPhase, Phase
from vdae_core.models.networks import Standardise, network
from vdae_core.models.vmf import VonMisesFisher


@dataclasses.dataclass(frozen=True)
class SVAEConfig(ModelConfig):
    """Hyperparameters of the hyperspherical VAE.

    ``latent_dim`` (inherited) is not used: the latent space is S^d with d = ``latent_manifold_dim``, whose
    codes have d + 1 coordinates; a ``latent_dim`` other than 0 or d + 1 is refused.
    """

    latent_manifold_dim: int = param(1, help="Dimension d of the latent sphere S^d ⊂ R^(d+1) (1: the circle).",
                                     min=1, max=64)
    beta: float = param(1.0, help="Weight β of the KL term to the uniform prior (β = 1 is the plain ELBO).",
                        min=0.0, max=1000.0)
    hidden: int = param(500, help="Width of every hidden layer.", min=8, max=4096)
    depth: int = param(1, help="Hidden layers of encoder and decoder.", min=1, max=8)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))
    recon_var: float = param(0.01, help="Decoder variance in standardised units (sets the reconstruction weight).",
                             min=1e-6, max=100.0)
    kappa_min: float = param(1.0, help="Smallest concentration: κ = softplus(h) + kappa_min.", min=1e-3, max=100.0)
    kappa_max: float = param(1e5, help="Largest concentration (κ is capped here; the vMF is exact up to 1e5).",
                             min=10.0, max=1e5, advanced=True)
    steps: int = param(2000, help="Gradient steps.", min=1, max=200_000)
    batch_size: int = param(256, help="Batch size.", min=8, max=16384)
    lr: float = param(1e-3, help="Learning rate.", min=1e-6, max=1.0)
    walk_noise: float = param(0.3, help="Ambient noise std of the encode-perturb-decode walk on the sphere.",
                              min=0.0, max=10.0)

    QUICK = {"steps": 300}
    PAPER = {"hidden": 512, "depth": 1, "activation": "tanh", "latent_manifold_dim": 1}
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
class SVAE(GenerativeModel):
    """Encoder q(z|x) = vMF(μ(x), κ(x)) on S^d, decoder mean f(z), uniform prior U(S^d).

    Codes (``encode``) are the posterior's mean directions μ(x), points of S^d of shape (n, d + 1). Its random
    walk is encode-perturb-decode on the sphere: x -> f(P(μ(x) + walk_noise ε)), P the projection onto S^d.
    """

    name = "svae"
    title = "SVAE"
    config_class = SVAEConfig
    has_elbo = True
    has_prior = True
    training_notes = ("One phase: the encoder gives a von Mises–Fisher posterior vMF(μ(x), κ(x)) on the sphere "
                      "S^d; a reparameterised sample (Wood's rejection sampler) is decoded, and the loss is the "
                      "reconstruction error plus β·KL(vMF ‖ uniform on S^d), computed exactly. The latent sphere's "
                      "dimension is `latent_manifold_dim` (1: a circle).")

    def __init__(self, config: SVAEConfig, data_shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        hidden = (config.hidden,) * config.depth
        p = self.latent_dim                      # ambient dimension d + 1
        self.x_scale = Standardise(self.data_dim)
        self.encoder = network(config, self.data_shape, p + 1, hidden, config.activation)
        self.decoder = network(config, (p,), self.data_dim, hidden, config.activation,
                               out_shape=self.data_shape)
        self.walk_scale = config.walk_noise

    @classmethod
    def make_latent_space(cls, config: SVAEConfig, latent_dim: int):
        """S^d with d = ``config.latent_manifold_dim`` (``latent_dim`` is ignored)."""
        from vdae_core.geometry.manifolds import MANIFOLDS

        return MANIFOLDS.get("sphere")(dim=config.latent_manifold_dim)

    @classmethod
    def latent_dim_for(cls, config: SVAEConfig, suggested: int, n: int) -> int:
        """0: the latent space is set by the config, not by the dataset."""
        return 0

    def prepare(self, X: np.ndarray) -> None:
        self.x_scale.fit(torch.as_tensor(X))

    def phases(self) -> List[Phase]:
        c = self.config
        return [OptimiserPhase("svae", c.steps, self.parameters, self.loss, c.batch_size, c.lr)]

    def posterior(self, x: torch.Tensor):
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
        h = self.encoder(self.x_scale(x).reshape(-1, *self.data_shape))
        direction, raw = h[:, :-1], h[:, -1:]
        # Normalise with a floor on the norm: an all-zero direction stays finite (its gradient is then 0).
        mu = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
        kappa = (F.softplus(raw) + self.config.kappa_min).clamp(max=self.config.kappa_max)
        return mu, kappa

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Negative β-ELBO on a batch (Davidson et al. 2018, eq. 3): ``recon + β kl``.

        Parameters
        ----------
        x : Tensor (B, m)
        generator : torch.Generator, optional
            CPU generator of the vMF sample (seed 0 if omitted).

        Returns
        -------
        dict of scalar Tensors
            ``loss``; ``recon`` = E‖f(z) − x‖²/(2σ²) (one sample, standardised units); ``kl`` = mean
            KL(vMF(μ, κ) ‖ U(S^d)); ``kappa`` = mean κ (detached, for the history).
        """
        g = generator or torch.Generator().manual_seed(0)
        mu, kappa = self.posterior(x)
        q = VonMisesFisher(mu, kappa, validate_args=False)
        z = q.rsample(generator=g)                                                     # (B, d + 1)
        recon = (self.decoder(z) - self.x_scale(x)).pow(2).sum(1).mean() / (2 * self.config.recon_var)
        kl = q.kl_to_uniform().mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl, "kappa": kappa.detach().mean()}

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.decoder(z.reshape(len(z), -1)))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.latent_space.prior_sample(n, generator, dtype=torch.float32).to(self.device)

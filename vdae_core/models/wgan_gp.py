"""WGAN-GP: a Wasserstein GAN whose critic is kept 1-Lipschitz by a gradient penalty.

Reference: Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville, "Improved Training of Wasserstein GANs"
(NeurIPS 2017), Algorithm 1, the comparison model of the VDAE paper (ECCV version §6, Table 1, "WGAN").
The critic D and the generator G minimise

    L_D = E[D(G(u))] − E[D(x)] + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²],   x̂ = ε x + (1 − ε) G(u), ε ~ U[0, 1]   (Alg. 1, l. 7)
    L_G = −E[D(G(u))]                                                                               (Alg. 1, l. 11)

with ``n_critic`` critic steps per generator step and Adam(α = 1e-4, β₁ = 0, β₂ = 0.9) (Alg. 1). The
penalty weight is λ = 0.1, the authors' setting for low-dimensional toy data in their released code
(``gan_toy.py``: "smaller lambda ... for toy tasks"), not Algorithm 1's λ = 10, which is theirs for images
and is the "paper" preset here: with λ = 10 and one hidden layer the GAN oscillates on these sets and never
puts a sample within the circle's 5-nearest-neighbour balls in 10,000 steps (precision ≤ 0.02), where
λ = 0.1 reaches precision 0.52 and coverage 0.55 in 3,000 (docs/BENCHMARKS.md, "WGAN-GP training length"). The penalty is two-sided (the gradient norm is pulled towards 1 from both
sides), as in the paper. D(real) − D(fake) on a batch is the critic's estimate of the Wasserstein-1
distance, recorded in the history as ``wasserstein``.

Sizes: one hidden layer of 500 ReLU units for generator and critic (VDAE paper, Appendix A.6, for the
synthetic sets). The noise u is Gaussian N(0, I) or uniform on [−1, 1]^D (``noise``); D defaults to the
dataset's suggested latent dimension. Data are standardised (one scalar scale) as for every model.

It has no encoder. Its "latent" is the noise space; its random walk perturbs the noise: a point x is
first matched to the noise u* of its nearest generated point among a fixed pool (``walk_pool`` draws
of seed 0), then x' = G(u* + walk_noise ε). Its bi-Lipschitz constant is measured on the generator over
noise-space neighbours (:meth:`WGANGP.latent_pairs`), as the VDAE paper does for its GAN.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.config import param
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import ModelConfig, StandardisedModel, randn
from vdae_core.training.phases import Phase, adam
from vdae_core.models.stacked import StackedMLP
from vdae_core.models.networks import network, value_and_input_gradient


@dataclasses.dataclass(frozen=True)
class WGANGPConfig(ModelConfig):
    """Hyperparameters of the WGAN-GP (defaults: Gulrajani et al. Alg. 1; VDAE paper Appendix A.6 sizes)."""

    hidden: int = param(500, help="Width of every hidden layer of generator and critic.", min=8, max=4096)
    depth: int = param(1, help="Hidden layers of generator and critic.", min=1, max=8)
    activation: str = param("relu", help="Activation.", choices=("relu", "tanh", "silu", "softplus"))
    noise: str = param("gaussian", help="Law of the generator's input noise u.", choices=("gaussian", "uniform"))
    n_critic: int = param(5, help="Critic steps per generator step.", min=1, max=50)
    gp_weight: float = param(0.1, help="Weight λ of the gradient penalty (0.1: the authors' toy-data setting; "
                                       "10: Algorithm 1's, for images).", min=0.0, max=1000.0)
    steps: int = param(3000, help="Generator steps (each after n_critic critic steps).", min=1, max=200_000)
    batch_size: int = param(256, help="Batch size (real and generated points per step).", min=8, max=16384)
    lr: float = param(1e-4, help="Adam learning rate of both networks.", min=1e-6, max=1.0)
    beta1: float = param(0.0, help="Adam β₁ of both networks (the paper's 0).", min=0.0, max=0.999)
    walk_noise: float = param(0.3, help="Std of the noise-space step of the random walk.", min=0.0, max=10.0)
    walk_pool: int = param(4096, help="Noise draws the walk matches a data point against (nearest generated point).",
                           min=16, max=200_000, advanced=True)

    QUICK = {"steps": 400}
    ESSENTIAL = ("latent_dim", "steps", "n_critic", "hidden", "device")
    PAPER = {"gp_weight": 10.0}
    PAPER_SOURCE = ("Gulrajani et al. 2017, Algorithm 1: λ = 10 (the defaults already follow it for n_critic = 5, "
                    "Adam 1e-4, β = (0, 0.9); and the VDAE paper's Appendix A.6 for one hidden layer of 500 ReLU "
                    "units); the default λ = 0.1 is the same authors' setting for toy data in their code")
    TUNED_FILE = "wgan_gp.json"  # generator steps per dataset by benchmarks/sweep_wgan_steps.py


class WGANPhase(Phase):
    """Alternating critic and generator updates (Gulrajani et al. Alg. 1); one ``step`` is one generator update."""

    name = "wgan_gp"

    def __init__(self, steps: int):
        super().__init__(steps)

    def start(self, model, data):
        c = model.config
        betas = (c.beta1, 0.9)
        self.opt_d = adam(model.critic.parameters(), c.lr, betas=betas)
        self.opt_g = adam(model.generator.parameters(), c.lr, betas=betas)

    def step(self, model, data, i):
        c, g = model.config, data.generator
        for _ in range(c.n_critic):
            x = model.x_scale(data.X[data.batch_indices(c.batch_size).to(data.device)])
            with torch.no_grad():
                fake = model.generator(model.noise(len(x), g))
            terms = model.critic_terms(x, fake, g)
            self.opt_d.zero_grad(set_to_none=True)
            terms["loss"].backward()
            self.opt_d.step()
        fake = model.generator(model.noise(c.batch_size, g))
        gen_loss = -model.critic(fake).mean()
        self.opt_g.zero_grad(set_to_none=True)
        gen_loss.backward()
        self.opt_g.step()
        return {"loss": float(terms["loss"].detach()), "wasserstein": float(terms["wasserstein"].detach()),
                "gp": float(terms["gp"].detach()), "gen_loss": float(gen_loss.detach())}

    def stack(self, trainers):
        """The K seeds' phase as one stacked step when generator and critic are MLPs (None: convolutional)."""
        G = StackedMLP.of([t.model.generator for t in trainers])
        D = StackedMLP.of([t.model.critic for t in trainers])
        if G is None or D is None or D.layers[-1][1].shape[1] != 1:
            return None
        return _StackedWGAN(trainers, G, D)


class _StackedWGAN:
    """K seeds' WGAN-GP steps as one (issue 35): :class:`WGANPhase.step` with a leading seed dimension, each seed's
    batches, noise and penalty mixing drawn from its own generator in the single-seed order."""

    def __init__(self, trainers, generator: StackedMLP, critic: StackedMLP):
        self.trainers, self.G, self.D = list(trainers), generator, critic
        self.models = [t.model for t in self.trainers]
        c = self.c = self.models[0].config
        self.opt_d = adam(critic.parameters(), c.lr, betas=(c.beta1, 0.9))
        self.opt_g = adam(generator.parameters(), c.lr, betas=(c.beta1, 0.9))
        self.mean = torch.stack([m.x_scale.mean for m in self.models]).unsqueeze(1)  # (K, 1, m)
        self.scale = torch.stack([m.x_scale.scale for m in self.models]).view(-1, 1, 1)  # (K, 1, 1)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.stack([m.noise(n, t.data.generator) for m, t in zip(self.models, self.trainers)])

    def step(self, i):
        c = self.c
        for _ in range(c.n_critic):
            xs, us, eps = [], [], []
            for m, t in zip(self.models, self.trainers):  # the order WGANPhase.step and critic_terms draw in
                d = t.data
                xs.append(d.X[d.batch_indices(c.batch_size).to(d.device)])
                us.append(m.noise(len(xs[-1]), d.generator))
                eps.append(torch.rand((len(xs[-1]), 1), generator=d.generator).to(d.device))
            x = (torch.stack(xs) - self.mean) / self.scale
            with torch.no_grad():
                fake = self.G(torch.stack(us))
            e = torch.stack(eps)
            _, grad = self.D.value_and_input_gradient((e * x + (1 - e) * fake).detach())
            w = self.D(x).mean((1, 2)) - self.D(fake).mean((1, 2))
            gp = (grad.norm(dim=2) - 1).pow(2).mean(1)
            loss = -w + c.gp_weight * gp  # (K,)
            self.opt_d.zero_grad(set_to_none=True)
            loss.sum().backward()  # the seeds share no weight: slice k of each gradient is seed k's
            self.opt_d.step()
        gen_loss = -self.D(self.G(self._noise(c.batch_size))).mean((1, 2))
        self.opt_g.zero_grad(set_to_none=True)
        gen_loss.sum().backward()
        self.opt_g.step()
        terms = {"loss": loss, "wasserstein": w, "gp": gp, "gen_loss": gen_loss}
        values = {k: v.detach().cpu().tolist() for k, v in terms.items()}
        return [{k: values[k][j] for k in terms} for j in range(len(self.models))]

    def write_back(self, keep):
        self.G.write_back([m.generator for m in self.models], keep)
        self.D.write_back([m.critic for m in self.models], keep)


@MODELS.register("wgan_gp", help="WGAN-GP: generator and critic with a gradient penalty (baseline, no encoder).")
class WGANGP(StandardisedModel):
    """Generator G: noise (B, D) -> data (B, m); critic D: data -> R. No encoder."""

    name = "wgan_gp"
    title = "WGAN-GP"
    config_class = WGANGPConfig
    has_encoder = False
    has_prior = True
    has_decoder = True
    seed_batch = True  # its phase stacks K seeds (WGANPhase.stack) on MLP networks
    training_notes = ("One phase, alternating: `n_critic` critic updates (Wasserstein estimate plus gradient "
                      "penalty λ(‖∇D‖ − 1)² on points between real and generated ones), then one generator update "
                      "(Gulrajani et al. 2017, Algorithm 1). The history's `wasserstein` is the critic's estimate of "
                      "the Wasserstein-1 distance between data and samples. No encoder: the Latent page shows the "
                      "noise space, walks perturb the noise, bi-Lipschitz is measured on the generator.")

    def __init__(self, config: WGANGPConfig, data_shape, latent_dim: int):
        super().__init__(config, data_shape, latent_dim)
        hidden = (config.hidden,) * config.depth
        self.generator = network(config, (self.latent_dim,), self.data_dim, hidden, config.activation,
                                 out_shape=self.data_shape)
        self.critic = network(config, self.data_shape, 1, hidden, config.activation)
        self.walk_scale = config.walk_noise

    @property
    def sampler_description(self) -> str:
        law = "N(0, I)" if self.config.noise == "gaussian" else "U[−1, 1]^D"
        return f"generator applied to {law} noise in R^{self.latent_dim}"

    def phases(self) -> List[Phase]:
        return [WGANPhase(self.config.steps)]

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` draws of the generator's input law, (n, D), drawn on the CPU generator."""
        if self.config.noise == "uniform":
            return (2 * torch.rand((n, self.latent_dim), generator=generator) - 1).to(self.device)
        return randn((n, self.latent_dim), generator, self.device)

    def critic_terms(self, x: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> Dict[str, torch.Tensor]:
        """Critic loss on standardised real ``x`` (B, m) and generated ``fake`` (B', m) (Alg. 1, line 7)."""
        n = min(len(x), len(fake))
        eps = torch.rand((n, 1), generator=generator).to(x.device)
        mix = (eps * x[:n] + (1 - eps) * fake[:n]).detach()  # the penalty trains the critic only
        explicit = value_and_input_gradient(self.critic, mix)
        if explicit is not None:
            # The penalty's input gradient as an explicit expression (networks.value_and_input_gradient):
            # no double backward.
            grad = explicit[1]
        else:
            training = torch.is_grad_enabled()  # the penalty is differentiated only when training
            with torch.enable_grad():
                mix = mix.requires_grad_(True)
                grad, = torch.autograd.grad(self.critic(mix).sum(), mix, create_graph=training)
        w = self.critic(x).mean() - self.critic(fake).mean()
        gp = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
        return {"loss": -w + self.config.gp_weight * gp, "wasserstein": w, "gp": gp}

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """The critic's loss and Wasserstein estimate on a batch ``x`` (B, m) against as many generated points."""
        g = generator or torch.Generator().manual_seed(0)
        xs = self.x_scale(x)
        return self.critic_terms(xs, self.generator(self.noise(len(xs), g)), g)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.generator(z.reshape(len(z), -1)))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.noise(n, generator)

    def latent_pairs(self, X: np.ndarray, n: int, generator: torch.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """(noise (n, D), generated points (n, m)): the generator's own pairs, for bi-Lipschitz on noise-space
        neighbours (there are no codes of data points)."""
        with torch.no_grad():
            u = self.noise(int(n), generator)
            return u.cpu().numpy(), self._decode(u).cpu().numpy()

    def _walk_step(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # Match x to the noise of its nearest generated point in a fixed pool, then step in noise space.
        pool = self.noise(self.config.walk_pool, torch.Generator().manual_seed(0))
        gen = self._decode(pool)
        nearest = torch.cdist(x, gen).argmin(dim=1)
        u = pool[nearest] + self.walk_scale * randn((len(x), self.latent_dim), generator, self.device)
        if self.config.noise == "uniform":
            u = u.clamp(-1, 1)
        return self._decode(u)

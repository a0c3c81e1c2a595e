"""ΔVAE (Pérez Rey, Menkovski & Portegies, "Diffusion variational autoencoders", 2019): a VAE whose latent
space is a closed Riemannian manifold Z, with Brownian-motion posteriors and a uniform prior.

The latent space (``latent_manifold``) is one of the :data:`~vdae_core.geometry.manifolds.MANIFOLDS`:
the sphere S^d (d = ``latent_manifold_dim``; d = 1 is the circle), the flat torus S¹×S¹ ⊂ R⁴, the torus of
revolution in R³ (radii R = 2, r = 0.7, those of the ``torus`` dataset), SO(3) ⊂ R^{3×3} (Frobenius metric)
or the projective space RP^d (d = ``latent_manifold_dim``). With P the manifold's closest-point projection
(§3.2) and m = the data dimension:

    z(x) = P(h_z(x)) ∈ Z,   t(x) = t_min + (t_max − t_min) (tanh h_t(x) + 1) / 2            (§3.3, §4)
    q(z | x) = Q_Z^{t(x), z(x)}, the law of Brownian motion (generator ½Δ) from z(x) at time t(x)
    p(z) = uniform on Z (normalised Riemannian volume, §3.3),   p(x | z) = N(f(z), σ² I)
    loss = E_q ‖f(z) − x‖² / (2σ²) + β KL(Q_Z^{t(x), z(x)} ‖ p)                               (§3.4)

(σ² = ``recon_var`` in standardised units; the additive constant (m/2) log 2πσ² is dropped, as in our β-VAE.)

- Reparameterisation (§3.6): the random walk z_{k+1} = P(z_k + sqrt(t/N) ε_k), k < N = ``walk_steps``,
  :meth:`Manifold.random_walk`, differentiable in z(x) and t(x).
- KL (§3.7): the small-time asymptotic −(d/2) log(2πt) − d/2 + log Vol(Z) + c Sc(z) t,
  :meth:`Manifold.heat_kernel_kl` with ``coefficient="parametrix"``, i.e. c = 1/4. The paper gives
  c = (d + 4)/24, derived for S² and conjectured for every d; the two agree for d = 2 only. The parametrix
  expansion gives 1/4 for every d, and the exact heat kernel on S³ agrees with 1/4 and not with 7/24
  (tests/test_manifolds.py::test_heat_kernel_kl_on_s3_has_curvature_coefficient_one_quarter; on SO(3)
  likewise, against its character expansion: tests/test_delta_vae.py). The scalar curvature is taken at
  z(x) (it varies on the embedded torus).
- The manifold classes carry closed-form volumes and keep every constant term: the published ΔVAE code
  has wrong torus volumes and drops constant terms of the KL; here log Vol(Z) is the Riemannian volume
  of the induced metric, tested against closed forms.

Architecture (§4): multi-layer perceptrons with three hidden layers for the encoder and two for the
decoder. The encoder's layers are shared by z and t except the last linear layer, which has
``ambient_dim + 1`` outputs: the ambient point h_z (projected by P) and the tanh pre-activation h_t.
The paper gives no widths; the default is 500 ReLU units per hidden layer, the VDAE paper's width for
every model on the synthetic sets (its published code used 512).

Diffusion time bounds. The asymptotic KL has an O(t²) error, so t must stay small relative to the
curvature scale: for the curved unit-size spaces (S^d with d >= 2, RP^d, the torus of radii (2, 0.7) whose
|Gaussian curvature| is at most 1/(r (R − r)) = 1.1) t_max = 0.05, where the error on S² is 3.6e-5. On the
flat ones (the flat torus and the circle S¹, Sc = 0) the formula is exact up to the wrapping of the Gaussian
round the circles, an error of 2.6e-5 per circle at t = 0.5: there t_max = 0.5.
SO(3) with the Frobenius metric has sectional curvature 1/8; there t_max = 0.2, where the formula is within
5.2e-5 of the exact KL (character expansion of the heat kernel), the accuracy of S² at 0.05; with the
paper's coefficient 7/24 it would be off by 6.3e-3. ``t_max = 0`` (the default) picks these values. With
the default ``recon_var`` the learnt t sits near recon_var / (decoder stretch)², about 0.01-0.025 on the
synthetic sets, well inside the bounds.

Projective spaces (§4.1): RP^d is stored as S^d with antipodes identified and the decoder is made even,
f_even(z) = ½ (f(z) + f(−z)) (the published code's average; the paper's f(z) + f(−z) up to a factor
absorbed by f), so it is a function on RP^d. Decoding f at a canonical representative instead would be
discontinuous on the equator. SO(3) codes are 3×3 rotation matrices; the decoder reads their 9 entries.

Training: topology is decided in the first steps. The encoder z = P(h(x)) is continuous, so the degree of
the code map (how often the codes wind round each circle of the latent space as the data goes once round
its own) cannot change once the codes spread, except by h passing through the projection's singular set
(the origin of a circle factor). Gradient descent from a random encoder often freezes a degree of 0 or 2
on the flat torus (a folded or checkerboard code), a dead end whose loss stays far above the homeomorphic
code's (8.2-9.9 against 5.8-5.9 after 120 steps on the flat_torus dataset). So ``restarts`` initialisations
train ``restart_steps`` steps each (:class:`RestartPhase`) and the one with the lowest loss, the negative
ELBO itself, is trained on (a departure from the paper). Half of single initialisations reach a homeomorphic
flat-torus code (10 of 20 seeds at the default width, 120 steps; which ones depends on the first batches and
walk noise as much as on the weights), so eight fail together with probability about 1/256. (Centring the
encoder's initial output on the data, so that the first codes spread over Z, did not help: 9 of 30 seeds.)

With one diffusion time for both circles, the ELBO did not pick the angles of the torus of revolution
(radii 2 and 0.7) on the square flat torus: the homeomorphic code stretches the tube direction 3.2 times more
than the other, which an isotropic posterior pays for, and a non-homeomorphic, more conformal code (an
annulus-like chart with a tear on the sparse inner equator) scored a lower loss (5.686 against 5.713; angle
correlations 0.40 / 0.02 on seed 0, 0.03 / 0.03 on seed 1). One time per circle (``time_per_factor``, below)
removes that price. The restart choice must also wait until the codes have settled: on the torus of revolution
the tube angle settles at steps 200-400, and at step 100 a homeomorphic code and a dead end score alike
(7.9-9.0); at step 300 they separate (5.27-5.32 against 5.99-8.77; n = 3,000, seed 0, eight initialisations,
four of them homeomorphic). With 100 restart steps every choice on that seed was a dead end (angles 0.010 /
0.007). So ``restart_steps`` = 0 takes the latent manifold's ``settle_steps``: 300 on the flat torus, 100
elsewhere. Both angles are then recovered on seeds 0-2 at n = 2,000 and 3,000 (minimum circular
correlation 0.956-0.963), at 1.12× the VDAE's training time on the torus.

Departures from the paper: coefficient 1/4 of the curvature term (above); the linear tanh map of t between
``t_min`` and ``t_max`` (the published code maps log t with tanh); a Gaussian decoder of fixed variance
in standardised units; β weights the KL as in a β-VAE (β = 1 is the ELBO); SO(3) is trained directly with
its SVD projection (the paper trained RP³ instead and reported only that); the restarts (above); on the
flat torus one diffusion time per circle (``time_per_factor``): S¹ × S¹'s heat kernel is the product of the
circles', so Brownian motion for times (t₁, t₂) is still the exact posterior family and the KL is the sum of
the two circles' KLs; an isotropic t instead makes a code that stretches one circle more than the other pay
for it, which is what the torus of revolution needs (next paragraph of the measurements in docs/BENCHMARKS.md).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Tuple

import torch

from vdae_core.foundation.config import override, param
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.training.phases import OptimiserPhase, Phase
from vdae_core.models.base import seeded_init
from vdae_core.models.latent_vae import LatentVAE, LatentVAEConfig

#: Latent spaces a ΔVAE can use, and whether ``latent_manifold_dim`` sets their dimension.
LATENT_MANIFOLDS: Dict[str, bool] = {"sphere": True, "flat_torus": False, "torus": False, "so3": False,
                                     "projective": True}



def latent_manifold(kind: str, dim: int):
    """The latent space named by a ΔVAE config: ``MANIFOLDS.get(kind)`` built with ``dim`` where it has one."""
    from vdae_core.geometry.manifolds import MANIFOLDS

    if kind not in LATENT_MANIFOLDS:
        raise UserInputError(f"latent_manifold={kind!r} is not one of {list(LATENT_MANIFOLDS)}")
    cls = MANIFOLDS.get(kind)
    return cls(dim=int(dim)) if LATENT_MANIFOLDS[kind] else cls()


@dataclasses.dataclass(frozen=True)
class DeltaVAEConfig(LatentVAEConfig):
    """Hyperparameters of the ΔVAE.

    ``latent_dim`` (inherited) is not used: the latent space is set by ``latent_manifold`` (and
    ``latent_manifold_dim`` for spheres and projective spaces); a ``latent_dim`` other than 0 or the number
    of ambient coordinates of that space is refused.
    """

    beta: float = override(LatentVAEConfig, "beta",
                           help="Weight β of the KL term to the uniform prior (β = 1 is the plain ELBO).")
    steps: int = override(LatentVAEConfig, "steps", 1500, help="Gradient steps of the chosen initialisation.")
    walk_noise: float = override(LatentVAEConfig, "walk_noise", 0.2,
                                 help="Ambient noise std of the encode-perturb-decode walk on the latent manifold.")
    hidden: int = override(LatentVAEConfig, "hidden", 500,
                           help="Width of every hidden layer of the encoder and the decoder.")
    encoder_depth: int = param(3, help="Hidden layers of the encoder (shared by the point z and the time t).",
                               min=1, max=8)
    decoder_depth: int = param(2, help="Hidden layers of the decoder.", min=1, max=8)
    latent_manifold: str = param("sphere", help="Latent manifold Z: sphere S^d, flat torus, torus of revolution in "
                                 "R³, rotation group SO(3) or projective space RP^d.",
                                 choices=tuple(LATENT_MANIFOLDS))
    latent_manifold_dim: int = param(2, help="Dimension d of S^d or RP^d (1 with sphere: the circle); the other "
                                     "manifolds ignore it.", min=1, max=64)
    t_min: float = param(1e-4, help="Smallest diffusion time t of the posterior.", min=1e-8, max=10.0)
    t_max: float = param(0.0, help="Largest diffusion time t (keeps the asymptotic KL accurate); 0 picks the "
                         "manifold's own: 0.05, 0.2 on SO(3), 0.5 on the flat torus and the circle.", min=0.0, max=10.0,
                         zero="auto")
    walk_steps: int = param(10, help="Steps N of the random walk that samples the posterior (reparameterisation).",
                            min=1, max=1000)
    restarts: int = param(8, help="Initialisations tried: each trains restart_steps steps and the one with the lowest "
                          "loss (negative ELBO) on the training data is trained on (escapes topological dead ends).",
                          min=1, max=64)
    restart_steps: int = param(0, help="Gradient steps given to each initialisation before the choice; 0 picks the "
                               "latent manifold's own (the steps its codes take to settle their topology: 300 on the "
                               "flat torus, 100 elsewhere).", min=0, max=100_000, zero="auto")
    time_per_factor: bool = param(True, help="On a product latent (the flat torus), one diffusion time per circle: "
                                  "the heat kernel factorises, so the posterior stays exact and its KL is the sum "
                                  "of the circles' (a departure from the paper, whose t is one number).")

    QUICK = {"steps": 300, "hidden": 256, "restarts": 2, "restart_steps": 50}
    ESSENTIAL = ("latent_manifold", "latent_manifold_dim", "beta", "steps", "hidden", "device")
    PAPER = {"restarts": 1, "encoder_depth": 3, "decoder_depth": 2}
    PAPER_SOURCE = ("ΔVAE paper §4: encoder and decoder MLPs of three and two hidden layers, one initialisation "
                    "(no restarts); the curvature coefficient stays the tested 1/4 (the paper's 7/24 is wrong for S³, "
                    "see docs/METHODS.md)")

    @classmethod
    def training_length_fields(cls) -> List[str]:
        """``steps`` only: ``walk_steps`` is the length of the reparameterisation walk, not of training."""
        return [n for n in super().training_length_fields() if n != "walk_steps"]

    @property
    def t_upper(self) -> float:
        """The effective t_max: the field, or the manifold's default when it is 0."""
        if self.t_max > 0:
            return self.t_max
        return float(latent_manifold(self.latent_manifold, self.latent_manifold_dim).heat_kernel_t_max)

    @property
    def restart_length(self) -> int:
        """The effective restart_steps: the field, or the latent manifold's ``settle_steps`` when it is 0."""
        if self.restart_steps > 0:
            return int(self.restart_steps)
        return int(latent_manifold(self.latent_manifold, self.latent_manifold_dim).settle_steps)

    def training_length(self, name: str) -> int:
        """``restart_steps`` resolved to :attr:`restart_length` (0 means the latent manifold's own)."""
        return self.restart_length if name == "restart_steps" else super().training_length(name)

    def validate(self) -> None:
        super().validate()
        space = latent_manifold(self.latent_manifold, self.latent_manifold_dim)
        if self.latent_dim not in (0, space.ambient_dim):
            raise UserInputError(
                f"the ΔVAE's latent space is set by latent_manifold ({space.label} has {space.ambient_dim} "
                f"coordinates); leave latent_dim at 0, got {self.latent_dim}")
        if not self.t_min < self.t_upper:
            raise UserInputError(f"t_min={self.t_min} must be below t_max={self.t_upper}")


class RestartPhase(Phase):
    """Try ``restarts`` initialisations for ``restart_steps`` steps each; keep the one of lowest loss.

    Candidate 0 is the model as built (its seed's weights); candidate k > 0 gets fresh weights from a seed
    drawn from the training generator. Each trains with its own Adam optimiser (the main phase's settings,
    the first ``restart_steps`` steps of its schedule), then is scored by the loss (negative ELBO, one walk
    sample per point, the same noise for every candidate) on a fixed subset of up to 2048 training points.
    The winner's weights are loaded at :meth:`end`, also when training is stopped early.

    The score is the training objective itself: on the flat torus a code of degree 0 or 2 (a map that folds
    the data torus, a dead end for gradient descent: its degree cannot change continuously) scores 8.2-12
    after 100 steps against 5.8-6.0 for a homeomorphic one, which is then already near its optimum.

    Attributes
    ----------
    scores : list of float
        The score of each candidate tried so far.
    best : int
        Index of the lowest score.
    """

    name = "restarts"

    def __init__(self, restarts: int, restart_steps: int):
        super().__init__(int(restarts) * int(restart_steps))
        self.restarts, self.restart_steps = int(restarts), int(restart_steps)

    def start(self, model, data):
        g = data.generator
        self.eval_idx = data.batch_indices(2048).to(data.device)
        self.eval_seed = int(torch.randint(0, 2 ** 62, (1,), generator=g))
        self.seeds = [int(torch.randint(0, 2 ** 62, (1,), generator=g)) for _ in range(self.restarts)]
        self.scores: List[float] = []
        self.best, self._best_state, self._k, self._inner = -1, None, -1, None

    def _inner_phase(self, model) -> OptimiserPhase:
        # The main phase's optimiser and schedule (over ``steps``), of which a candidate runs the first
        # ``restart_steps``: a schedule over ``restart_steps`` alone would decay the rate before the code settles.
        return model.vae_phase()

    def _score(self, model, data) -> None:
        with torch.no_grad():
            loss = float(model.loss(data.X[self.eval_idx], torch.Generator().manual_seed(self.eval_seed))["loss"])
        self.scores.append(loss)
        if math.isfinite(loss) and (self._best_state is None or loss < self.scores[self.best]):
            self.best = len(self.scores) - 1
            self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def step(self, model, data, i):
        k = i // self.restart_steps
        if k != self._k:
            if self._k >= 0:
                self._score(model, data)
            if k > 0:
                model.reinitialise(self.seeds[k])
            self._k, self._inner = k, self._inner_phase(model)
            self._inner.start(model, data)
        terms = self._inner.step(model, data, i % self.restart_steps)
        return {**terms, "candidate": float(k)}

    def end(self, model, data):
        if self._k >= 0 and len(self.scores) == self._k:
            self._score(model, data)
        if self._best_state is not None:
            model.load_state_dict(self._best_state)
        self._inner = None


@MODELS.register("delta_vae", help="ΔVAE: latent manifold (sphere, tori, SO(3), RP^d), Brownian-motion posterior.")
class DeltaVAE(LatentVAE):
    """Encoder (z(x), t(x)) on a latent manifold Z, posterior = Brownian motion from z(x) for time t(x).

    Codes (``encode``) are the posterior locations z(x), points of Z of shape (n, *Z.shape). Its random walk
    is encode-perturb-decode on Z: x -> f(P(z(x) + walk_noise ε)).
    """

    name = "delta_vae"
    title = "ΔVAE"
    config_class = DeltaVAEConfig
    phase_name = "delta_vae"
    training_notes = ("The encoder gives a point z(x) on the latent manifold (its last layer projected onto the "
                      "manifold) and a diffusion time t(x); a posterior sample is a random walk of `walk_steps` small "
                      "projected steps from z(x) (total variance t), it is decoded, and the loss is the reconstruction "
                      "error plus β·KL(heat kernel ‖ uniform), by the small-time asymptotic formula with the "
                      "manifold's volume and scalar curvature. Phase `restarts` trains `restarts` initialisations "
                      "for `restart_steps` steps each and keeps the one of lowest loss (a code that folds the data "
                      "round the manifold cannot unfold later); phase `delta_vae` trains it for `steps` steps.")

    def __init__(self, config: DeltaVAEConfig, data_shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        self.even_decoder = config.latent_manifold == "projective"
        self.t_min, self.t_max = float(config.t_min), float(config.t_upper)

    @property
    def n_times(self) -> int:
        """Diffusion times per posterior: one per factor of a product latent with ``time_per_factor``, else 1."""
        return self.latent_space.time_factors if self.config.time_per_factor else 1

    def _n_posterior_params(self) -> int:
        """The ambient coordinates of a point h_z (projected onto Z), then the pre-activations of the times."""
        return self.latent_dim + self.n_times

    def _hidden(self, part: str) -> Tuple[int, ...]:
        """``encoder_depth`` or ``decoder_depth`` layers of ``hidden`` units (§4: three and two)."""
        c = self.config
        return (c.hidden,) * (c.encoder_depth if part == "encoder" else c.decoder_depth)

    @classmethod
    def make_latent_space(cls, config: DeltaVAEConfig, latent_dim: int):
        """The manifold named by ``config.latent_manifold`` (``latent_dim`` is ignored)."""
        return latent_manifold(config.latent_manifold, config.latent_manifold_dim)

    @classmethod
    def latent_dim_for(cls, config: DeltaVAEConfig, suggested: int, n: int) -> int:
        """0: the latent space is set by the config, not by the dataset."""
        return 0

    @classmethod
    def saved_config(cls, config, state):
        # Runs of ff6ec0c recorded ``centre_init`` (an initialisation-only option, since removed): the trained
        # weights do not depend on it once loaded.
        config = {k: v for k, v in config.items() if k != "centre_init"}
        # Runs saved before per-circle times had one time output: their encoder has p + 1 outputs.
        if "time_per_factor" not in config:
            config["time_per_factor"] = False
        return config

    def phases(self) -> List[Phase]:
        """``restarts`` (when more than one initialisation is tried), then ``delta_vae`` on the chosen one."""
        c = self.config
        return ([RestartPhase(c.restarts, c.restart_length)] if c.restarts > 1 else []) + [self.vae_phase()]

    def reinitialise(self, seed: int) -> None:
        """Fresh encoder and decoder weights drawn from ``seed`` (the input scaler is kept).

        The weights are drawn by :func:`~vdae_core.models.base.seeded_init`, as
        :func:`vdae_core.pipeline.build.build_model` draws them.
        """
        with seeded_init(seed):
            fresh = type(self)(self.config, self.data_shape)
        self.encoder.load_state_dict(fresh.encoder.state_dict())
        self.decoder.load_state_dict(fresh.decoder.state_dict())

    # ------------------------------------------------------------------------------------- encoder
    def posterior(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Parameters of q(z | x) (§3.3, §4).

        Parameters
        ----------
        x : Tensor (B, m)
            Points in data units.

        Returns
        -------
        z : Tensor (B, *Z.shape)
            Locations z(x) = P(h_z(x)), points of the latent manifold.
        t : Tensor (B,), or (B, k) with one time per factor of a product latent (``time_per_factor``)
            Diffusion times t(x) in [t_min, t_max].
        """
        h = self._encoder_output(x)
        k = self.n_times
        z = self.latent_space.projection(h[:, :-k].reshape(-1, *self.latent_space.shape))
        t = self.t_min + (self.t_max - self.t_min) * 0.5 * (torch.tanh(h[:, -k:]) + 1.0)
        return z, (t[:, 0] if k == 1 else t)

    def reparameterise(self, z: torch.Tensor, t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A sample of Q_Z^{t, z} by the projected random walk of §3.6 with N = ``walk_steps``.

        Parameters
        ----------
        z : Tensor (B, *Z.shape)
        t : Tensor (B,) or (B, k), one time per factor of a product latent
        generator : torch.Generator (CPU)

        Returns
        -------
        Tensor (B, *Z.shape), differentiable in z and t.
        """
        return self.latent_space.random_walk(z, t, self.config.walk_steps, generator)

    def kl(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """KL(Q_Z^{t, z} ‖ uniform) by the asymptotic formula of §3.7 with the parametrix coefficient 1/4.

        Parameters
        ----------
        z : Tensor (B, *Z.shape)
        t : Tensor (B,) or (B, k), one time per factor of a product latent (the KL is then the factors' sum)

        Returns
        -------
        Tensor (B,)
        """
        return self.latent_space.heat_kernel_kl(t, x=z, coefficient="parametrix")

    # LatentVAE.loss is the negative β-ELBO of §3.4 with these: a walk sample of the posterior and its asymptotic KL.
    def _sample_posterior(self, q, generator: torch.Generator) -> torch.Tensor:
        """A walk sample of Q_Z^{t, z} (:meth:`reparameterise`)."""
        return self.reparameterise(*q, generator)

    def _kl(self, q) -> torch.Tensor:
        """Batch mean of the asymptotic KL (:meth:`kl`)."""
        return self.kl(*q).mean()

    def _history_terms(self, q) -> Dict[str, torch.Tensor]:
        """``t``: the mean diffusion time."""
        return {"t": q[1].detach().mean()}

    # ------------------------------------------------------------------------------------- decoder
    def _decoder_mean(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean in standardised units, (B, *Z.shape) -> (B, m); even in z on RP^d."""
        flat = z.flatten(1)
        if self.even_decoder:
            # Two separate calls of one batch size: f_even(−z) then adds the very same two tensors, so the
            # decoder is even bit for bit.
            return 0.5 * (self.decoder(flat) + self.decoder(-flat))
        return self.decoder(flat)

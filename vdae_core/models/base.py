"""The one interface every generative model implements, and the phase protocol the Trainer runs.

Public methods take and return NumPy arrays (float32) so that metrics, figures and the CLI never
touch tensors; the torch work happens inside.

A model is built from its config and the data's *shape* (a tuple: ``(m,)`` for points, ``(c, h, w)``
for images), and owns a latent space (a :class:`~vdae_core.geometry.manifolds.Manifold`: R^D for the
VDAE and the β-VAE, a sphere, torus, SO(3)... for the manifold-latent models). It declares what it can
do (:meth:`GenerativeModel.capabilities`); pages, metrics and CLI commands ask for a capability and,
where a model lacks one, show :meth:`GenerativeModel.lacks`'s sentence instead of failing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Type, Union

import numpy as np
import torch
from torch import nn

from vdae_core.foundation.config import Config, param
from vdae_core.foundation.errors import UserInputError
from vdae_core.models.networks import Standardise
from vdae_core.training.phases import Phase


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Fields every model config has, and the presets a model offers (quick runs, scaled step counts)."""

    latent_dim: int = param(0, help="Latent dimension D; 0 reads it off the data: the smallest D whose diffusion "
                                     "coordinates keep the points' neighbourhoods (the Data page says which and "
                                     "why; docs/METHODS.md).", min=0, max=256,
                            zero="auto")
    device: str = param("auto", help="Where to train: auto picks cuda > mps > cpu.",
                        choices=("auto", "cpu", "cuda", "mps"))
    network: str = param("auto", help="Network family of the encoder/decoder (from the network registry): "
                         "auto = convolutional for images of at least 16 px a side, fully connected otherwise.",
                         advanced=True)
    conv_channels: int = param(64, help="Channels of every convolutional layer (64: the VDAE paper's Appendix "
                               "A.4.1). The cost grows with its square: one step on 72 images of 36×48 takes "
                               "1.0 s at 64 and 0.10 s at 16 on a 2-core CPU.",
                               min=1, max=512, advanced=True)

    #: The few fields the Train page's form shows first (the rest are under "Advanced"), in this order; fields
    #: the config does not have are skipped.
    ESSENTIAL: ClassVar[Tuple[str, ...]] = ("latent_dim", "steps", "hidden", "depth", "lr", "device")
    #: Overrides of the "quick" preset (the app's Try it and Quick buttons); empty: every training length
    #: scaled by :attr:`QUICK_SCALE`.
    QUICK: ClassVar[Dict[str, Any]] = {}
    QUICK_SCALE: ClassVar[float] = 0.1
    #: Overrides that follow the model's paper literally (architecture, loss weighting); empty: none declared.
    #: ``PAPER_SOURCE`` names where each value comes from.
    PAPER: ClassVar[Dict[str, Any]] = {}
    PAPER_SOURCE: ClassVar[str] = ""
    #: Overrides of the "live" preset (seconds to train on a 2-core CPU); empty: none declared.
    LIVE: ClassVar[Dict[str, Any]] = {}
    #: File in ``vdae_core/models/tuned/`` with the live preset's measured times and quality beside the
    #: defaults' (written by ``benchmarks/bench_presets.py --write-measured``); empty: none.
    LIVE_MEASURED: ClassVar[str] = ""
    #: File in ``vdae_core/models/tuned/`` with per-dataset settings from a documented validation sweep
    #: (the β-VAE's β: ``benchmarks/sweep_beta.py``); empty: none.
    TUNED_FILE: ClassVar[str] = ""

    def validate(self) -> None:
        from vdae_core.foundation.registry import NETWORKS

        if self.network not in NETWORKS:
            raise UserInputError(f"network={self.network!r} is not one of {NETWORKS.names()}")

    @classmethod
    def training_length_fields(cls) -> List[str]:
        """The fields that count training steps (``*steps``, but not ``sample_steps``, a walk length)."""
        return [f.name for f in dataclasses.fields(cls) if f.name.endswith("steps") and f.name != "sample_steps"]

    @classmethod
    def scaled_steps(cls, overrides: Optional[Dict[str, Any]], scale: float) -> Dict[str, int]:
        """Overrides multiplying every training length of ``overrides``' config by ``scale`` (at least 1; a length
        of 0, a phase that is off, stays 0)."""
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise UserInputError(f"the steps scale must be a finite number > 0, got {scale!r}")
        base = cls.from_dict(dict(overrides or {}))
        # A length of 0 means "no such phase" (e.g. decoder_fit_steps = 0) and stays 0.
        return {name: max(1, int(round(base.training_length(name) * scale))) if base.training_length(name) > 0 else 0
                for name in cls.training_length_fields()}

    def training_length(self, name: str) -> int:
        """The steps that training length field ``name`` stands for (a field whose 0 means "the default of
        something else" overrides this to resolve it)."""
        return int(getattr(self, name))

    @classmethod
    def paper_preset(cls) -> Dict[str, Any]:
        """The "paper" preset (:attr:`PAPER`): the settings of the model's paper, beside the studio's defaults.
        An empty :attr:`PAPER` with a :attr:`PAPER_SOURCE` means the defaults are the paper's (returns {}).

        Raises
        ------
        UserInputError
            When the model declares none.
        """
        if not cls.PAPER and not cls.PAPER_SOURCE:
            raise UserInputError(f"{cls.__name__.replace('Config', '')} has no 'paper' preset")
        return dict(cls.PAPER)

    @classmethod
    def tuned_preset(cls, dataset: str) -> Dict[str, Any]:
        """Settings for ``dataset`` chosen by a validation sweep (:attr:`TUNED_FILE`), {} when there are none.

        Used by ``compare`` so that a baseline is as good as a fair search makes it, not left at a default
        that suits another dataset. Keys that are not fields of the config (e.g. ``why``) are dropped.
        """
        if not cls.TUNED_FILE:
            return {}
        import json
        import os

        try:
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tuned", cls.TUNED_FILE)) as fh:
                table = json.load(fh)
        except (OSError, ValueError):
            return {}
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: v for k, v in (table.get(dataset) or {}).items() if k in names}

    @classmethod
    def live_preset(cls) -> Dict[str, Any]:
        """The "live" preset (:attr:`LIVE`): trains while an audience watches (seconds on a 2-core CPU), at a
        measured cost in quality (:attr:`LIVE_MEASURED`).

        Raises
        ------
        UserInputError
            When the model declares none.
        """
        if not cls.LIVE:
            raise UserInputError(f"{cls.__name__.replace('Config', '')} has no 'live' preset")
        return dict(cls.LIVE)

    @classmethod
    def live_measured(cls) -> Optional[Dict[str, Any]]:
        """The live preset's measured times and quality beside the defaults' (:attr:`LIVE_MEASURED`), or None.

        ``{"machine": str, "date": str, "datasets": {name: {"default": {...}, "live": {...}}}}``, each inner dict
        holding means over seeds of ``train_s``, ``cc_mean``, ``memorisation``, ``lump_top10``,
        ``off_manifold_spacings`` and ``mixing_step`` (benchmarks/bench_presets.py --write-measured).
        """
        from vdae_core.foundation.preset_costs import read_measured

        return read_measured(cls.LIVE_MEASURED) if cls.LIVE_MEASURED else None

    @classmethod
    def quick_preset(cls, scale: float = 1.0) -> Dict[str, Any]:
        """The quick settings (:attr:`QUICK`, else every training length × :attr:`QUICK_SCALE`), with their
        training lengths further multiplied by ``scale``."""
        out = dict(cls.QUICK) or cls.scaled_steps(None, cls.QUICK_SCALE)
        if scale != 1.0:
            out.update(cls.scaled_steps(out, scale))
        return out


Shape = Union[int, Sequence[int]]

#: The capabilities a model declares, and what each means.
CAPABILITIES: Dict[str, str] = {
    "has_encoder": "maps data to latent codes (encode)",
    "has_decoder": "maps latent codes to data (decode)",
    "native_walk": "its random walk is its own generative process, not encode-perturb-decode",
    "has_elbo": "trains on an evidence lower bound (reconstruction + KL)",
    "has_prior": "makes its samples by decoding codes it draws on its latent space (prior_codes): a fixed prior, "
                 "a pushed-forward one, or a walk's stationary law",
    "has_sampler": "generates new points (sample); an encoder-only manifold learner does not",
    "seed_batch": "trains several seeds at once as one stacked model (compare, stability: "
                  "vdae_core/training/seed_batch.py)",
    "has_likelihood": "has a posterior, a prior and a decoder density: an importance-sampled log-likelihood "
                      "(vdae_core/metrics/likelihood.py)",
}


class GenerativeModel(nn.Module):
    """Base class: ``encode``, ``decode``, ``loss``, ``sample``, ``random_walk``, ``phases``.

    Subclasses set ``name``, ``title`` and ``config_class``, declare their capabilities and implement the
    abstract methods. They are built with ``Model(config, data_shape, latent_dim)``: ``data_shape`` the
    shape of one data point (an int is taken as ``(m,)``), ``latent_dim`` the resolved dimension of a
    Euclidean latent (see :meth:`latent_dim_for`; models whose latent space is set by their config ignore
    it). Codes are points of :attr:`latent_space`, arrays of shape (n, *latent_space.shape).
    """

    name: ClassVar[str] = "base"
    #: The model's name in sentences ("β-VAE", "WGAN-GP").
    title: ClassVar[str] = "model"
    config_class: ClassVar[Type[ModelConfig]] = ModelConfig
    has_encoder: ClassVar[bool] = True
    has_decoder: ClassVar[bool] = True
    #: True when ``random_walk`` is the model's own generative process (not encode-perturb-decode).
    native_walk: ClassVar[bool] = False
    has_elbo: ClassVar[bool] = False
    #: True when ``sample`` decodes codes drawn by ``_prior_codes`` (and ``sample(n, g)`` equals
    #: ``decode(prior_codes(n, g))`` for the same generator state).
    has_prior: ClassVar[bool] = False
    has_sampler: ClassVar[bool] = True
    #: True when ``log_weights`` gives log p(x|z), log p(z) and log q(z|x) (an importance-sampled log-likelihood).
    has_likelihood: ClassVar[bool] = False
    #: True when a phase of its training stacks K seeds into one step (``Phase.stack``).
    seed_batch: ClassVar[bool] = False
    #: False for a model whose training draws no initial weights (a manifold learner's codes): its seed acts
    #: in training only.
    random_init: ClassVar[bool] = True
    #: How this model trains, in a few sentences for the Train page.
    training_notes: ClassVar[str] = ""

    def __init__(self, config: ModelConfig, data_shape: Shape, latent_dim: int = 0):
        super().__init__()
        self.config = config
        self.data_shape: Tuple[int, ...] = (int(data_shape),) if isinstance(data_shape, int) else tuple(
            int(s) for s in data_shape)
        self.data_dim = int(math.prod(self.data_shape))
        self.latent_space = self.make_latent_space(config, int(latent_dim))
        self.latent_dim = int(math.prod(self.latent_space.shape))

    # -- what the model is ----------------------------------------------------------------------
    @classmethod
    def make_latent_space(cls, config: ModelConfig, latent_dim: int):
        """The latent space of a model with this config (default: Euclidean R^latent_dim)."""
        from vdae_core.geometry.manifolds import MANIFOLDS

        return MANIFOLDS.get("euclidean")(dim=latent_dim)

    @classmethod
    def latent_dim_for(cls, config: ModelConfig, suggested, n: int) -> int:
        """The latent dimension to build with: the config's, else the dataset's (an int, or a function giving
        it, e.g. from ``Dataset.latent_dim_choice``, called only when needed); checked against n."""
        return resolve_latent_dim(config, suggested, n)

    @classmethod
    def check_data(cls, config: ModelConfig, n: int) -> None:
        """Refuse (UserInputError) a config that cannot train on ``n`` points; default: accept."""

    @classmethod
    def capabilities(cls) -> Dict[str, bool]:
        """Which of :data:`CAPABILITIES` this model has."""
        return {k: bool(getattr(cls, k)) for k in CAPABILITIES}

    @classmethod
    def lacks(cls, capability: str, instead: str = "") -> str:
        """One sentence for a page or command that needs ``capability`` (e.g. "WGAN-GP has no encoder:
        showing the generator's latent instead")."""
        what = {"has_encoder": "has no encoder", "has_decoder": "has no decoder",
                "native_walk": "has no random walk of its own", "has_elbo": "has no ELBO",
                "has_prior": "draws no latent codes of its own to decode",
                "has_sampler": "generates no new points",
                "seed_batch": "trains its seeds one after another (no phase of it stacks seeds)",
                "has_likelihood": "has no tractable density of its data (no posterior, prior and decoder density to "
                                  "importance-sample)"}[capability]
        return f"{cls.title} {what}" + (f": {instead}" if instead else ".")

    @classmethod
    def saved_config(cls, config: Dict[str, Any], state: Dict[str, Any]) -> Dict[str, Any]:
        """The config of a saved run, completed for settings added since it was written (default: as is).

        ``config`` is the run's recorded config dict, ``state`` its state dict.
        """
        return config

    # -- training -------------------------------------------------------------------------------
    def phases(self) -> List[Phase]:
        raise NotImplementedError

    def prepare(self, X: np.ndarray) -> None:
        """Called once before training with the training data (n, m): fit input scalers etc."""

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Named loss terms on a batch ``x`` (B, m); key ``loss`` is the total that is minimised."""
        raise NotImplementedError

    # -- inference (numpy in, numpy out) --------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for b in self.buffers():
            return b.device
        return next(self.parameters()).device

    def _t(self, a: np.ndarray, width: int, what: str) -> torch.Tensor:
        from vdae_core.foundation.validation import check_array

        return torch.as_tensor(check_array(a, what, width=width, allow_vector=True), device=self.device)

    def _codes(self, z: np.ndarray, what: str) -> torch.Tensor:
        """Latent codes as a tensor (n, *latent_space.shape), from (n, *shape) or flattened (n, latent_dim)."""
        shape = self.latent_space.shape
        try:
            a = np.asarray(z)  # its values are checked by check_array (in _t), after the reshape
        except (ValueError, TypeError):
            return self._t(z, self.latent_dim, what)  # ragged: check_array's message
        if a.ndim == len(shape) and a.shape == shape:
            a = a[None]
        if a.ndim == len(shape) + 1 and tuple(a.shape[1:]) == shape:
            a = a.reshape(len(a), -1)
        return self._t(a, self.latent_dim, what).reshape(-1, *shape)

    @torch.no_grad()
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Latent codes of points ``x`` (n, m) -> (n, *latent_space.shape) (points of the latent space)."""
        if not self.has_encoder:
            raise UserInputError(self.lacks("has_encoder"))
        return self._encode(self._t(x, self.data_dim, "points to encode")).cpu().numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Points decoded from latent codes ``z`` (n, *latent_space.shape) or (n, latent_dim) -> (n, m)."""
        if not self.has_decoder:
            raise UserInputError(self.lacks("has_decoder"))
        return self._decode(self._codes(z, "latent codes to decode")).cpu().numpy()

    def latent_coords(self, z: np.ndarray) -> np.ndarray:
        """Intrinsic coordinates of codes (angles, axis-angle, ...) for display: (n, latent_space.dim)."""
        return np.asarray(self.latent_space.intrinsic_coords(torch.as_tensor(np.asarray(z, dtype=np.float64)))
                          ).astype(np.float64)

    def latent_pairs(self, X: np.ndarray, n: int, generator: torch.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """(codes, points) for maps measured between latent and data (bi-Lipschitz): the codes of up to ``n``
        of the points ``X`` (n, m) and those points; a model without an encoder returns its own pairs."""
        if not self.has_encoder:
            raise UserInputError(self.lacks("has_encoder"))
        X = np.asarray(X, dtype=np.float32)
        if len(X) > n:
            X = X[np.sort(torch.randperm(len(X), generator=generator)[:int(n)].numpy())]
        return self.encode(X), X

    @property
    def sampler_description(self) -> str:
        """How :meth:`sample` makes points, in a few words (shown beside evaluation results)."""
        return f"decoded draws of the prior on {self.latent_space.label}"

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> np.ndarray:
        """``n`` new points from the model, shape (n, m)."""
        if not self.has_sampler:
            raise UserInputError(self.lacks("has_sampler"))
        return self._sample(int(n), generator).cpu().numpy()

    @torch.no_grad()
    def prior_codes(self, n: int, generator: torch.Generator) -> np.ndarray:
        """The ``n`` latent codes that :meth:`sample` would decode with the same generator state, shape
        (n, *latent_space.shape): draws of the model's prior (or of its walk's stationary law for VDAE)."""
        if not self.has_prior:
            raise UserInputError(self.lacks("has_prior"))
        return self._prior_codes(int(n), generator).cpu().numpy()

    @torch.no_grad()
    def random_walk(self, x0: np.ndarray, steps: int, generator: torch.Generator) -> np.ndarray:
        """Walk from ``x0`` (n, m) for ``steps`` steps; returns the trajectory (steps + 1, n, m)."""
        if not self.has_decoder:
            raise UserInputError(self.lacks("has_decoder", "a walk steps in the latent and decodes"))
        x = self._t(x0, self.data_dim, "walk start points")
        out = [x]
        for _ in range(int(steps)):
            x = self._walk_step(x, generator)
            out.append(x)
        return torch.stack(out).cpu().numpy()

    @torch.no_grad()
    def burst(self, x0: np.ndarray, n: int, generator: torch.Generator) -> np.ndarray:
        """``n`` independent one-step samples from the single point ``x0`` (m,) -> (n, m)."""
        if not self.has_decoder:
            raise UserInputError(self.lacks("has_decoder", "a walk steps in the latent and decodes"))
        x = self._t(np.asarray(x0).reshape(1, -1), self.data_dim, "burst start point").expand(int(n), -1)
        return self._walk_step(x.contiguous(), generator).cpu().numpy()

    # -- to implement ---------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Default for models with a prior: decode its codes."""
        if not self.has_prior:
            raise NotImplementedError
        return self._decode(self._prior_codes(n, generator))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _walk_step(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Default walk for latent-variable models: encode, one small projected step on the latent space
        (ambient Gaussian of std :attr:`walk_scale`, then projection; z + σε on R^D), decode."""
        z = self._encode(x)
        return self._decode(self.latent_space.walk_step(z, self.walk_scale, generator))

    walk_scale: float = 0.1


class StandardisedModel(GenerativeModel):
    """A model that reads its data standardised: x̂ = (x − mean) / scale, one scalar scale (it keeps the
    geometry), fitted to the training points by :meth:`prepare`.

    :attr:`x_scale` is the first module a subclass has (its buffers draw no random numbers, so the weights
    built after it are those of the seed).
    """

    def __init__(self, config: ModelConfig, data_shape: Shape, latent_dim: int = 0):
        super().__init__(config, data_shape, latent_dim)
        self.x_scale = Standardise(self.data_dim)

    def prepare(self, X: np.ndarray) -> None:
        """Fit :attr:`x_scale` to the training points ``X`` (n, m)."""
        self.x_scale.fit(torch.as_tensor(X))


#: Held while modules draw their initial weights from the global torch RNG (Streamlit sessions run in threads).
INIT_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded_init(seed: int):
    """Build modules inside this block to draw their weights from ``seed`` alone: under :data:`INIT_LOCK`, inside
    :func:`torch.random.fork_rng` on the CPU, so other threads' draws cannot interleave, the caller's RNG state is
    left as it was, and a GPU run draws the same weights as a CPU run."""
    with INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def randn(shape, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Standard normal noise drawn on the CPU generator (reproducible across devices), moved to device."""
    return torch.randn(tuple(shape), generator=generator).to(device)


def gaussian_parameters(h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(μ, log σ²) of a diagonal Gaussian from an encoder's output ``h`` (B, 2k): its two halves, log σ²
    clamped to [−20, 10] (σ² from 2e-9 to 2.2e4) so that exp neither underflows nor overflows."""
    mu, logvar = h.chunk(2, dim=1)
    return mu, logvar.clamp(-20, 10)


def gaussian_sample(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The reparameterised draw μ + σ ε, ε ~ N(0, I) from the CPU ``generator`` (Kingma & Welling 2014);
    mu, logvar (B, k) -> (B, k), differentiable in μ and log σ²."""
    return mu + torch.exp(0.5 * logvar) * randn(mu.shape, generator, mu.device)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(N(μ, diag e^logvar) ‖ N(0, I)) in closed form. mu, logvar (B, k) -> scalar."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def resolve_latent_dim(config: ModelConfig, suggested, n: int) -> int:
    """The latent dimension to use: the config's, else the dataset's (``suggested``: an int, or a function
    returning it, called only when the config leaves D to the data); checked against n."""
    D = config.latent_dim or (suggested() if callable(suggested) else suggested)
    if D >= n - 1:
        raise UserInputError(f"latent_dim={D} is too large for {n} points (must be below n-1={n - 1})")
    return D


def config_from(model_cls: Type[GenerativeModel], overrides: Optional[Dict[str, Any]] = None) -> ModelConfig:
    return model_cls.config_class.from_dict(dict(overrides or {}))

"""The one interface every generative model implements, and the phase protocol the Trainer runs.

Public methods take and return NumPy arrays (float32) so that metrics, figures and the CLI never
touch tensors; the torch work happens inside.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List, Optional, Type

import numpy as np
import torch
from torch import nn

from ..config import Config, param
from ..errors import UserInputError


@dataclasses.dataclass
class TrainData:
    """What a training phase sees.

    Attributes
    ----------
    X : Tensor (n, m) on the training device
    X_np : ndarray (n, m) float32 (for graph work on the CPU)
    device : torch.device
    generator : torch.Generator on the CPU (all randomness of training draws from it)
    """

    X: torch.Tensor
    X_np: np.ndarray
    device: torch.device
    generator: torch.Generator

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def batch_indices(self, batch_size: int) -> torch.Tensor:
        """A random batch of distinct indices (the whole set if batch_size >= n)."""
        if batch_size >= self.n:
            return torch.randperm(self.n, generator=self.generator)
        return torch.randperm(self.n, generator=self.generator)[:batch_size]


class Phase:
    """One stage of training: ``start`` once, ``step`` ``steps`` times, ``end`` once.

    ``step`` returns a dict of named loss terms (floats) for the history.
    """

    name: str = "phase"

    def __init__(self, steps: int):
        self.steps = int(steps)

    def start(self, model: "GenerativeModel", data: TrainData) -> None:
        pass

    def step(self, model: "GenerativeModel", data: TrainData, i: int) -> Dict[str, float]:
        raise NotImplementedError

    def end(self, model: "GenerativeModel", data: TrainData) -> None:
        pass


class OptimiserPhase(Phase):
    """A phase that minimises ``loss_fn(batch, generator)['loss']`` with Adam and cosine decay.

    Subclasses with another kind of batch loss override :meth:`batch_terms`.
    """

    def __init__(self, name: str, steps: int, params_fn, loss_fn, batch_size: int, lr: float,
                 final_lr_fraction: float = 0.05):
        super().__init__(steps)
        self.final_lr_fraction = final_lr_fraction
        self.name = name
        self.params_fn = params_fn
        self.loss_fn = loss_fn
        self.batch_size = batch_size
        self.lr = lr

    def start(self, model, data):
        # foreach: one fused update over all tensors (on CPU the default loops over them one by one).
        self.opt = torch.optim.Adam(self.params_fn(), lr=self.lr, foreach=True)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, max(1, self.steps),
                                                                eta_min=self.lr * self.final_lr_fraction)

    def batch_terms(self, model: "GenerativeModel", data: TrainData, idx: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Named loss terms of the batch ``idx`` (indices into ``data.X``); ``loss`` is minimised."""
        return self.loss_fn(data.X[idx], data.generator)

    def step(self, model, data, i):
        idx = data.batch_indices(self.batch_size).to(data.device)
        terms = self.batch_terms(model, data, idx)
        self.opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt.step()
        self.sched.step()
        return {k: float(v.detach()) for k, v in terms.items()}


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Fields every model config has."""

    latent_dim: int = param(0, help="Latent dimension D; 0 uses the dataset's suggested dimension.", min=0, max=256)
    device: str = param("auto", help="Where to train: auto picks cuda > mps > cpu.",
                        choices=("auto", "cpu", "cuda", "mps"))


class GenerativeModel(nn.Module):
    """Base class: ``encode``, ``decode``, ``loss``, ``sample``, ``random_walk``, ``phases``.

    Subclasses set ``name`` and ``config_class`` and implement the abstract methods. They are built with
    ``Model(config, data_dim=m, latent_dim=D)`` where D is already resolved (never 0).
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[Type[ModelConfig]] = ModelConfig
    #: True when ``random_walk`` is the model's own generative process (not encode-perturb-decode).
    native_walk: ClassVar[bool] = False

    def __init__(self, config: ModelConfig, data_dim: int, latent_dim: int):
        super().__init__()
        self.config = config
        self.data_dim = int(data_dim)
        self.latent_dim = int(latent_dim)

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
        a = np.asarray(a, dtype=np.float32)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != width:
            raise UserInputError(f"{what}: expected shape (n, {width}), got {a.shape}")
        if not np.isfinite(a).all():
            raise UserInputError(f"{what}: contains NaN or inf")
        return torch.as_tensor(a, device=self.device)

    @torch.no_grad()
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Latent codes of points ``x`` (n, m) -> (n, D)."""
        return self._encode(self._t(x, self.data_dim, "points to encode")).cpu().numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Points decoded from latent codes ``z`` (n, D) -> (n, m)."""
        return self._decode(self._t(z, self.latent_dim, "latent codes to decode")).cpu().numpy()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> np.ndarray:
        """``n`` new points from the model, shape (n, m)."""
        return self._sample(int(n), generator).cpu().numpy()

    @torch.no_grad()
    def random_walk(self, x0: np.ndarray, steps: int, generator: torch.Generator) -> np.ndarray:
        """Walk from ``x0`` (n, m) for ``steps`` steps; returns the trajectory (steps + 1, n, m)."""
        x = self._t(x0, self.data_dim, "walk start points")
        out = [x]
        for _ in range(int(steps)):
            x = self._walk_step(x, generator)
            out.append(x)
        return torch.stack(out).cpu().numpy()

    @torch.no_grad()
    def burst(self, x0: np.ndarray, n: int, generator: torch.Generator) -> np.ndarray:
        """``n`` independent one-step samples from the single point ``x0`` (m,) -> (n, m)."""
        x = self._t(np.asarray(x0).reshape(1, -1), self.data_dim, "burst start point").expand(int(n), -1)
        return self._walk_step(x.contiguous(), generator).cpu().numpy()

    # -- to implement ---------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _walk_step(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Default walk for latent-variable models: encode, add prior-scaled noise, decode."""
        z = self._encode(x)
        eps = randn(z.shape, generator, z.device)
        return self._decode(z + self.walk_scale * eps)

    walk_scale: float = 0.1


def randn(shape, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Standard normal noise drawn on the CPU generator (reproducible across devices), moved to device."""
    return torch.randn(tuple(shape), generator=generator).to(device)


def resolve_latent_dim(config: ModelConfig, suggested: int, n: int) -> int:
    """The latent dimension to use: the config's, else the dataset's suggestion; checked against n."""
    D = config.latent_dim or suggested
    if D >= n - 1:
        raise UserInputError(f"latent_dim={D} is too large for {n} points (must be below n-1={n - 1})")
    return D


def config_from(model_cls: Type[GenerativeModel], overrides: Optional[Dict[str, Any]] = None) -> ModelConfig:
    return model_cls.config_class.from_dict(dict(overrides or {}))

"""The phase protocol the :class:`~vdae_core.training.trainer.Trainer` runs and models implement: what a phase
sees (:class:`TrainData`), one stage of training (:class:`Phase`), and the Adam phase with a convergence rule
that most stages are (:class:`OptimiserPhase`)."""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np
import torch

if TYPE_CHECKING:  # the protocol's other side; models import this module, never the reverse
    from vdae_core.models.base import GenerativeModel
    from vdae_core.training.seed_batch import StackedStep


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

    def stack(self, trainers) -> Optional["StackedStep"]:
        """This phase of K trainers (one seed each, started) as one stacked step
        (:class:`~vdae_core.training.seed_batch.StackedStep`), or None: the seeds then run it one after another."""
        return None


def adam(params, lr: float, **kw) -> torch.optim.Adam:
    """Adam with the fused kernel (one update for all tensors; on a 2-core CPU 0.9 ms a step against 2.0 ms
    for ``foreach`` and more for the default loop, benchmarks/bench_presets.py), ``foreach`` where the
    device has no fused kernel."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **kw)
    except RuntimeError:
        return torch.optim.Adam(params, lr=lr, foreach=True, **kw)


@dataclasses.dataclass(frozen=True)
class Convergence:
    """When a phase has converged: its loss stopped falling, judged on window means (the loss is noisy).

    Every ``window`` steps (from ``min_steps`` on) the mean loss of the last window is compared with the
    mean of the window before; when it fell by less than ``rel_tol`` of the earlier mean, the phase has
    converged. It then anneals its learning rate to its final fraction over ``tail`` steps (a cosine) and
    ends; without convergence it anneals over the last ``tail`` steps of its cap.
    """

    window: int = 100
    rel_tol: float = 0.01
    min_steps: int = 300
    tail: int = 150

    def improvement(self, losses: Sequence[float]) -> Optional[float]:
        """Relative fall (prev - last) / |prev| of the last window's mean against the one before; ``None``
        before two full windows (or ``min_steps``) are in ``losses``."""
        w = self.window
        if len(losses) < max(2 * w, self.min_steps) or len(losses) % w:
            return None
        prev, last = float(np.mean(losses[-2 * w:-w])), float(np.mean(losses[-w:]))
        return (prev - last) / max(abs(prev), 1e-300)


class OptimiserPhase(Phase):
    """A phase that minimises ``loss_fn(batch, generator)['loss']`` with Adam.

    After ``warmup`` steps of a linear ramp from lr/warmup, the learning rate follows a cosine from ``lr`` to
    ``lr * final_lr_fraction`` over the phase's steps;
    with a :class:`Convergence` rule it stays at ``lr`` until the loss has converged (or the cap's last
    ``tail`` steps), then follows the cosine over ``tail`` steps, and the phase ends there.
    ``stop_reason`` says which of these ended it. Subclasses with another kind of batch loss override
    :meth:`batch_terms`.
    """

    def __init__(self, name: str, steps: int, params_fn, loss_fn, batch_size: int, lr: float,
                 final_lr_fraction: float = 0.05, convergence: Optional[Convergence] = None, warmup: int = 0):
        super().__init__(steps)
        self.warmup = int(warmup)
        self.final_lr_fraction = final_lr_fraction
        self.name = name
        self.params_fn = params_fn
        self.loss_fn = loss_fn
        self.batch_size = batch_size
        self.lr = lr
        self.convergence = convergence
        self.cap = int(steps)
        self.stop_reason = f"ran its {self.cap} steps"

    def start(self, model, data):
        self.opt = adam(self.params_fn(), self.lr)
        self._losses: List[float] = []
        c = self.convergence
        # Step at which the cosine starts, and its length (the whole phase without a convergence rule).
        self._anneal_at, self._anneal_len = (0, max(1, self.steps)) if c is None else \
            (max(0, self.steps - c.tail), max(1, min(c.tail, self.steps)))

    def lr_at(self, i: int) -> float:
        """Learning rate of step ``i`` (0-based)."""
        if i < self.warmup:
            # Adam's first updates are ±lr on every weight whatever the gradient's size (m̂/√v̂ = sign g): a
            # linear ramp keeps them from undoing a warm-started network.
            return self.lr * (i + 1) / self.warmup
        if i < self._anneal_at:
            return self.lr
        t = min(1.0, (i - self._anneal_at) / self._anneal_len)
        lo = self.lr * self.final_lr_fraction
        return lo + 0.5 * (self.lr - lo) * (1.0 + math.cos(math.pi * t))

    def batch_terms(self, model: "GenerativeModel", data: TrainData, idx: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Named loss terms of the batch ``idx`` (indices into ``data.X``); ``loss`` is minimised."""
        return self.loss_fn(data.X[idx], data.generator)

    def draw_batch(self, data: TrainData) -> torch.Tensor:
        """Indices of the next batch (distinct, into ``data.X``; a phase may index something else)."""
        return data.batch_indices(self.batch_size)

    def set_lr(self, i: int) -> None:
        """Put step ``i``'s learning rate (:meth:`lr_at`) into the optimiser."""
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(i)

    def step(self, model, data, i):
        self.set_lr(i)
        idx = self.draw_batch(data).to(data.device)
        terms = self.batch_terms(model, data, idx)
        self.opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt.step()
        out = {k: float(v.detach()) for k, v in terms.items()}
        self._check_convergence(i, out["loss"])
        return out

    def _check_convergence(self, i: int, loss: float) -> None:
        c = self.convergence
        if c is None or i >= self._anneal_at:
            return
        self._losses.append(loss)
        fall = c.improvement(self._losses)
        if fall is None:
            return
        if fall < c.rel_tol:
            self._anneal_at = i + 1
            self._anneal_len = max(1, c.tail)
            self.steps = min(self.cap, i + 1 + c.tail)
            self.stop_reason = (f"converged at step {i + 1}: the mean loss of the last {c.window} steps fell "
                                f"{fall:.2%} (< {c.rel_tol:.2%}) below the {c.window} before; then {self.steps - i - 1} "
                                f"annealing steps")
        else:
            self.stop_reason = (f"reached its cap of {self.cap} steps (the loss still fell {fall:.2%} per "
                                f"{c.window} steps, above {c.rel_tol:.2%})")

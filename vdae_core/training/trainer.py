"""The Trainer: runs a model's declared phases with callbacks, a stop request and a NaN guard.

It is step-wise so the UI can drive it a few steps at a time (``advance``) and headless code can call
``run``. The trainer never looks at the model's name: what runs is what ``model.phases()`` declares.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from vdae_core.foundation.errors import TrainingDiverged
from vdae_core.training.phases import Phase, TrainData
from vdae_core.foundation.runtime import choose_device

if TYPE_CHECKING:  # models import the phase protocol; the Trainer only drives what they return
    from vdae_core.models.base import GenerativeModel


@dataclasses.dataclass
class Progress:
    """Where training stands: phase name and index, step within the phase, overall fraction."""

    phase: str
    phase_index: int
    n_phases: int
    step: int
    phase_steps: int
    fraction: float
    elapsed: float
    losses: Dict[str, float]


@dataclasses.dataclass
class History:
    """Loss terms per step, by phase: ``records[phase] = list of {'step', 'time', term: value}``."""

    records: Dict[str, List[Dict[str, float]]] = dataclasses.field(default_factory=dict)
    phase_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)
    stopped_early: bool = False
    message: str = ""
    #: Why each phase ended: its fixed steps, its convergence rule (with the figures), or its cap.
    stop_reasons: Dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, phase: str, step: int, t: float, losses: Dict[str, float]) -> None:
        self.records.setdefault(phase, []).append({"step": step, "time": t, **losses})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**d)

    def last(self, phase: str) -> Dict[str, float]:
        r = self.records.get(phase) or [{}]
        return r[-1]


Callback = Callable[[Progress], None]


class Trainer:
    """Train ``model`` on ``X`` (n, m) through ``model.phases()``.

    Parameters
    ----------
    model : GenerativeModel
    X : ndarray (n, m)
    seed : int
        Seeds the trainer's own CPU ``torch.Generator``, which every batch and noise draw of training comes from;
        the global torch and numpy RNGs are neither used nor changed (the weights were drawn when the model was
        built, :func:`vdae_core.models.base.seeded_init`).
    device : str
        ``auto`` (cuda > mps > cpu), ``cpu``, ``cuda`` or ``mps``.
    callbacks : list of callables taking a :class:`Progress`, called every ``report_every`` steps.
    snapshot_every : int
        How often (steps) the last good weights are copied, for restoring after a NaN loss.
    """

    def __init__(self, model: GenerativeModel, X: np.ndarray, seed: int = 0, device: str = "auto",
                 callbacks: Optional[List[Callback]] = None, report_every: int = 10, snapshot_every: int = 50):
        self.device = choose_device(device)
        # All training randomness draws from this generator (never the global RNG that threads share).
        self.generator = torch.Generator().manual_seed(int(seed))
        self.model = model
        model.prepare(np.asarray(X, dtype=np.float32))
        model.to(self.device)
        X_np = np.ascontiguousarray(X, dtype=np.float32)
        self.data = TrainData(torch.as_tensor(X_np, device=self.device), X_np, self.device, self.generator)
        self.phases: List[Phase] = model.phases()
        self.callbacks = list(callbacks or [])
        self.report_every = max(1, report_every)
        self.snapshot_every = max(1, snapshot_every)
        self.history = History()
        self._phase_i = 0
        self._step = 0
        self._started = False
        self._stop = False
        self._t0: Optional[float] = None
        self._phase_t0 = 0.0
        self._good_state = None
        self.steps_done = 0

    @property
    def total_steps(self) -> int:
        """Steps of all phases; a phase that converges shortens itself, and this with it."""
        return sum(p.steps for p in self.phases)

    def eta_seconds(self) -> Optional[Tuple[float, bool]]:
        """Seconds left, from the step rates measured so far, and whether that is an upper bound.

        Each phase's remaining steps are priced at its own rate once it has run 5 steps, before that at the
        rate of the phases already run. The bound is loose where a phase may stop at convergence before
        its cap (then ``True``: "at most"). ``None`` before any rate is known.
        """
        if self.done:
            return 0.0, False
        rates = {}
        for name, secs in self.history.phase_seconds.items():
            recs = self.history.records.get(name) or []
            if recs and recs[-1]["step"] > 0:
                rates[name] = secs / recs[-1]["step"]
        i = self._phase_i
        ph = self.phases[i]
        if self._started and self._step >= 5:
            rates[ph.name] = (time.perf_counter() - self._phase_t0) / self._step
        if not rates:
            return None
        fallback = float(np.mean(list(rates.values())))
        left = (ph.steps - self._step) * rates.get(ph.name, fallback)
        left += sum(p.steps * rates.get(p.name, fallback) for p in self.phases[i + 1:])
        capped = any(getattr(p, "convergence", None) is not None and p.steps == getattr(p, "cap", p.steps)
                     for p in self.phases[i:])
        return float(left), capped

    # -- control --------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop after the current step; the model keeps what it learned so far (phases are ended)."""
        self._stop = True

    @property
    def done(self) -> bool:
        return self._phase_i >= len(self.phases)

    def progress(self, losses: Optional[Dict[str, float]] = None) -> Progress:
        i = min(self._phase_i, len(self.phases) - 1)
        ph = self.phases[i]
        frac = 1.0 if self.done else self.steps_done / max(1, self.total_steps)
        # Trained to the end: the last phase is complete (its step counter was reset when it ended).
        step = ph.steps if self.done and not self.history.stopped_early else self._step
        return Progress(ph.name, i, len(self.phases), step, ph.steps, frac,
                        time.perf_counter() - (self._t0 or time.perf_counter()), losses or {})

    def start_clock(self) -> None:
        if self._t0 is None:
            self._t0 = time.perf_counter()

    def advance(self, max_steps: int = 1, max_seconds: Optional[float] = None) -> Progress:
        """Run up to ``max_steps`` steps (or until ``max_seconds``), crossing phase boundaries.

        Raises
        ------
        TrainingDiverged
            A loss became NaN/inf; the last good weights are restored first.
        """
        self.start_clock()
        t_start = time.perf_counter()
        losses: Dict[str, float] = {}
        n = 0
        while not self.done and n < max_steps:
            if max_seconds is not None and n > 0 and time.perf_counter() - t_start > max_seconds:
                break
            ph = self.phases[self._phase_i]
            self.begin_phase()
            if self._stop:
                self.history.stopped_early = True
                self.history.message = f"stopped by request in phase '{ph.name}' at step {self._step}"
                self._finish_all_phases()
                break
            if self._step >= ph.steps:
                self._end_phase(ph)
                continue
            self.model.train()
            losses = self.accept_step(ph.step(self.model, self.data, self._step))
            n += 1
        if not self.done and self._started and self._step >= self.phases[self._phase_i].steps:
            self._end_phase(self.phases[self._phase_i])
        self.model.eval()
        return self.progress(losses)

    def run(self) -> History:
        """Train to the end (or to a stop request); returns the history."""
        while not self.done:
            self.advance(max_steps=1_000_000)
        return self.history

    # -- one step at a time (advance, and the seed batch that steps K trainers together) -----------------
    @property
    def phase(self) -> Optional[Phase]:
        """The phase in progress or next (None when done)."""
        return None if self.done else self.phases[self._phase_i]

    def begin_phase(self, snapshot: bool = True) -> None:
        """Start the current phase if it has not started (its ``start``, the timer, a copy of the weights)."""
        if not self._started:
            self._phase_t0 = time.perf_counter()
            self.phases[self._phase_i].start(self.model, self.data)
            self._started = True
            if snapshot:
                self._snapshot()

    def accept_step(self, losses: Dict[str, float], snapshot: bool = True) -> Dict[str, float]:
        """Book one step of the current phase that returned ``losses``: the NaN guard, the counters, the history
        every ``report_every`` steps, the callbacks, a copy of the weights every ``snapshot_every`` steps.

        Raises
        ------
        TrainingDiverged
            A loss is NaN/inf; the last good weights are restored first.
        """
        ph = self.phases[self._phase_i]
        if not all(math.isfinite(v) for v in losses.values()):
            self._restore()
            bad = ", ".join(k for k, v in losses.items() if not math.isfinite(v))
            msg = (f"training diverged: {bad} became NaN/inf in phase '{ph.name}' at step {self._step}; "
                   f"the last good weights were kept (try a smaller learning rate)")
            self.history.message = msg
            self.history.stopped_early = True
            raise TrainingDiverged(msg)
        self._step += 1
        self.steps_done += 1
        if self._step % self.report_every == 0 or self._step == ph.steps:
            self.history.add(ph.name, self._step, time.perf_counter() - self._t0, losses)
            self._report(losses)
        if snapshot and self._step % self.snapshot_every == 0:
            self._snapshot()
        return losses

    def end_phase(self) -> None:
        """End the current phase (its ``end``, its seconds and stop reason) and run any phases of 0 steps after it."""
        self._end_phase(self.phases[self._phase_i])

    def stop_now(self, message: str) -> None:
        """End every remaining phase without steps (as a stop request does) and mark the history stopped early."""
        self.history.stopped_early = True
        self.history.message = message
        self._finish_all_phases()

    # -- internals ------------------------------------------------------------------------------
    def _end_phase(self, ph: Phase) -> None:
        ph.end(self.model, self.data)
        self.history.phase_seconds[ph.name] = time.perf_counter() - self._phase_t0
        self.history.stop_reasons[ph.name] = getattr(ph, "stop_reason", f"ran its {ph.steps} steps")
        self._phase_i += 1
        self._step = 0
        self._started = False
        while not self.done and self.phases[self._phase_i].steps == 0:
            z = self.phases[self._phase_i]
            t = time.perf_counter()
            z.start(self.model, self.data)
            z.end(self.model, self.data)
            self.history.phase_seconds[z.name] = time.perf_counter() - t
            self._phase_i += 1
        self._report({})

    def _finish_all_phases(self) -> None:
        """On a stop: end the current phase and run the remaining phases' start/end with no steps, so the
        model is usable (e.g. ψ is finalised) though not fully trained."""
        while not self.done:
            ph = self.phases[self._phase_i]
            if not self._started:
                ph.start(self.model, self.data)
            ph.end(self.model, self.data)
            if ph.steps > 0:
                self.history.stop_reasons[ph.name] = (f"stopped by request at step {self._step} of {ph.steps}"
                                                      if self._started else "not run: stopped by request before it")
            self._phase_i += 1
            self._started = False
            self._step = 0

    def _report(self, losses: Dict[str, float]) -> None:
        p = self.progress(losses)
        for cb in self.callbacks:
            cb(p)

    def _snapshot(self) -> None:
        self._good_state = copy.deepcopy(self.model.state_dict())

    def _restore(self) -> None:
        if self._good_state is not None:
            self.model.load_state_dict(self._good_state)

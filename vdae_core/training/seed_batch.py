"""Train K seeds of one model at once (issue 35): each seed its own :class:`~vdae_core.training.trainer.Trainer`
(its weights, data, random generator, history), their steps run together where a phase can stack them.

A phase that can train K copies as one returns a :class:`StackedStep` from ``Phase.stack(trainers)`` (the WGAN-GP's
phase does, on MLP networks: :class:`vdae_core.models.stacked.StackedMLP`); every other phase runs seed after seed
through the trainers' own ``advance``, so any model trains here, and the models that stack declare it
(``GenerativeModel.seed_batch``). Each seed draws its batches and noise from its own generator in the order its
single-seed training would, so a stacked step does what the K single-seed steps do, to float rounding.

A seed whose loss turns NaN stops alone: its trainer raises :class:`~vdae_core.foundation.errors.TrainingDiverged`
as it would alone, the others go on (its slice of the stacked weights is computed on, never read again). A stop
request ends every seed's phases with what it learned, as :meth:`Trainer.request_stop` does for one.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from vdae_core.foundation.errors import TrainingDiverged
from vdae_core.training.trainer import Trainer


class StackedStep:
    """K seeds' steps of one phase as one: what ``Phase.stack`` returns."""

    def step(self, i: int) -> List[Dict[str, float]]:
        """Step ``i`` of every seed; the loss terms of each, in the order of the trainers it was built from."""
        raise NotImplementedError

    def write_back(self, keep: Sequence[bool]) -> None:
        """Copy the trained weights into each seed's model where ``keep`` (a failed seed keeps the weights its
        trainer restored)."""
        raise NotImplementedError


def train_together(trainers: Sequence[Trainer], should_stop: Optional[Callable[[], bool]] = None) -> List[Optional[str]]:
    """Train every trainer to its end, stacking the phases that stack.

    Parameters
    ----------
    trainers : K trainers of one model and config (one seed each; data of one size).
    should_stop : polled between steps; True ends every seed's training (their phases are finalised).

    Returns
    -------
    list of K: None for a seed trained (or stopped) normally, else why it failed (its trainer's message).
    """
    failed: List[Optional[str]] = [None] * len(trainers)
    for tr in trainers:
        tr.start_clock()
    while True:
        live = [k for k, tr in enumerate(trainers) if failed[k] is None and not tr.done]
        if not live:
            return failed
        group = [trainers[k] for k in live]
        names = {tr.phase.name for tr in group}
        if len(names) != 1:  # a seed ahead of the others (a phase of 0 steps, a failure): no common phase to stack
            raise RuntimeError(f"the seeds are in different phases {sorted(names)}")
        for tr in group:
            tr.begin_phase()
        stacked = group[0].phase.stack(group)
        if stacked is None:  # this phase runs seed after seed
            for k, tr in zip(live, group):
                phase = tr.phase
                try:
                    while not tr.done and tr.phase is phase:
                        if should_stop is not None and should_stop():
                            tr.request_stop()
                        tr.advance(max_steps=1)
                except TrainingDiverged as e:
                    failed[k] = str(e)
            continue
        steps = group[0].phase.steps
        stopped_at = None
        for i in range(steps):
            if should_stop is not None and should_stop():
                stopped_at = i
                break
            for k, tr, losses in zip(live, group, stacked.step(i)):
                if failed[k] is None:
                    try:
                        tr.accept_step(losses, snapshot=False)
                    except TrainingDiverged as e:
                        failed[k] = str(e)
        stacked.write_back([failed[k] is None for k in live])
        for k, tr in zip(live, group):
            if failed[k] is not None:
                continue
            if stopped_at is not None:
                tr.stop_now(f"stopped by request in phase '{tr.phase.name}' at step {stopped_at}")
            else:
                tr.end_phase()

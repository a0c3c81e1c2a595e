"""A bounded training queue for one studio server (issue 34, item 2).

Trainings share the server's cores instead of fighting over them: at most ``slots`` train at once, each with
``cores // slots`` torch threads, and at most ``limit`` wait behind them in first-come order. A full queue refuses
new work (:class:`QueueFull`, with the expected wait) instead of accepting work it cannot do.

Why these defaults (``benchmarks/load.py``, docs/BENCHMARKS.md): the studio's networks are small, so a training
is bound by per-operation overhead rather than arithmetic, and one torch thread trains the demo about as fast as
two; two trainings side by side (each in its own worker process, :mod:`.train_worker`) keep two cores busy, and
the load benchmark's four- and eight-session rows were measured with these defaults. Set ``VDAE_TRAIN_SLOTS``,
``VDAE_TRAIN_QUEUE`` and ``VDAE_TRAIN_THREADS`` to change them.

The queue knows nothing of Streamlit or of models: a job is any object; :mod:`vdae_core.pipeline.jobs` runs them.
"""
from __future__ import annotations

import dataclasses
import heapq
import os
import threading
from typing import Any, Callable, List, Optional, Sequence

from vdae_core.foundation.errors import UserInputError

SLOTS_ENV = "VDAE_TRAIN_SLOTS"
LIMIT_ENV = "VDAE_TRAIN_QUEUE"
THREADS_ENV = "VDAE_TRAIN_THREADS"
IN_PROCESS_ENV = "VDAE_TRAIN_IN_PROCESS"
DEFAULT_LIMIT = 8


class QueueFull(UserInputError):
    """The queue holds ``limit`` waiting trainings already: the message says how long until a place frees."""


@dataclasses.dataclass(frozen=True)
class QueueSettings:
    """How many trainings run at once (``slots``), how many may wait (``limit``), torch threads for each."""

    slots: int
    limit: int
    threads: int
    #: Train in worker processes (:mod:`vdae_core.pipeline.train_worker`); False: in a thread of the server's own
    #: process (``VDAE_TRAIN_IN_PROCESS=1``; for debugging, and tests that patch the trainer).
    isolate: bool = True

    @classmethod
    def from_env(cls, cores: Optional[int] = None) -> "QueueSettings":
        """``$VDAE_TRAIN_SLOTS`` (default ``min(2, cores)``), ``$VDAE_TRAIN_QUEUE`` (default 8) and
        ``$VDAE_TRAIN_THREADS`` (torch threads while trainings run; default ``max(1, cores // slots)``). Torch's
        thread count is one setting for the whole process: the pages' own computations share it.

        Raises
        ------
        UserInputError
            A setting that is not a whole number, slots below 1 or a negative queue length.
        """
        if not cores:  # the cores this process may run on (a container's or taskset's limit), not the machine's
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        cores = int(cores)
        slots = _int_env(SLOTS_ENV, min(2, cores))
        limit = _int_env(LIMIT_ENV, DEFAULT_LIMIT)
        threads = _int_env(THREADS_ENV, max(1, cores // max(1, slots)))
        if slots < 1 or limit < 0 or threads < 1:
            raise UserInputError(f"{SLOTS_ENV} and {THREADS_ENV} must be at least 1 and {LIMIT_ENV} at least 0 (got "
                                 f"{slots}, {threads}, {limit})")
        return cls(slots, limit, threads, isolate=os.environ.get(IN_PROCESS_ENV, "").strip().lower() not in ("1", "true", "yes"))


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise UserInputError(f"{name}={raw!r} is not a whole number") from None


def expected_starts(remaining: Sequence[Optional[float]], waiting: Sequence[Optional[float]],
                    slots: int) -> List[Optional[float]]:
    """Seconds from now until each waiting training starts, if every estimate holds.

    The running trainings free their slots after ``remaining`` seconds; each waiting training, in order, takes
    the first slot to free and holds it for its ``waiting`` duration (list scheduling on ``slots`` machines).

    Parameters
    ----------
    remaining : sequence of float or None, length <= slots
        Seconds left of each running training (None: unknown).
    waiting : sequence of float or None
        Expected training seconds of each waiting training, in queue order (None: unknown).
    slots : int
        Trainings that run at once.

    Returns
    -------
    list of float or None, length len(waiting)
        None from the first training whose start depends on an unknown duration onwards.
    """
    free = [0.0] * max(0, slots - len(remaining)) + [r for r in remaining]
    if any(r is None for r in free):
        return [None] * len(waiting)
    heap = [float(r) for r in free]
    heapq.heapify(heap)
    out: List[Optional[float]] = []
    unknown = False
    for d in waiting:
        start = heapq.heappop(heap)
        out.append(None if unknown else start)
        if d is None:
            unknown = True
            d = 0.0
        heapq.heappush(heap, start + float(d))
    return out


class TrainingQueue:
    """First-come slots for trainings: :meth:`submit` enqueues (or refuses), :meth:`wait_turn` blocks a job's thread
    until it may train, :meth:`release` frees its slot, :meth:`cancel` takes a waiting job out.

    Parameters
    ----------
    settings : QueueSettings
    """

    def __init__(self, settings: QueueSettings):
        self.settings = settings
        self._cond = threading.Condition()
        self._waiting: List[Any] = []
        self._running: List[Any] = []
        self._suspended: List[Any] = []  # paused jobs that gave their slot away (their processes wait)

    # -- state ---------------------------------------------------------------------------------------
    def waiting(self) -> List[Any]:
        with self._cond:
            return list(self._waiting)

    def running(self) -> List[Any]:
        with self._cond:
            return list(self._running)

    def position(self, job: Any) -> Optional[int]:
        """1 for the next job to start, 2 for the one after, ...; None when ``job`` is not waiting."""
        with self._cond:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    # -- transitions ---------------------------------------------------------------------------------
    def submit(self, job: Any, wait_text: Callable[[], str] = lambda: "") -> int:
        """Put ``job`` at the back of the queue; returns its position (0: a slot is free, it starts now).

        Raises
        ------
        QueueFull
            ``limit`` jobs are waiting already (the message adds ``wait_text()``, e.g. the expected wait).
        """
        with self._cond:
            if len(self._running) < self.settings.slots and not self._waiting:
                self._running.append(job)
                return 0
            if len(self._waiting) >= self.settings.limit:
                raise QueueFull(f"the studio's training queue is full ({self.settings.slots} training, "
                                f"{len(self._waiting)} waiting, the most it takes): try again later{wait_text()}. "
                                "Nothing was started")
            self._waiting.append(job)
            return len(self._waiting)

    def wait_turn(self, job: Any, poll: float = 0.5) -> bool:
        """Block until ``job`` holds a slot; False if it was cancelled while waiting."""
        with self._cond:
            while True:
                if job in self._running:
                    return True
                if job not in self._waiting:
                    return False
                self._cond.wait(poll)

    def holds(self, job: Any) -> bool:
        """Whether ``job`` holds a slot now."""
        with self._cond:
            return job in self._running

    def suspended(self) -> List[Any]:
        with self._cond:
            return list(self._suspended)

    def suspend(self, job: Any) -> bool:
        """A paused ``job`` gives its slot to the next waiting job (it keeps its process, not the cores); at most
        ``slots`` jobs do at once (each keeps a training process in memory). True if it gave its slot away."""
        with self._cond:
            if job in self._running and len(self._suspended) < self.settings.slots:
                self._running.remove(job)
                self._suspended.append(job)
                self._promote()
                return True
            return False

    def claim(self, job: Any) -> bool:
        """A suspended ``job`` asks for a slot back: True if it holds one now (or never gave it away); else it waits
        in line ahead of every job that never started (after the suspended jobs that asked before it)."""
        with self._cond:
            if job not in self._suspended:  # it kept its slot (or is not this queue's): nothing to take back
                return True
            if job in self._waiting:
                return False
            if len(self._running) < self.settings.slots:
                self._suspended.remove(job)
                self._running.append(job)
                return True
            ahead = sum(1 for j in self._waiting if j in self._suspended)  # earlier resumers stay ahead of it
            self._waiting.insert(ahead, job)
            return False

    def release(self, job: Any) -> None:
        """``job`` has ended (or was cancelled): free its place and start the next waiting jobs."""
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            if job in self._waiting:
                self._waiting.remove(job)
            if job in self._suspended:
                self._suspended.remove(job)
            self._promote()

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.settings.slots:
            job = self._waiting.pop(0)
            if job in self._suspended:
                self._suspended.remove(job)
            self._running.append(job)
        self._cond.notify_all()

    def cancel(self, job: Any) -> bool:
        """Take a waiting ``job`` out of the queue; False if it is not waiting (it may have started)."""
        with self._cond:
            if job not in self._waiting:
                return False
            self._waiting.remove(job)
            self._cond.notify_all()
            return True

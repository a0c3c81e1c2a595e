"""Comparison sweeps started from the Compare page: a grid of runs, each trained through the server's training
queue (a slot, a worker process: :func:`vdae_core.pipeline.jobs.train_queued`) and evaluated in a background thread.

Like a training job (:mod:`.jobs`), a sweep belongs to the browser (owner id) that started it, survives a
page switch or reload, and keeps every run it finished when stopped. Its runs are trained on built-in
datasets only and saved as ordinary shared runs under the runs root (``<job key>/``, see
:mod:`vdae_core.study.sweep`), so they appear in every page's run picker; each is evaluated with the Compare
page's settings and cached in its folder, so the page's tables pick them up.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from typing import List, Optional

from vdae_core.pipeline.run_index import runs_root

_SWEEPS: dict = {}  # owner id -> Sweep
_LOCK = threading.Lock()


@dataclasses.dataclass
class Sweep:
    """A grid of runs in progress (or finished) for one browser."""

    jobs: list
    n_samples: int
    k: int
    eval_seed: Optional[int]  # None: each run's own seed
    done: int = 0
    current: str = ""
    status: str = "running"  # running | stopping | done | stopped | failed
    message: str = ""
    paths: List[str] = dataclasses.field(default_factory=list)
    started: float = dataclasses.field(default_factory=time.time)
    thread: Optional[threading.Thread] = dataclasses.field(default=None, repr=False)

    @property
    def total(self) -> int:
        return len(self.jobs)

    @property
    def active(self) -> bool:
        return self.status in ("running", "stopping")


def get() -> Optional[Sweep]:
    from vdae_core.ui.identity import owner_id

    return _SWEEPS.get(owner_id())


def start(datasets: List[str], models: List[str], seeds: int, quick: bool, n_samples: int, k: int,
          eval_seed: Optional[int]) -> Sweep:
    """Start this browser's sweep (refused while one runs); ``eval_seed`` None: each run's own seed (as the
    ``compare`` command). Raises UserInputError for a bad grid."""
    from vdae_core.study.compare import comparison_overrides
    from vdae_core.study.sweep import grid
    from vdae_core.ui.identity import owner_id

    cur = get()
    if cur is not None and cur.active:
        raise RuntimeError("a comparison is already running in this browser: stop it first")
    scale = 0.1 if quick else 1.0
    jobs = grid(datasets, models, seeds, overrides=lambda m, d: comparison_overrides(m, d, scale),
                n=lambda d: 2000, n_samples=n_samples)
    sw = Sweep(jobs, int(n_samples), int(k), None if eval_seed is None else int(eval_seed))
    with _LOCK:
        _SWEEPS[owner_id()] = sw
    sw.thread = threading.Thread(target=_work, args=(sw, runs_root(), owner_id()), daemon=True, name="vdae-sweep")
    sw.thread.start()
    return sw


def stop(sw: Sweep) -> None:
    """Finish the run in progress, start no other (finished runs are kept)."""
    if sw.active:
        sw.status = "stopping"


def _work(sw: Sweep, root: str, owner: Optional[str] = None) -> None:
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.pipeline import jobs as engines
    from vdae_core.study.evaluation_cache import evaluate_run_cached
    from vdae_core.study.sweep import torch_threads, train_job

    def queued(*args):  # each run waits for a slot of the server's queue and trains in a worker process
        def waiting(place, start):
            if place == 0:
                sw.current = f"{label} — the studio's training queue is full: waiting for room in it"
            elif place is not None:
                when = "" if start is None else f", expected to start in about {start:.0f} s"
                sw.current = f"{label} — waiting for a training slot (place {place}{when})"
        sw.current = label
        return engines.train_queued(*args, browser=owner, on_wait=waiting, give_up=lambda: sw.status != "running")

    try:
        for job in sw.jobs:
            if sw.status != "running":
                break
            label = sw.current = f"{job.model} on {job.dataset}, seed {job.seed}"
            try:
                run, folder, _ = train_job(job, root, train=queued)
            except UserInputError:
                if sw.status != "running":  # stopped while its next run waited: nothing more to do
                    break
                raise
            with torch_threads(1):  # the evaluation runs here: leave the other cores to the queue's trainings
                evaluate_run_cached(folder, run, sw.n_samples, sw.k, job.seed if sw.eval_seed is None else sw.eval_seed)
            sw.paths.append(folder)
            sw.done += 1
        sw.status = "done" if sw.done == sw.total else "stopped"
    except Exception as e:  # noqa: BLE001 - reported in the page, never a traceback there
        sw.status, sw.message = "failed", f"{type(e).__name__}: {e}"
        traceback.print_exc()
    sw.current = ""

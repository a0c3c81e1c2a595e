"""Training jobs of the studio's server: queued, trained in a worker process, saved, journalled.

A :class:`TrainingJob` is built (data, model, trainer: fast, and bad settings fail here, in the request) and
handed to :func:`submit`, which records it in the journal (:mod:`.job_journal`), puts it in the server's
:class:`~.job_queue.TrainingQueue` and starts its thread. The thread waits for a slot, then hands the training to
a worker process (:mod:`.train_worker`: its own interpreter, the queue's thread count) and relays its snapshots
into :attr:`TrainingJob.live` and the page's controls (pause, resume, stop, discard) to it; the worker saves the
run. With ``VDAE_TRAIN_IN_PROCESS=1`` the thread trains itself, in slices (the same snapshots). Whatever the end
(saved, failed, discarded, cancelled) the slot is freed and the journal record deleted; only a server that dies
leaves a record behind.

This module knows nothing of Streamlit: the app's per-browser table and drawing are ``vdae_core/ui/jobs.py``; a
test can run jobs in a plain process and kill it.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import statistics
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple

from vdae_core.pipeline import job_journal
from vdae_core.pipeline.job_queue import QueueFull, QueueSettings, TrainingQueue, expected_starts
from vdae_core.pipeline.train_worker import WorkerPool, snapshot

TICK_BUDGET = 0.25  # seconds of training per slice of the background thread (pause/stop latency)
log = logging.getLogger("vdae_studio")

_QUEUE: Optional[TrainingQueue] = None
_POOL: Optional[WorkerPool] = None
_QUEUE_LOCK = threading.Lock()
#: Seconds each finished training took, by (model, preset, points): what the queue's expected start is priced at.
_DURATIONS: Dict[Tuple[str, str, int], List[float]] = {}


def queue() -> TrainingQueue:
    """The server's training queue (made on first use from :meth:`QueueSettings.from_env`)."""
    global _QUEUE
    with _QUEUE_LOCK:
        if _QUEUE is None:
            _QUEUE = TrainingQueue(QueueSettings.from_env())
        return _QUEUE


def pool() -> WorkerPool:
    """The server's idle training processes (their thread count is the queue's)."""
    global _POOL
    q = queue()
    with _QUEUE_LOCK:
        if _POOL is None or _POOL.threads != q.settings.threads:
            _POOL = WorkerPool(q.settings.threads)
        return _POOL


def warm_workers() -> None:
    """Start the queue's worker processes ahead of the first training (the app calls it in its warm-up thread)."""
    q = queue()
    if q.settings.isolate:
        pool().warm(q.settings.slots)


def reset_queue(settings: Optional[QueueSettings] = None) -> TrainingQueue:
    """Replace the server's queue (tests; a server whose settings changed). Jobs in the old queue keep it."""
    global _QUEUE
    with _QUEUE_LOCK:
        _QUEUE = TrainingQueue(settings or QueueSettings.from_env())
        return _QUEUE


@dataclasses.dataclass
class Live:
    """What the pages show of a training, updated after every slice (from the worker's snapshots)."""

    progress: Any = None  # the trainer's Progress
    steps_done: int = 0
    total_steps: int = 0
    eta: Optional[Tuple[float, bool]] = None
    records: Dict[str, List[Dict[str, float]]] = dataclasses.field(default_factory=dict)
    done: bool = False
    stopped_early: bool = False

    def update(self, snap: Dict[str, Any]) -> None:
        """Apply a :func:`~vdae_core.pipeline.train_worker.snapshot` (its records are the new ones only)."""
        records = {k: list(v) for k, v in self.records.items()}
        for phase, recs in snap["records"].items():
            records.setdefault(phase, []).extend(recs)
        self.progress, self.steps_done, self.total_steps = snap["progress"], snap["steps_done"], snap["total_steps"]
        self.eta, self.done, self.stopped_early = snap["eta"], snap["done"], snap["stopped_early"]
        self.records = records  # replaced whole: a page reading it never sees half an update


@dataclasses.dataclass(eq=False)
class TrainingJob:
    """A training queued, in progress, or just ended."""

    model_name: str
    overrides: Dict[str, Any]
    data_config: Dict[str, Any]
    seed: int
    dataset: Any
    #: The model and trainer as built in the request (their settings, phases and step counts). The training
    #: itself runs in a worker process: its progress is :attr:`live`, the trained model is in :attr:`run_path`.
    model: Any
    trainer: Any
    #: The pipeline's :class:`~vdae_core.pipeline.train.Training` (spec + trainer) that ``finish`` saves.
    training: Any = None
    status: str = "running"  # queued | running | paused | done | stopped | failed | discarded | cancelled
    message: str = ""
    run_path: Optional[str] = None
    started: float = dataclasses.field(default_factory=time.time)
    train_seconds: float = 0.0
    #: The uploading browser's owner id when the data is an upload (the saved run is private to it), else None.
    owner: Optional[str] = None
    #: Held while the job's state changes (and, in-process, while the trainer advances): Streamlit may start the
    #: next script run before the previous one has stopped, and the job's thread sets final states. Re-entrant.
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock, repr=False, compare=False)
    thread: Optional[threading.Thread] = dataclasses.field(default=None, repr=False, compare=False)
    finished: Optional[float] = None
    #: Seconds spent paused so far, and since when the job is paused (None: not paused).
    paused_total: float = 0.0
    paused_since: Optional[float] = None
    #: Resume was pressed but every slot is taken: the job resumes when it gets one back (it is first in line).
    resume_pending: bool = False
    #: The Train page's preset the settings started from ("Quick", "Live", ...), kept in the run's info.
    preset: str = ""
    #: The browser that started it (its owner id; the journal shows an interrupted job to it alone).
    browser: Optional[str] = None
    #: The journal's id of this job and the runs root it saves under (None: not journalled, e.g. a test's job).
    job_id: Optional[str] = None
    root: Optional[str] = None
    queued_at: Optional[float] = None
    live: Live = dataclasses.field(default_factory=Live, repr=False)
    #: Controls for the worker ("pause", "resume", "stop", "discard"), sent by the job's thread.
    controls: List[str] = dataclasses.field(default_factory=list, repr=False)
    #: Where the run is saved (None: a new folder under the root, named by data, model and seed), and the run's
    #: ``source`` in its info ("studio"; a lesson's or a sweep's run says so).
    folder: Optional[str] = None
    source: str = "studio"

    def wall_seconds(self, now: Optional[float] = None) -> float:
        """Wall time since training started, pauses left out: what the progress line's timer shows."""
        end = self.finished if self.finished is not None else (now if now is not None else time.time())
        paused = self.paused_total + ((end - self.paused_since) if self.paused_since is not None else 0.0)
        return max(0.0, end - self.started - paused)

    @property
    def label(self) -> str:
        return f"{self.model_name} · {self.dataset.name} · seed {self.seed}"

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running", "paused")

    @property
    def cost_key(self) -> Tuple[str, str, int]:
        return self.model_name, self.preset, int(getattr(self.dataset, "n", 0))

    def spec(self) -> Dict[str, Any]:
        """What to train, as JSON: enough for "Retrain" after a restart."""
        return {"model_name": self.model_name, "overrides": self.overrides, "data_config": self.data_config,
                "seed": self.seed, "preset": self.preset, "label": self.label}


def submit(job: TrainingJob, root: Optional[str] = None) -> int:
    """Journal ``job`` under ``root``, queue it and start its thread; returns its place (0: it trains now).

    Raises
    ------
    QueueFull
        The queue is full (nothing is journalled or started).
    """
    q = queue()
    job.status, job.queued_at = "queued", time.time()
    if job.trainer is not None:
        job.live.update(snapshot(job.trainer, {}))
    place = q.submit(job, wait_text=lambda: _wait_text(q))
    try:
        if root is not None:
            job.root, job.job_id = root, job_journal.new_id()
            try:
                job_journal.write(root, job.job_id, browser=job.browser, status="queued", submitted=job.queued_at,
                                  **job.spec())
            except (OSError, TypeError, ValueError) as e:  # a full disk, settings that are not JSON: not journalled
                log.warning("could not journal the training: %s", e)
                job.job_id = None
        job.thread = threading.Thread(target=_work, args=(job,), name=f"vdae-train-{(job.browser or 'cli')[:8]}",
                                      daemon=True)
        job.thread.start()
    except BaseException:
        q.release(job)  # its place must not stay taken by a job that has no thread
        job.status = "failed"
        raise
    return place


def _wait_text(q: TrainingQueue) -> str:
    starts = expected_starts([_remaining(j) for j in q.running()], [_cost(j) for j in q.waiting()],
                             q.settings.slots)
    first = starts[0] if starts else None  # a place frees when the first waiting training starts
    return "" if first is None else f" (a place frees in about {first:.0f} s)"


def _remaining(job: TrainingJob) -> Optional[float]:
    """Seconds left of a training that holds a slot (None: unknown, e.g. paused or no rate yet)."""
    if job.status == "paused":
        return None
    if job.status == "queued" or job.live.steps_done == 0:  # holds a slot, has not stepped yet
        return estimate(job)
    return None if job.live.eta is None else job.live.eta[0]


def _cost(job: TrainingJob) -> Optional[float]:
    """Seconds a waiting job will hold its slot: the time left of a paused one waiting to resume, else its
    estimate."""
    if job.live.steps_done and job.live.eta is not None:
        return job.live.eta[0]
    return estimate(job)


def estimate(job: TrainingJob) -> Optional[float]:
    """Expected training seconds of ``job``: the median of the same model, preset and size trained here before."""
    seen = _DURATIONS.get(job.cost_key)
    return statistics.median(seen) if seen else None


def expected_start(job: TrainingJob) -> Tuple[Optional[int], Optional[float]]:
    """(place in the queue, seconds until it starts if every estimate holds) of a waiting ``job``."""
    q = queue()
    waiting = q.waiting()
    if job not in waiting:
        return None, None
    i = waiting.index(job)
    starts = expected_starts([_remaining(j) for j in q.running()], [_cost(j) for j in waiting[: i + 1]],
                             q.settings.slots)
    return i + 1, starts[i]


def cancel(job: TrainingJob) -> bool:
    """Take a waiting job out of the queue (nothing trained, nothing saved); False if it had started."""
    with job.lock:
        if job.status != "queued" or not queue().cancel(job):
            return False
        job.status, job.finished = "cancelled", time.time()
        return True


def _work(job: TrainingJob) -> None:
    """The job's thread: wait for a slot, train (in a worker process, or here), free the slot, end the record."""
    q = queue()
    try:
        if not q.wait_turn(job):
            return  # cancelled while waiting
        with job.lock:
            if job.status != "queued":
                return  # discarded as it got its slot
            job.status, job.started = "running", time.time()
        if job.job_id:
            _journal(job, status="running", started=job.started)
        if q.settings.isolate:
            _relay(job)
        else:
            _train_here(job, q.settings.threads)
    except BaseException as e:  # a bug in this thread: the job fails with a message instead of staying "running"
        log.error("training thread failed:\n%s", traceback.format_exc())
        _end(job, "failed", message=f"training failed ({type(e).__name__}: {str(e)[:200]})")
    finally:
        if job.active:  # ended first: a Resume pressed now finds a final state and claims no slot
            _end(job, "failed", message="training ended without a result")
        q.release(job)
        if job.status == "done":  # a stopped run's time would price the next one too low
            _DURATIONS.setdefault(job.cost_key, []).append(job.train_seconds)
            del _DURATIONS[job.cost_key][:-20]
        if job.job_id:
            job_journal.remove(job.root, job.job_id)
            job_journal.record_end(job.root, job.job_id, status=job.status, model=job.model_name,
                                   submitted=job.queued_at, started=job.started if job.status != "cancelled" else None,
                                   ended=job.finished, train_s=job.train_seconds)


def _order(job: TrainingJob) -> Dict[str, Any]:
    from vdae_core.pipeline.run_index import runs_root

    return {"model_name": job.model_name, "overrides": job.overrides, "data_config": job.data_config,
            "seed": job.seed, "owner": job.owner, "preset": job.preset, "root": job.root or runs_root(),
            "folder": job.folder, "source": job.source,
            "data_hash": getattr(job.dataset, "content_hash", None), "server_pid": os.getpid(),
            "server_start": job_journal.proc_start_ticks(os.getpid())}


def _relay(job: TrainingJob) -> None:
    """Hand ``job`` to a worker process; relay its snapshots into ``job`` and ``job.controls`` to it."""
    p = pool()
    try:
        worker = p.acquire()
        worker.conn.send(("train", _order(job)))
    except Exception as e:  # no worker: the job fails with a message instead of waiting for ever
        log.error("no training process:\n%s", traceback.format_exc())
        _fail(job, f"the training process could not start ({type(e).__name__}: {e})")
        return
    clean = False
    try:
        while True:
            _resume_when_slot(job)
            while job.controls:
                worker.conn.send(job.controls.pop(0))
            if worker.conn.poll(0.05):
                msg = worker.conn.recv()
                if msg[0] == "progress":
                    job.live.update(msg[1])
                    job.train_seconds = msg[2]
                elif msg[0] == "done":
                    job.live.update(msg[3])
                    job.train_seconds = msg[4]
                    with job.lock:
                        if job.status == "discarded":  # discarded while the worker saved: the user asked for nothing
                            shutil.rmtree(msg[1], ignore_errors=True)
                        else:
                            job.run_path = msg[1]
                            _end(job, "stopped" if job.live.stopped_early else "done", message=msg[2])
                    clean = True
                    return
                elif msg[0] == "failed":
                    _fail(job, msg[1])
                    clean = True
                    return
                elif msg[0] == "discarded":
                    clean = True
                    return
            elif not worker.alive():
                _fail(job, f"the training process ended unexpectedly ({worker.exit_text}); nothing was saved")
                return
    except (EOFError, OSError) as e:
        _fail(job, f"lost contact with the training process ({type(e).__name__}); nothing was saved")
    except Exception as e:  # a message it could not read: fail the job rather than leave it running for ever
        log.error("relaying the training failed:\n%s", traceback.format_exc())
        _fail(job, f"the training's progress could not be read ({type(e).__name__}: {str(e)[:200]})")
    finally:
        if clean:
            p.release(worker, keep=queue().settings.slots)
        else:
            worker.close()


def _end(job: TrainingJob, status: str, message: str = "") -> None:
    """Put ``job`` in a final state unless it is in one already (a discard or a cancel wins over a late result)."""
    with job.lock:
        if job.status in ("running", "paused", "queued"):
            job.status, job.message, job.finished = status, message, time.time()


def _fail(job: TrainingJob, message: str) -> None:
    _end(job, "failed", message)


def _train_here(job: TrainingJob, threads: int) -> None:
    """Train in this thread (``VDAE_TRAIN_IN_PROCESS=1``): slices of :data:`TICK_BUDGET` while running."""
    import torch

    torch.set_num_threads(threads)  # process-wide: the server's own computations share it
    sent: Dict[str, int] = {}
    while job.status in ("running", "paused"):
        _resume_when_slot(job)
        while job.controls:
            if job.controls.pop(0) == "stop":
                job.trainer.request_stop()
        if job.status == "paused":
            time.sleep(0.05)
            continue
        tick(job)
        with job.lock:
            job.live.update(snapshot(job.trainer, sent))


def _journal(job: TrainingJob, **fields: Any) -> None:
    try:
        job_journal.write(job.root, job.job_id, **fields)
    except OSError as e:
        log.warning("could not update the training's journal record: %s", e)


def tick(job: TrainingJob, budget: float = TICK_BUDGET) -> None:
    """Advance a running job by about ``budget`` seconds; finish (save) it when the trainer is done."""
    from vdae_core.foundation.errors import TrainingDiverged, UserInputError

    if job.status != "running":
        return
    with job.lock:
        if job.status != "running":
            return
        t0 = time.perf_counter()
        try:
            job.trainer.advance(max_steps=1_000_000, max_seconds=budget)
        except (TrainingDiverged, UserInputError) as e:
            job.status, job.message, job.finished = "failed", str(e), time.time()
            return
        except Exception as e:  # a bug or an out-of-memory: report it in the page, keep the session alive
            log.error("training failed:\n%s", traceback.format_exc())
            job.status, job.message = "failed", f"training failed ({type(e).__name__}: {str(e)[:300]})"
            job.finished = time.time()
            return
        finally:
            job.train_seconds += time.perf_counter() - t0
        if job.trainer.done:
            finish(job)


def finish(job: TrainingJob) -> None:
    """Save the trained model as a run folder under the job's root (or the runs root)."""
    from vdae_core.pipeline.run_index import new_run_dir, runs_root
    from vdae_core.pipeline.runs import save_run
    from vdae_core.pipeline.train import finish as finish_run

    try:
        run = finish_run(job.training, job.train_seconds, owner=job.owner, source=job.source, preset=job.preset)
        if job.folder:
            os.makedirs(os.path.dirname(os.path.abspath(job.folder)), exist_ok=True)
            path = save_run(run, job.folder, overwrite=True)
        else:
            root = job.root or runs_root()
            os.makedirs(root, exist_ok=True)
            path = save_run(run, new_run_dir(root, job.dataset.name, job.model_name, job.seed))
    except Exception as e:
        log.error("saving the run failed:\n%s", traceback.format_exc())
        job.status, job.message = "failed", f"the run could not be saved ({type(e).__name__}: {str(e)[:200]})"
        job.finished = time.time()
        return
    job.run_path = path
    job.message = run.history.message
    job.finished = time.time()
    job.status = "stopped" if run.history.stopped_early else "done"


def set_paused(job: TrainingJob, paused: bool) -> None:
    """Pause or resume a training. A paused training gives its slot to the next waiting one (its process waits,
    using no core); resumed, it takes a slot back, or waits first in line until one frees
    (:attr:`TrainingJob.resume_pending`)."""
    q = queue()
    with job.lock:
        if job.status not in ("running", "paused"):  # never a final state: a result that arrived first stands
            return
        if paused:
            job.resume_pending = False
            if job.status == "running":
                job.paused_since = time.time()
                job.controls.append("pause")
                job.status = "paused"
            q.cancel(job)  # pressed Pause again while waiting to resume: it stays paused, out of the line
            q.suspend(job)
        elif job.status == "paused":
            if q.claim(job):
                _resumed(job)
            else:
                job.resume_pending = True


def _resumed(job: TrainingJob) -> None:
    """(job.lock held) ``job`` holds a slot again: account the pause, tell the worker, run."""
    if job.paused_since is not None:
        job.paused_total += time.time() - job.paused_since
        job.paused_since = None
    job.resume_pending = False
    job.controls.append("resume")
    job.status = "running"


def _resume_when_slot(job: TrainingJob) -> None:
    """The job's thread: resume a job waiting to resume once the queue has given it a slot."""
    if job.resume_pending and queue().holds(job):
        with job.lock:
            if job.resume_pending and job.status == "paused":
                _resumed(job)


def stop(job: TrainingJob) -> None:
    """Stop after the current step; the thread then ends the phases and saves what was learned (a paused job
    finishes without taking a slot back: ending the phases is short)."""
    with job.lock:
        job.controls.append("stop")
        if job.status == "paused":
            job.paused_total += time.time() - (job.paused_since or time.time())
            job.paused_since = None
            job.resume_pending = False
            queue().cancel(job)  # out of the line to resume
            job.status = "running"


def discard(job: TrainingJob) -> None:
    """Abandon the job: a waiting one leaves the queue, a running one's thread ends after the current slice;
    nothing is saved."""
    with job.lock:
        queue().cancel(job)
        if job.active:  # a saved run stays saved: Discard only abandons what has not ended
            job.controls.append("discard")
            job.status = "discarded"


def train_queued(model_name: str, data_config: Dict[str, Any], overrides: Dict[str, Any], seed: int, folder: str,
                 info: Optional[Dict[str, Any]] = None, browser: Optional[str] = None,
                 on_wait: Optional[Any] = None, give_up: Optional[Any] = None, poll: float = 0.25):
    """Train one run through the server's queue (a slot, a worker process: :func:`submit`) and save it as ``folder``;
    returns the saved :class:`~vdae_core.pipeline.runs.Run`. The app's lessons and comparison sweeps train this way
    (:data:`~vdae_core.pipeline.train.TrainInto`), so their trainings share the slots with the Train page's.

    Parameters
    ----------
    info : dict, optional
        ``source`` and ``preset`` of the run's info.
    on_wait : callable(place, seconds or None), optional
        Called while the job waits for a slot (its place and expected start; place 0 while the queue is full
        and the job waits to enter it).
    give_up : callable() -> bool, optional
        True: leave the queue if the job has not started (a stopped sweep); a started one finishes.

    Raises
    ------
    UserInputError
        Bad settings or data (raised before queueing), a training or save that failed, or a job that gave up before
        it started (nothing saved). A full queue is waited out (a lesson or a sweep is not refused like a click
        on Train); an exception in ``on_wait`` (Streamlit stopping the script) takes a waiting job out of the queue.
    """
    from vdae_core.data import DataConfig
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.pipeline.runs import load_run
    from vdae_core.pipeline.train import start

    info = dict(info or {})
    training = start(model_name, DataConfig.from_dict(dict(data_config)), dict(overrides), int(seed))
    job = TrainingJob(model_name, dict(overrides), dict(data_config), int(seed), training.spec.dataset,
                      training.trainer.model, training.trainer, training, preset=info.get("preset", ""),
                      browser=browser, folder=folder, source=info.get("source", "studio"))
    try:
        while True:
            try:
                submit(job)  # not journalled: a lesson or sweep trains its folder again when it is missing
                break
            except QueueFull:
                if give_up is not None and give_up():
                    raise UserInputError(f"{job.label}: left the queue before it started; nothing was trained") \
                        from None
                if on_wait is not None:
                    on_wait(0, None)
                time.sleep(max(poll, 1.0))
        while job.thread.is_alive():
            if job.status == "queued":
                if give_up is not None and give_up():
                    cancel(job)
                elif on_wait is not None:
                    on_wait(*expected_start(job))
            job.thread.join(poll)
    except BaseException:
        cancel(job)  # a page that stopped waiting leaves no orphan in the queue (a started training still saves)
        raise
    if job.status == "cancelled":
        raise UserInputError(f"{job.label}: left the queue before it started; nothing was trained")
    if job.status not in ("done", "stopped") or not job.run_path:
        raise UserInputError(f"{job.label}: {job.message or job.status}")
    return load_run(job.run_path)

"""Training jobs that belong to the server, not to the browser tab.

Each browser (owner id, see :mod:`.identity`) has at most one job, kept in a process-wide table and run
by a background thread that calls ``Trainer.advance`` a fraction of a second at a time (so pause and stop
take effect within that slice). Reloading the tab or opening a second one finds the same job through the
owner id and shows its live curves; closing the tab does not stop it, and a finished training is saved
under the runs root whether or not anyone is watching. The pages draw the job in a fragment that reruns
itself every :data:`TICK_EVERY` seconds while it runs. A failure (``TrainingDiverged``, ``UserInputError``
or any other error) is reported in the page and the previously active run is kept.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import traceback
from typing import Any, Dict, Optional

import streamlit as st

from vdae_core.ui import state

JOB_KEY = "_job"  # mirror of this browser's job in session state (for tests and the pages' convenience)
TICK_EVERY = 0.6  # seconds between redraws of the job panel while training
TICK_BUDGET = 0.25  # seconds of training per slice of the background thread (pause/stop latency)
KEEP_FINISHED_S = 6 * 3600  # a finished job (its curves and message) is dropped from memory after this
log = logging.getLogger("vdae_studio")
_JOBS: Dict[str, "TrainingJob"] = {}  # owner id -> that browser's job
_JOBS_LOCK = threading.Lock()

DEMO_DATA = dict(dataset="torus", n=2000)  # 1,500: the live preset's samples lose the tube (issue 29)
DEMO_MODEL = "vdae"
DEMO_MEASURED = "vdae_presets.json"  # the demo model's LIVE_MEASURED (a test checks they agree)
DEMO_SCALE_ENV = "VDAE_DEMO_STEPS_SCALE"  # tests and benchmarks shrink the demo further


def demo_scale() -> float:
    """The step scale of the short presets in the app (``$VDAE_DEMO_STEPS_SCALE``; tests and benchmarks shrink them)."""
    return float(os.environ.get(DEMO_SCALE_ENV, "1") or 1)


def demo_overrides(model_name: str) -> Dict[str, Any]:
    """The short preset of a model (live where it has one, else quick), steps scaled by :func:`demo_scale`."""
    from vdae_core.pipeline.presets import compose, quick_name

    return compose(model_name, quick_name(model_name), scale=demo_scale())


def quick_preset_name(model_name: str) -> str:
    """What :func:`demo_overrides` is called on the Train page ("Quick", for every model)."""
    from vdae_core.pipeline.presets import quick_name, short_label

    return short_label(quick_name(model_name))


def demo_time_text(infos) -> str:
    """What the Home page promises for the demo: the click-to-saved time measured in this app in Chromium
    (``benchmarks/bench_demo.py``: server, browser and training on the same 2-core machine) and, when this
    studio has trained the demo before, how long its training took here.

    Parameters
    ----------
    infos : list of RunInfo
        The saved runs this browser sees.
    """
    from vdae_core.foundation.preset_costs import read_measured

    demo = (read_measured(DEMO_MEASURED) or {}).get("demo") or {}  # by file: the Home page imports no torch
    parts = []
    if demo.get("wall_s"):
        parts.append(f"About {demo['wall_s']:.0f} s from the click to the saved run on a 2-core CPU "
                     f"({demo['train_s']:.0f} s of it training, measured in this app in a browser, {demo.get('date', '')})")
    mine = [r for r in infos if r.model == DEMO_MODEL and r.dataset == DEMO_DATA["dataset"] and r.n == DEMO_DATA["n"]]
    if mine:
        last = max(mine, key=lambda r: r.mtime)
        parts.append(f"the last such run here trained in {last.train_seconds:.1f} s")
    return ("; ".join(parts) + ".") if parts else "A few seconds on a laptop CPU."


@dataclasses.dataclass
class TrainingJob:
    """A training in progress (or just finished) in this session."""

    model_name: str
    overrides: Dict[str, Any]
    data_config: Dict[str, Any]
    seed: int
    dataset: Any
    model: Any
    trainer: Any
    #: The pipeline's :class:`~vdae_core.pipeline.train.Training` (spec + trainer) that ``finish`` saves.
    training: Any = None
    status: str = "running"  # running | paused | done | stopped | failed | discarded
    message: str = ""
    run_path: Optional[str] = None
    started: float = dataclasses.field(default_factory=time.time)
    train_seconds: float = 0.0
    progress: Any = None
    #: The uploading browser's owner id when the data is an upload (the saved run is private to it), else None.
    owner: Optional[str] = None
    #: Held while the trainer advances. Streamlit may start the next script run (a page switch, a click)
    #: before the previous one has stopped, so two runs of this session can overlap for a moment.
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)
    thread: Optional[threading.Thread] = dataclasses.field(default=None, repr=False, compare=False)
    finished: Optional[float] = None
    #: Seconds spent paused so far, and since when the job is paused (None: not paused).
    paused_total: float = 0.0
    paused_since: Optional[float] = None
    #: The Train page's preset the settings started from ("Quick", "Live", ...), kept in the run's info.
    preset: str = ""

    def wall_seconds(self, now: Optional[float] = None) -> float:
        """Wall time since the start, pauses left out: what the progress line's timer shows."""
        end = self.finished if self.finished is not None else (now if now is not None else time.time())
        paused = self.paused_total + ((end - self.paused_since) if self.paused_since is not None else 0.0)
        return max(0.0, end - self.started - paused)

    @property
    def label(self) -> str:
        return f"{self.model_name} · {self.dataset.name} · seed {self.seed}"

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")


def get_job() -> Optional[TrainingJob]:
    """This browser's job (running or finished), or None; mirrored in ``st.session_state['_job']``."""
    from vdae_core.ui.identity import owner_id

    job = _JOBS.get(owner_id())
    if job is None:
        st.session_state.pop(JOB_KEY, None)
    else:
        st.session_state[JOB_KEY] = job
    return job


def _prune(now: float) -> None:
    with _JOBS_LOCK:
        for k in [k for k, j in _JOBS.items() if j.finished and now - j.finished > KEEP_FINISHED_S]:
            del _JOBS[k]


def start_job(model_name: str, overrides: Dict[str, Any], data_config: Dict[str, Any], seed: int,
              preset: str = "") -> TrainingJob:
    """Build the data, model and trainer and make it this session's job (replacing a finished one).

    ``preset`` (the Train page's preset the settings started from) is saved in the run's info, so that the
    run picker can tell this run from others of the same dataset, model and seed.

    Raises
    ------
    UserInputError
        Bad data or hyperparameters (nothing is changed then).
    RuntimeError
        A job is already running for this browser.
    """
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.train import start
    from vdae_core.ui import cache

    cur = get_job()
    if cur is not None and cur.active:
        raise RuntimeError("a training is already running in this browser: stop it first")
    from vdae_core.foundation.registry import DATASETS
    from vdae_core.ui.identity import owner_id

    ds = cache.dataset(data_config)
    training = start(model_name, DataConfig.from_dict(data_config), dict(overrides), int(seed), dataset=ds,
                     report_every=5)
    trainer, model = training.trainer, training.trainer.model
    owner = None if data_config["dataset"] in DATASETS else owner_id()  # uploads stay private
    job = TrainingJob(model_name, dict(overrides), dict(data_config), int(seed), ds, model, trainer, training,
                      owner=owner, preset=str(preset))
    _prune(time.time())
    with _JOBS_LOCK:
        _JOBS[owner_id()] = job
    st.session_state[JOB_KEY] = job
    job.thread = threading.Thread(target=_work, args=(job,), name=f"vdae-train-{owner_id()[:8]}", daemon=True)
    job.thread.start()
    return job


def _work(job: TrainingJob) -> None:
    """The job's thread: advance in slices while running, idle while paused, end when finished."""
    while job.status in ("running", "paused"):
        if job.status == "paused":
            time.sleep(0.05)
            continue
        tick(job)


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
            job.progress = job.trainer.advance(max_steps=1_000_000, max_seconds=budget)
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
    """Save the trained model as a run folder (it becomes the active run of the pages that show the job)."""
    from vdae_core.pipeline.run_index import new_run_dir, runs_root
    from vdae_core.pipeline.train import finish as finish_run
    from vdae_core.pipeline.runs import save_run

    try:
        run = finish_run(job.training, job.train_seconds, owner=job.owner, source="studio", preset=job.preset)
        root = runs_root()
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
    """Pause or resume; returns once the slice in progress (if any) has ended."""
    with job.lock:
        if job.active:
            now = time.time()
            if paused and job.paused_since is None:
                job.paused_since = now
            elif not paused and job.paused_since is not None:
                job.paused_total += now - job.paused_since
                job.paused_since = None
            job.status = "paused" if paused else "running"


def stop(job: TrainingJob) -> None:
    """Stop after the current step; the thread then ends the phases and saves what was learned."""
    with job.lock:
        job.trainer.request_stop()
        if job.active:
            job.status = "running"


def discard(job: TrainingJob) -> None:
    """Abandon the job: its thread ends after the current slice and nothing is saved."""
    with job.lock:
        job.status = "discarded"
    with _JOBS_LOCK:
        for k, j in list(_JOBS.items()):
            if j is job:
                del _JOBS[k]
    st.session_state.pop(JOB_KEY, None)


# -- rendering --------------------------------------------------------------------------------------
def _progress_text(job: TrainingJob) -> str:
    p = job.progress or job.trainer.progress()
    if job.status in ("done", "stopped"):
        return f"Finished in {job.wall_seconds():.0f} s ({job.train_seconds:.0f} s of it training)"
    phase_no = f"phase {p.phase_index + 1}/{p.n_phases}"
    eta = job.trainer.eta_seconds() if job.status == "running" else None
    left = "" if eta is None else (f" · at most {eta[0]:.0f} s left (less if the loss converges)" if eta[1]
                                   else f" · about {eta[0]:.0f} s left")
    return (f"{phase_no}: **{p.phase}** · step {p.step}/{p.phase_steps} · {job.trainer.steps_done}/"
            f"{job.trainer.total_steps} steps · {job.wall_seconds():.0f} s{left}")


def _draw(job: TrainingJob, detailed: bool) -> None:
    tr = job.trainer
    frac = 1.0 if job.status in ("done", "stopped") else min(1.0, tr.steps_done / max(1, tr.total_steps))
    if not detailed:
        st.caption(f"Training {job.label} ({job.status})")
        st.progress(frac, text=_progress_text(job) if job.status != "failed" else "failed")
        if job.status == "failed":
            st.error(job.message)
        return
    st.progress(frac, text=f"{job.status.capitalize()} — {_progress_text(job)}")
    if job.status == "failed":
        st.error(f"{job.message}. The previously active run is kept.", icon=":material/error:")
    elif job.status in ("done", "stopped"):
        extra = f" ({job.message})" if job.message else ""
        st.success(f"Saved run `{os.path.basename(job.run_path or '')}`{extra}. It is now the active run on every "
                   "page.", icon=":material/check_circle:")
    c = st.columns([1, 1, 1, 3])
    if job.status in ("running", "paused"):
        running = job.status == "running"
        if running:
            if c[0].button("Pause", key="job.pause", icon=":material/pause:"):
                set_paused(job, True)
                st.rerun()
        elif c[0].button("Resume", key="job.resume", icon=":material/play_arrow:", type="primary"):
            set_paused(job, False)
            st.rerun()
        if c[1].button("Stop & save", key="job.stop" if running else "job.stop2", icon=":material/stop:",
                       help="End training now and save what was learned (the remaining phases are finalised)."
                       if running else None):
            stop(job)
            st.rerun()
        if c[2].button("Discard", key="job.discard", icon=":material/delete:",
                       help="Abandon this training; nothing is saved."):
            discard(job)
            st.rerun()
    from vdae_core.viz.curves import loss_curves

    phases = [p.name for p in tr.phases if p.steps > 0]
    with job.lock:  # a consistent snapshot: the thread appends to the history between slices only
        cur = tr.progress().phase if not tr.done else None
        records = {k: list(v) for k, v in tr.history.records.items()}
    fig = loss_curves(records, phases, current_phase=cur)
    if job.active:  # redrawn every tick: no download button churning under the cursor
        st.plotly_chart(fig, key="job.loss", width="stretch", config={"displaylogo": False})
    else:
        from vdae_core.ui.widgets import figure

        figure(fig, "job.loss", f"{job.dataset.name}_{job.model_name}_s{job.seed}_losses")


def render(detailed: bool) -> None:
    """Draw the job (if any) in a fragment that, while training runs, reruns itself every
    :data:`TICK_EVERY` seconds and advances the trainer each time."""
    job = get_job()
    if job is None:
        return
    every = TICK_EVERY if job.status == "running" else None

    @st.fragment(run_every=every)
    def job_panel() -> None:
        j = get_job()
        if j is None:
            return
        _draw(j, detailed)
        ss = st.session_state
        if j.run_path and ss.get("_job_run_seen") != j.run_path:
            ss["_job_run_seen"] = j.run_path
            state.request_run(j.run_path)  # applied by app.py at the top of the next run
            st.rerun()  # full rerun: the pages pick up the new run, the timer stops
        elif every is not None and not j.active:
            st.rerun()

    job_panel()

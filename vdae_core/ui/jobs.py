"""Training jobs that belong to the server, not to the browser tab: the app's side of
:mod:`vdae_core.pipeline.jobs` (the queue, the training thread, the journal).

Each browser (owner id, see :mod:`.identity`) has at most one job, kept in a process-wide table. Reloading
the tab or opening a second one finds the same job through the owner id and shows its place in the server's
queue or its live curves; closing the tab does not stop it, and a finished training is saved under the runs
root whether or not anyone is watching. The pages draw the job in a fragment that reruns itself every
:data:`TICK_EVERY` seconds while it waits or runs. A failure (``TrainingDiverged``, ``UserInputError`` or any
other error) is reported in the page and the previously active run is kept. Trainings a server stop
interrupted are listed on the Train page with "Retrain" (:func:`render_interrupted`).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, Optional

import streamlit as st

from vdae_core.pipeline import jobs as engine
from vdae_core.pipeline.jobs import TrainingJob, cancel, set_paused, stop  # noqa: F401  (the pages' API)
from vdae_core.ui import state

JOB_KEY = "_job"  # mirror of this browser's job in session state (for tests and the pages' convenience)
TICK_EVERY = 1.0  # seconds between redraws of the job's progress while training or queued
CURVES_EVERY = 3.0  # seconds between redraws of its loss curves while training
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


def get_job() -> Optional[TrainingJob]:
    """This browser's job (queued, running or ended), or None; mirrored in ``st.session_state['_job']``."""
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
    """Build the data, model and trainer and queue the training as this browser's job (replacing an ended one).

    ``preset`` (the Train page's preset the settings started from) is saved in the run's info, so that the
    run picker can tell this run from others of the same dataset, model and seed.

    Raises
    ------
    UserInputError
        Bad data or hyperparameters, or the server's training queue is full (nothing is changed then).
    RuntimeError
        A job is already queued or running for this browser.
    """
    from vdae_core.data import DataConfig
    from vdae_core.foundation.registry import DATASETS
    from vdae_core.pipeline.run_index import runs_root
    from vdae_core.pipeline.train import start
    from vdae_core.ui import cache
    from vdae_core.ui.identity import owner_id

    cur = get_job()
    if cur is not None and cur.active:
        raise RuntimeError("a training is already queued or running in this browser: stop or cancel it first")
    ds = cache.dataset(data_config)
    training = start(model_name, DataConfig.from_dict(data_config), dict(overrides), int(seed), dataset=ds,
                     report_every=5)
    trainer, model = training.trainer, training.trainer.model
    owner = None if data_config["dataset"] in DATASETS else owner_id()  # uploads stay private
    job = TrainingJob(model_name, dict(overrides), dict(data_config), int(seed), ds, model, trainer, training,
                      owner=owner, preset=str(preset), browser=owner_id())
    _prune(time.time())
    engine.submit(job, root=runs_root())  # raises QueueFull before anything is registered
    with _JOBS_LOCK:
        _JOBS[owner_id()] = job
    st.session_state[JOB_KEY] = job
    return job


def queued_trainer(say=None):
    """The app's way to train a lesson's runs (:data:`~vdae_core.pipeline.train.TrainInto`): through the server's
    queue, in a worker process, as this browser; ``say(text)`` is told the place and expected start while a run
    waits for a slot (called from the script's own thread, so it may draw)."""
    from vdae_core.ui.identity import owner_id

    browser = owner_id()

    def waiting(place, start):
        if say is not None and place == 0:
            say("The studio's training queue is full: waiting for room in it…")
        elif say is not None and place is not None:
            when = "" if start is None else f", expected to start in about {start:.0f} s"
            say(f"Waiting for a training slot: place {place} in the queue{when}…")

    def train(model_name, data_config, overrides, seed, folder, info):
        return engine.train_queued(model_name, data_config, overrides, seed, folder, info, browser=browser,
                                   on_wait=waiting)

    return train


def discard(job: TrainingJob) -> None:
    """Abandon the job (queued or training): nothing is saved, and this browser's job slot is free."""
    engine.discard(job)
    with _JOBS_LOCK:
        for k, j in list(_JOBS.items()):
            if j is job:
                del _JOBS[k]
    st.session_state.pop(JOB_KEY, None)


_RECOVERED = threading.Event()


def interrupted_jobs() -> list:
    """This browser's trainings that a server stop interrupted (journal records, oldest first). The first call in a
    server process also finishes saves a kill interrupted (:func:`~vdae_core.pipeline.job_journal.recover_saves`)."""
    from vdae_core.pipeline import job_journal
    from vdae_core.pipeline.run_index import runs_root
    from vdae_core.ui.identity import owner_id

    root = runs_root()
    if not _RECOVERED.is_set():
        _RECOVERED.set()
        for what in job_journal.recover_saves(root):
            log.warning("runs folder: %s", what)
    return job_journal.interrupted(root, owner_id())


def render_interrupted() -> None:
    """The Train page's list of this browser's interrupted trainings, each with Retrain and Dismiss."""
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.pipeline import job_journal
    from vdae_core.pipeline.run_index import runs_root

    for rec in interrupted_jobs():
        rid = rec.get("id", "")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(rec.get("started") or rec.get("submitted") or 0)))
        stage = "while it was training" if rec.get("status") == "running" else "while it waited in the queue"
        with st.container(border=True):
            st.warning(f"**Interrupted:** {rec.get('label', rec.get('model_name', '?'))} (started {when}). The server "
                       f"stopped {stage}; nothing was saved.", icon=":material/restart_alt:")
            c = st.columns([1, 1, 4])
            if c[0].button("Retrain", key=f"job.retrain.{rid}", icon=":material/replay:", type="primary",
                           disabled=bool(get_job() and get_job().active),
                           help="Train the same model, settings, data and seed again."):
                try:
                    start_job(rec["model_name"], rec.get("overrides") or {}, rec["data_config"], int(rec["seed"]),
                              preset=rec.get("preset", ""))
                except (UserInputError, RuntimeError, KeyError, TypeError) as e:
                    from vdae_core.ui import widgets

                    widgets.error_box(e, "cannot retrain")
                else:
                    job_journal.remove(runs_root(), rid)
                    st.rerun()
            if c[1].button("Dismiss", key=f"job.dismiss.{rid}", help="Forget this interrupted training."):
                job_journal.remove(runs_root(), rid)
                st.rerun()


# -- rendering --------------------------------------------------------------------------------------
def _progress_text(job: TrainingJob) -> str:
    live = job.live
    p = live.progress
    if job.status in ("done", "stopped"):
        return f"Finished in {job.wall_seconds():.0f} s ({job.train_seconds:.0f} s of it training)"
    if p is None:
        return "starting…"
    phase_no = f"phase {p.phase_index + 1}/{p.n_phases}"
    eta = live.eta if job.status == "running" and live.steps_done else None
    left = "" if eta is None else (f" · at most {eta[0]:.0f} s left (less if the loss converges)" if eta[1]
                                   else f" · about {eta[0]:.0f} s left")
    return (f"{phase_no}: **{p.phase}** · step {p.step}/{p.phase_steps} · {live.steps_done}/"
            f"{live.total_steps} steps · {job.wall_seconds():.0f} s{left}")


def _queue_text(job: TrainingJob) -> str:
    place, start = engine.expected_start(job)
    q = engine.queue()
    slots = q.settings.slots
    if place is None:
        return "Starting…"
    when = (f"expected to start in about {start:.0f} s" if start is not None
            else "no estimate of the start yet (nothing like it has trained here)")
    return (f"Waiting for a free training slot: place **{place}** in the queue ({slots} training"
            f"{'s' if slots > 1 else ''} at once on this server, {len(q.running())} running now); {when}.")


def _draw_queued(job: TrainingJob, detailed: bool) -> None:
    if job.status == "cancelled":
        st.info("Cancelled before it started: nothing was trained or saved.", icon=":material/cancel:")
        return
    if not detailed:
        st.caption(f"Queued: {job.label}")
        st.caption(_queue_text(job))
        return
    st.info(_queue_text(job), icon=":material/hourglass_top:")
    if st.button("Cancel", key="job.cancel", icon=":material/cancel:",
                 help="Leave the queue; nothing is trained or saved."):
        cancel(job)
        st.rerun()


def _draw(job: TrainingJob, detailed: bool) -> None:
    if job.status in ("queued", "cancelled"):
        _draw_queued(job, detailed)
        return
    live = job.live
    frac = 1.0 if job.status in ("done", "stopped") else min(1.0, live.steps_done / max(1, live.total_steps))
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
        elif job.resume_pending:
            place, start = engine.expected_start(job)
            when = "" if start is None else f", expected in about {start:.0f} s"
            st.info(f"Resumes when a training slot frees (first in line{when}); while paused it gave its slot to "
                    "the next waiting training.", icon=":material/hourglass_top:")
            c[0].button("Pause", key="job.repause", icon=":material/pause:", on_click=set_paused, args=(job, True),
                        help="Stay paused: leave the line to resume.")
        elif c[0].button("Resume", key="job.resume", icon=":material/play_arrow:", type="primary",
                         help="Continue training; if every slot is taken meanwhile, it resumes when one frees."):
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


def _draw_curves(job: TrainingJob) -> None:
    from vdae_core.viz.curves import loss_curves

    live = job.live
    phases = [p.name for p in job.trainer.phases if p.steps > 0]
    records = live.records  # replaced whole after each slice: a consistent snapshot
    cur = live.progress.phase if live.progress is not None and not live.done else None
    fig = loss_curves(records, phases, current_phase=cur)
    if job.active:  # redrawn while training: no download button churning under the cursor
        st.plotly_chart(fig, key="job.loss", width="stretch", config={"displaylogo": False})
    else:
        from vdae_core.ui.widgets import figure

        figure(fig, "job.loss", f"{job.dataset.name}_{job.model_name}_s{job.seed}_losses")


def render(detailed: bool) -> None:
    """Draw the job (if any): its progress in a fragment that reruns itself every :data:`TICK_EVERY` seconds while
    the job waits or trains (the training itself runs in a worker process) and reruns the page once when the run
    is saved; with ``detailed``, the loss curves below it in a second fragment redrawn every :data:`CURVES_EVERY`
    seconds (redrawing a three-panel plotly chart is most of a watching browser's work: ``benchmarks/load.py``)."""
    job = get_job()
    if job is None:
        return
    every = TICK_EVERY if job.status in ("running", "queued") or job.resume_pending else None

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

    # while queued too: the curves appear once the job gets its slot, without a full rerun
    @st.fragment(run_every=CURVES_EVERY if job.status in ("running", "queued") else None)
    def curves_panel() -> None:
        j = get_job()
        if j is not None and j.status not in ("queued", "cancelled"):
            _draw_curves(j)

    job_panel()
    if detailed:
        curves_panel()

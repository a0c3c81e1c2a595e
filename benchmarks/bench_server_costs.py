"""Why trainings moved out of the server's process and what a progress redraw costs (issue 34), measured.

    python benchmarks/bench_server_costs.py --log docs/bench_server_costs_log.jsonl

Three figures, in one process with the studio's imports loaded (as in a running server):

* ``gc_full_s``: one full garbage collection (``gc.collect(2)``), what Streamlit's ``runner.postScriptGC`` ran
  after every script run (the studio turns it off); ``gc_frozen_s``: the same after the warm-up's
  :func:`~vdae_core.foundation.housekeeping.freeze_imports` (what the studio's 30-second collector pays);
* ``loss_curves_s``: one loss-curve figure of the demo's size (three phases, 86 records), and
  ``make_subplots_s``, what building it through ``make_subplots`` and validated traces cost before;
* ``train_alone_s`` / ``train_beside_python_s``: the demo's training (VDAE, torus, 2,000 points, the Quick preset,
  one torch thread) alone, and beside one thread running pure Python in the same process (as a page being drawn
  in the server would be; 30 s of it, extrapolated to the whole training by its steps): the interpreter-lock
  convoy the training workers avoid; and ``train_worker_s``: the
  same training through the studio's job queue in a worker process while that Python thread runs.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _records():
    import numpy as np

    rng = np.random.default_rng(0)
    return {ph: [{"step": 5 * i, "time": 0.1 * i, "loss": float(rng.random()), "recon": float(rng.random()),
                  "kl": float(rng.random())} for i in range(n)]
            for ph, n in (("diffusion fit", 24), ("decoder fit", 12), ("variational", 50))}


def _median_time(f, repeats: int) -> float:
    import statistics

    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _demo_training():
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.presets import compose, quick_name
    from vdae_core.pipeline.train import start

    return start("vdae", DataConfig(dataset="torus", n=2000), compose("vdae", quick_name("vdae")), 0)


def _train_here(limit_s: float = 1e9) -> float:
    """Seconds of the demo's whole training; beyond ``limit_s``, extrapolated from the steps done by then."""
    tr = _demo_training().trainer
    t = time.perf_counter()
    while not tr.done and time.perf_counter() - t < limit_s:
        tr.advance(max_steps=10 ** 6, max_seconds=0.25)
    secs = time.perf_counter() - t
    return secs if tr.done else secs * tr.total_steps / max(1, tr.steps_done)


def _busy(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(20_000))


def measure(repeats: int) -> dict:
    import plotly.graph_objects as go
    import streamlit  # noqa: F401  (the server's imports: what a collection walks)
    import torch
    from plotly.subplots import make_subplots

    from vdae_core import api  # noqa: F401
    from vdae_core.pipeline import jobs
    from vdae_core.study import analysis  # noqa: F401
    from vdae_core.viz import bilip, curves, images, scatter, walks  # noqa: F401

    torch.set_num_threads(1)
    row = {"gc_full_s": _median_time(lambda: gc.collect(2), repeats)}
    recs = _records()
    row["loss_curves_s"] = _median_time(lambda: curves.loss_curves(recs, list(recs), current_phase="variational"),
                                        repeats)

    def old_way():  # what loss_curves did before: make_subplots and validated traces
        fig = make_subplots(rows=1, cols=3, subplot_titles=list(recs), horizontal_spacing=0.07)
        for c, rows in enumerate(recs.values(), start=1):
            for term in ("loss", "recon", "kl"):
                fig.add_trace(go.Scatter(x=[r["step"] for r in rows], y=[r[term] for r in rows], mode="lines"),
                              row=1, col=c)
            fig.update_xaxes(title_text="step", row=1, col=c)
        return fig

    row["make_subplots_s"] = _median_time(old_way, repeats)
    _train_here()  # first run: caches, the optimiser's imports
    row["train_alone_s"] = min(_train_here() for _ in range(repeats))
    stop = threading.Event()
    busy = threading.Thread(target=_busy, args=(stop,), daemon=True)
    busy.start()
    try:
        # the convoy is so slow that the whole training would take minutes: 30 s of it, extrapolated
        row["train_beside_python_s"] = _train_here(limit_s=30.0)
        jobs.reset_queue(jobs.QueueSettings(slots=1, limit=1, threads=1))
        jobs.warm_workers()
        times = []
        for _ in range(repeats + 1):
            training = _demo_training()
            tr = training.trainer
            job = jobs.TrainingJob("vdae", dict(training.spec.overrides), training.spec.data_config.to_dict(), 0,
                                   training.spec.dataset, tr.model, tr, training, preset="Quick", browser="bench")
            jobs.submit(job, root=tempfile.mkdtemp(prefix="bench_costs_"))
            job.thread.join()
            assert job.status == "done", job.message
            times.append(job.train_seconds)
        row["train_worker_s"] = min(times[1:])  # the first pays the worker's start
    finally:
        stop.set()
    from vdae_core.foundation.housekeeping import freeze_imports

    freeze_imports()  # last: nothing measured above ran with a frozen heap
    row["gc_frozen_s"] = _median_time(lambda: gc.collect(2), repeats)
    from bench_common import machine_fields

    return {"bench": "server_costs", "repeats": repeats, **row, **machine_fields(), "date": time.strftime("%Y-%m-%d")}


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    out = ["| date | full GC: as imported / frozen after the warm-up, ms | loss curves: now / before, ms | demo training: alone / beside a Python thread / "
           "in a worker beside it, s (beside: extrapolated from 30 s) |", "|---|---|---|---|"]
    for r in rows:
        frozen = f"{1e3 * r['gc_frozen_s']:.1f}" if "gc_frozen_s" in r else "—"
        out.append(f"| {r['date']} | {1e3 * r['gc_full_s']:.0f} / {frozen} | {1e3 * r['loss_curves_s']:.0f} / "
                   f"{1e3 * r['make_subplots_s']:.0f} | {r['train_alone_s']:.2f} / {r['train_beside_python_s']:.2f} / "
                   f"{r['train_worker_s']:.2f} |")
    return "\n".join(out)


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    row = measure(a.repeats)
    append_log(a.log, row)
    print(json.dumps(row))
    print(table(a.log))


if __name__ == "__main__":
    main()

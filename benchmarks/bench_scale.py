"""Issue 13: VDAE training time and peak memory against n (circle 2k / 20k / 100k, MNIST 1k / 5k / 10k).

    python benchmarks/bench_scale.py [--sizes circle:2000,20000,100000 --sizes mnist:1000,5000,10000]
                                     [--threads 2] [--log docs/bench_scale_log.jsonl] [--figure docs/figures/scale.html]

Each size trains the default VDAE (CLI settings, ``device=cpu``) in a fresh process, which reports its wall
time per phase (from the run's history), its total, and its own peak resident memory (``ru_maxrss``).
Per-step costs are given per phase so that a step growing faster than linearly in n shows up directly: the
spectral and variational steps use fixed batches, and the variational step searches x' among the n training
codes: by a k-d tree for n ≥ 4,096 codes of ≤ 4 dimensions (log n per query), else by one (batch × n)
product (linear in n; vdae_core/geometry/nearest_target.py); the latent statistics are one kNN query of
the n codes (a tree, n log n). The figure draws the newest row of the log for each data set and n.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[3]))
from vdae_core.data import DataConfig
from vdae_core.pipeline.train import finish, start
t0 = time.perf_counter()
tr = start("vdae", DataConfig(dataset=sys.argv[1], n=int(sys.argv[2])), {"device": "cpu"}, 0, "cpu")
t_data = time.perf_counter() - t0
tr.run()
t_train = time.perf_counter() - t0 - t_data
run = finish(tr)
phases = {k: round(v, 2) for k, v in run.history.phase_seconds.items()}
print(json.dumps({"n": run.dataset.n, "data_s": round(t_data, 2), "train_s": round(t_train, 2), "phase_s": phases,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", action="append", default=None, help="DATASET:n1,n2,... (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log", default=None)
    ap.add_argument("--figure", default=None, help="write a figure of time and memory against n: .html (plotly), or "
                                                   ".png (the same, rendered by headless Chromium)")
    ap.add_argument("--from-log", default=None, help="draw --figure from the rows of this log instead of measuring")
    a = ap.parse_args()
    if a.from_log:
        with open(a.from_log) as fh:
            write_figure([json.loads(line) for line in fh if line.strip()], a.figure)
        return
    sizes = a.sizes or ["circle:2000,20000,100000", "mnist:1000,5000,10000"]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": str(a.threads), "OMP_WAIT_POLICY": "PASSIVE"}
    rows = []
    for spec in sizes:
        name, ns = spec.split(":")
        for n in (int(v) for v in ns.split(",")):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, name, str(n), str(a.threads)], env=env, cwd=ROOT,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"{name} n={n} failed")
            row = {"dataset": name, **json.loads(out.stdout.strip().splitlines()[-1]),
                   "process_s": round(time.perf_counter() - t, 1), "threads": a.threads,
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if a.log:
                with open(a.log, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    if a.figure:
        write_figure(rows, a.figure)


def write_figure(rows, path):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = list({(r["dataset"], r["n"]): r for r in rows}.values())  # the newest row per data set and size
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training time", "peak memory of the process"))
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    for j, name in enumerate(dict.fromkeys(r["dataset"] for r in rows)):
        rr = [r for r in rows if r["dataset"] == name]
        n = [r["n"] for r in rr]
        style = dict(mode="lines+markers", line={"color": palette[j % len(palette)]}, legendgroup=name, name=name)
        fig.add_trace(go.Scatter(x=n, y=[r["train_s"] for r in rr], **style), 1, 1)
        fig.add_trace(go.Scatter(x=n, y=[r["peak_rss_mb"] for r in rr], showlegend=False, **style), 1, 2)
    fig.update_xaxes(type="log", title_text="training points n")
    fig.update_yaxes(type="log", title_text="seconds", row=1, col=1)
    fig.update_yaxes(type="log", title_text="MB", row=1, col=2)
    machine = rows[0].get("machine", "") if rows else ""
    fig.update_layout(title=f"VDAE (default settings) against n, {rows[0].get('threads', '?')} threads, {machine}",
                      height=420, width=980)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not path.endswith(".png"):
        fig.write_html(path, include_plotlyjs=True)
    else:  # no kaleido here: let Chromium draw the self-contained HTML and take its picture
        import tempfile

        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory() as d:
            html = os.path.join(d, "figure.html")
            fig.write_html(html, include_plotlyjs=True, full_html=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=os.environ.get("VDAE_CHROMIUM", "/usr/bin/chromium"),
                                            args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1000, "height": 440})
                page.goto("file://" + html)
                page.wait_for_selector(".main-svg")
                page.screenshot(path=path)
                browser.close()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

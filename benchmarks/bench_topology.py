"""Issue 14: persistent homology speed — 1,000 points in R³ (H0 + H1), default subsample against the whole cloud,
and the whole `topology` report of a trained run.

    OMP_NUM_THREADS=1 python benchmarks/bench_topology.py [--log docs/bench_topology_log.jsonl] [--busy]

Per cloud (circle, torus, sphere, swiss roll; 1,000 points, seed 0): the time of
:func:`vdae_core.metrics.persistence.persistence` at its default (a 400-point farthest-point subsample) and on
all 1,000 points (ripser's own cost, the reference), with the Betti numbers each reads. Then two VDAEs trained on the
circle with a short schedule (seeds 0 and 1) and the time of :func:`vdae_core.study.topology.topology_report` for
each: the first computes data, codes, samples and three floor samples, the second reuses the data's diagrams. ``--busy`` starts a process that spins on one core for the whole run (a busy machine).

``--first-audit DATASETS`` (e.g. ``circle,torus``) instead trains a VDAE and a β-VAE with their default settings
on each dataset and times **the whole first audit** of each run in a fresh process (imports included, as a user
running ``python -m vdae_core audit`` or opening the Audit page of a new server meets it): the persistence report,
tears and folds, and prior holes.
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log  # noqa: E402  (this script's folder is on sys.path)
from vdae_core.data import DataConfig, make_dataset  # noqa: E402
from vdae_core.metrics.persistence import COVER_FRACTION, persistence  # noqa: E402


def _spin():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=None)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--first-audit", default=None, metavar="DATASETS")
    ap.add_argument("--audit-run", default=None, help=argparse.SUPPRESS)  # the fresh process of --first-audit
    a = ap.parse_args()
    if a.audit_run:
        return time_audit(a.audit_run)
    if a.first_audit:
        return first_audits(a.first_audit.split(","), a.log, a.busy)
    busy = mp.Process(target=_spin, daemon=True) if a.busy else None
    if busy:
        busy.start()
    rows = []
    for name in ("circle", "torus", "sphere", "swiss_roll"):
        X = make_dataset(DataConfig(dataset=name, n=1000, seed=0)).X
        for label, m, cover in (("default (farthest points: 400 at most, fewer once covered)", 400, COVER_FRACTION),
                                ("all 1000 points", 1000, 0.0)):
            t = time.perf_counter()
            p = persistence(X, maxdim=1, max_points=m, cover_fraction=cover)
            rows.append({"cloud": name, "n": 1000, "how": label, "seconds": round(time.perf_counter() - t, 3),
                         "betti": p.betti, "n_used": p.n_used, "cover_radius": round(p.cover_radius, 4)})
            print(json.dumps(rows[-1]), flush=True)
    from vdae_core.pipeline.train import finish, start
    from vdae_core.study.topology import topology_report

    for seed, what in ((0, "report of a VDAE run on the circle (data, codes, samples, 3 floor samples)"),
                       (1, "report of a second run on the same data (its codes and samples; the data's diagrams "
                           "reused)")):
        tr = start("vdae", DataConfig(dataset="circle", n=2000), {"device": "cpu", "spectral_steps": 100,
                                                                  "vae_steps": 300}, seed, "cpu")
        tr.run()
        run = finish(tr)
        t = time.perf_counter()
        rep = topology_report(run)
        rows.append({"cloud": what, "n": 1000, "how": "default", "seconds": round(time.perf_counter() - t, 3),
                     "betti": [rep["clouds"][c]["betti"] for c in ("data", "latent", "samples")]})
        print(json.dumps(rows[-1]), flush=True)
    if busy:
        busy.terminate()
    write_log(a.log, rows, a.busy)


def write_log(path, rows, busy):
    """Append ``rows`` to the log at ``path`` with the machine, the thread setting and whether a core was busy."""
    machine = {"machine": f"{os.cpu_count()} cores", "threads": os.environ.get("OMP_NUM_THREADS", "default"),
               "busy": bool(busy), "date": time.strftime("%Y-%m-%d")}
    append_log(path, *({**r, **machine} for r in rows))


def time_audit(path):
    """Print the seconds of a whole audit of the run at ``path``, in this (fresh) process, imports included."""
    t0 = time.perf_counter()
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.topology import prior_hole_report, tear_report, topology_report

    run = load_run(path)
    t1 = time.perf_counter()
    parts = {}
    for name, f in (("persistence report", topology_report), ("tears and folds", tear_report),
                    ("prior holes", prior_hole_report)):
        t = time.perf_counter()
        try:
            f(run)
        except Exception as e:  # a model without the capability says so; the time still counts
            parts[name + " (" + type(e).__name__ + ")"] = 0.0
            continue
        parts[name] = round(time.perf_counter() - t, 3)
    print(json.dumps({"whole": round(time.perf_counter() - t0, 3), "load": round(t1 - t0, 3), "parts": parts}))


def first_audits(datasets, log, busy_flag):
    import subprocess
    import tempfile

    from vdae_core.pipeline.runs import save_run
    from vdae_core.pipeline.train import train_run

    busy = mp.Process(target=_spin, daemon=True) if busy_flag else None
    if busy:
        busy.start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in datasets:
            for model in ("vdae", "beta_vae"):
                run = train_run(model, DataConfig(dataset=dataset, n=2000, seed=0), {"device": "cpu"}, seed=0,
                                device="cpu")
                folder = os.path.join(tmp, f"{dataset}_{model}")
                save_run(run, folder)
                t = time.perf_counter()
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--audit-run", folder],
                                     capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                process_s = round(time.perf_counter() - t, 3)  # the whole process: Python and every import too
                rows.append({"cloud": f"first audit, fresh process: {model} on {dataset}", **json.loads(out),
                             "process_s": process_s})
                print(json.dumps(rows[-1]), flush=True)
    if busy:
        busy.terminate()
    write_log(log, rows, busy_flag)


if __name__ == "__main__":
    main()

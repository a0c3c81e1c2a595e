"""Issue 14: persistent homology speed — 1,000 points in R³ (H0 + H1), default subsample against the whole cloud,
and the whole `topology` report of a trained run.

    OMP_NUM_THREADS=1 python benchmarks/bench_topology.py [--log docs/bench_topology_log.jsonl] [--busy]

Per cloud (circle, torus, sphere, swiss roll; 1,000 points, seed 0): the time of
:func:`vdae_core.metrics.persistence.persistence` at its default (a 400-point farthest-point subsample) and on
all 1,000 points (ripser's own cost, the reference), with the Betti numbers each reads. Then two VDAEs trained on the
circle with a short schedule (seeds 0 and 1) and the time of :func:`vdae_core.topology.topology_report` for
each: the first computes data, codes, samples and three floor samples, the second reuses the data's diagrams. ``--busy`` starts a process that spins on one core for the whole run (a busy machine).
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vdae_core.data import DataConfig, make_dataset  # noqa: E402
from vdae_core.metrics.persistence import persistence  # noqa: E402


def _spin():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=None)
    ap.add_argument("--busy", action="store_true")
    a = ap.parse_args()
    busy = mp.Process(target=_spin, daemon=True) if a.busy else None
    if busy:
        busy.start()
    rows = []
    for name in ("circle", "torus", "sphere", "swiss_roll"):
        X = make_dataset(DataConfig(dataset=name, n=1000, seed=0)).X
        for label, m in (("default (400-point subsample)", 400), ("all 1000 points", 1000)):
            t = time.perf_counter()
            p = persistence(X, maxdim=1, max_points=m)
            rows.append({"cloud": name, "n": 1000, "how": label, "seconds": round(time.perf_counter() - t, 3),
                         "betti": p.betti, "cover_radius": round(p.cover_radius, 4)})
            print(json.dumps(rows[-1]), flush=True)
    from vdae_core.runs import finish, start
    from vdae_core.topology import topology_report

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
    machine = {"machine": f"{os.cpu_count()} cores", "threads": os.environ.get("OMP_NUM_THREADS", "default"),
               "busy": bool(a.busy), "date": time.strftime("%Y-%m-%d")}
    if a.log:
        with open(a.log, "a") as fh:
            for r in rows:
                fh.write(json.dumps({**r, **machine}) + "\n")


if __name__ == "__main__":
    main()

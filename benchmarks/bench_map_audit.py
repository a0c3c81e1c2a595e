"""Issue 32's bar: the first audit of 2,000 imported points takes at most 10 s on 2 cores.

    python benchmarks/bench_map_audit.py --log docs/bench_map_audit_log.jsonl [--busy]

In a fresh process each time (the first audit pays for its imports and ripser's first call): read X (2,000
points of a torus in R³) and Z (their angles, a 2-D code) from .npy files, then what ``audit --points --codes``
and ``topology --points --codes`` compute — tears and folds, bi-Lipschitz, trustworthiness, continuity, RTD,
persistence of points and codes. Three fresh processes, idle; ``--busy`` adds a process spinning on one core.
``table(log)`` renders docs/BENCHMARKS.md's table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import time, json, sys
t0 = time.perf_counter()
import numpy as np
from vdae_core.data import read_points
from vdae_core.study.map_audit import map_audit, map_topology
t_import = time.perf_counter() - t0
X, Z = read_points(sys.argv[1]), read_points(sys.argv[2])
t1 = time.perf_counter()
rep, _ = map_audit(X, Z)
t2 = time.perf_counter()
map_topology(X, Z)
t3 = time.perf_counter()
print(json.dumps({"import_s": t_import, "audit_s": t2 - t1, "topology_s": t3 - t2, "total_s": t3 - t0,
                  "rtd": rep["rtd"]["value"], "torn": rep["tears_folds"]["torn_edges"]}))
"""


def one_run(xp: str, zp: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", CHILD, xp, zp], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    out = ["| machine state | runs | imports, s | audit (tears, bi-Lipschitz, trust, RTD), s | persistence, s | "
           "total from a fresh process, s (max) |", "|---|---|---|---|---|---|"]
    for busy in (False, True):
        rs = [r for r in rows if r["busy"] == busy]
        if not rs:
            continue
        mean = lambda k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
        out.append(f"| {'one core busy' if busy else 'idle'} | {len(rs)} | {mean('import_s'):.1f} | "
                   f"{mean('audit_s'):.1f} | {mean('topology_s'):.1f} | {mean('total_s'):.1f} "
                   f"({max(r['total_s'] for r in rs):.1f}) |")
    return "\n".join(out)


def main():
    import numpy as np

    from bench_common import append_log, machine_fields, start_busy, stop_busy

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--busy", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    th, ph = rng.uniform(0, 2 * np.pi, (2, 2000))
    X = np.stack([(2 + np.cos(ph)) * np.cos(th), (2 + np.cos(ph)) * np.sin(th), np.sin(ph)], 1)
    d = tempfile.mkdtemp()
    xp, zp = os.path.join(d, "X.npy"), os.path.join(d, "Z.npy")
    np.save(xp, X)
    np.save(zp, np.stack([th, ph], 1))
    busy = start_busy() if a.busy else None
    try:
        for _ in range(a.reps):
            row = {"bench": "map_audit", "n": 2000, "busy": a.busy, **one_run(xp, zp), **machine_fields(),
                   "date": time.strftime("%Y-%m-%d")}
            append_log(a.log, row)
            print(json.dumps(row))
    finally:
        if busy is not None:
            stop_busy(busy)
    print(table(a.log))


if __name__ == "__main__":
    main()

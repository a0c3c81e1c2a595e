"""Issue 31: which unit for each distance matrix makes a GW one sample cannot swing? Candidates on a circle.

    python benchmarks/bench_gw_scale.py [--log docs/bench_gw_scale_log.jsonl] [--scales max,median,q99,q95,q90]
    python benchmarks/bench_gw_scale.py --table docs/bench_gw_scale_log.jsonl
    python benchmarks/bench_gw_scale.py --eval-cost [--log ...]   # what gw_paper adds to one evaluation

1,000 samples against 1,000 held-out points of the unit circle; per unit: the floor (three exact samples:
mean, sd), one sample moved to radius 3, ten samples at radius 1.5, an ellipse of aspect 1.5 (a real change of
shape: it must stay flagged), and a rotated, shifted copy scaled by 2.5 (must give 0), with the seconds one
solve takes. ``max`` divides by the largest distance (the VDAE paper's code); ``median`` by the median; ``qNN``
by the NN-th percentile with larger distances clipped to 1 (the studio's ``robust`` GW is q99).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, machine_fields, read_log  # noqa: E402


def _circle(n, seed, aspect=1.0):
    t = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return np.c_[aspect * np.cos(t), np.sin(t)]


def _unit(a, scale):
    from scipy.spatial.distance import pdist, squareform

    flat = pdist(a)
    d = squareform(flat)
    if scale == "max":
        return d / flat.max()
    if scale == "median":
        return d / np.median(flat)
    return np.minimum(d / np.quantile(flat, float(scale[1:]) / 100), 1.0)


def _gw(x, y, scale):
    import ot

    p, q = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    return max(0.0, float(ot.gromov.gromov_wasserstein2(_unit(x, scale), _unit(y, scale), p, q, loss_fun="square_loss",
                                                         symmetric=True, numItermaxEmd=1_000_000)))


def measure(scale: str) -> dict:
    R = _circle(1000, 0)
    t = time.perf_counter()
    floor = [_gw(_circle(1000, s), R, scale) for s in (11, 12, 13)]
    secs = (time.perf_counter() - t) / 3
    one = _circle(1000, 21)
    one[0] = [3.0, 0.0]
    ten = _circle(1000, 22)
    ten[:10] *= 1.5
    th = 0.7
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    cases = {"one_at_radius_3": one, "ten_at_radius_1.5": ten, "ellipse_1.5": _circle(1000, 23, aspect=1.5),
             "rigid_and_scale": 2.5 * R @ rot.T + np.array([4.0, -1.0])}
    return {"bench": "gw_scale", "scale": scale, "floor": float(np.mean(floor)), "floor_sd": float(np.std(floor, ddof=1)),
            **{k: _gw(v, R, scale) for k, v in cases.items()}, "solve_s": round(secs, 2), **machine_fields()}


def eval_cost(reps: int = 3) -> dict:
    """Seconds of one protocol evaluation (1,000 exact circle samples, 5 floor draws, GW on) without and with
    ``gw_paper`` (``with_gw_paper``), best of ``reps``, floors recomputed each time."""
    from vdae_core.data import DataConfig, make_dataset
    from vdae_core.study import evaluation
    from vdae_core.study.evaluation import ReferencePool, evaluate_samples

    ds = make_dataset(DataConfig(dataset="circle", n=2000, seed=0))
    G = make_dataset(DataConfig(dataset="circle", n=1000, seed=5)).X
    out = {}
    for name, flag in (("robust_only_s", False), ("with_gw_paper_s", True)):
        times = []
        for _ in range(reps):
            evaluation._FLOOR_CACHE.clear()
            pool = ReferencePool(ds, DataConfig(dataset="circle", n=2000, seed=0), seed=0)
            t = time.perf_counter()
            evaluate_samples(G, pool, n=1000, reps=5, with_gw_paper=flag)
            times.append(time.perf_counter() - t)
        out[name] = round(min(times), 2)
    return {"bench": "gw_eval_cost", **out, **machine_fields()}


def table(log_path: str) -> str:
    out = ["| unit of each distance matrix | floor (mean ± sd) | one sample at radius 3 | ten at radius 1.5 "
           "| ellipse, aspect 1.5 | rotated, shifted, × 2.5 | s per solve |",
           "|---|---|---|---|---|---|---|"]
    for r in read_log(log_path):
        if r.get("bench") != "gw_scale":
            continue
        f = r["floor"]
        cell = lambda k: f"{r[k]:.2e} ({r[k] / f:.1f}×)"  # noqa: E731
        out.append(f"| {r['scale']} | {f:.2e} ± {r['floor_sd']:.1e} | {cell('one_at_radius_3')} | "
                   f"{cell('ten_at_radius_1.5')} | {cell('ellipse_1.5')} | {r['rigid_and_scale']:.0e} | "
                   f"{r['solve_s']:.1f} |")
    cost = [r for r in read_log(log_path) if r.get("bench") == "gw_eval_cost"]
    if cost:
        out += ["", "| one evaluation (1,000 circle samples, 5 floor draws) | robust GW only | with gw_paper beside it |",
                "|---|---|---|"]
        out += [f"| {r['date']}, {r['cpu']}, {r['threads']} threads | {r['robust_only_s']:.1f} s | "
                f"{r['with_gw_paper_s']:.1f} s |" for r in cost]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default="max,median,q99,q95,q90")
    ap.add_argument("--log", default=None)
    ap.add_argument("--table", default=None, help="print the markdown table of a log and stop")
    ap.add_argument("--eval-cost", action="store_true", help="time one evaluation with and without gw_paper")
    a = ap.parse_args()
    if a.table:
        print(table(a.table))
        return
    import vdae_core  # noqa: F401  (the studio's thread policy)

    if a.eval_cost:
        row = eval_cost()
        append_log(a.log, row)
        print(row)
        return

    for scale in a.scales.split(","):
        row = measure(scale)
        append_log(a.log, row)
        print({k: row[k] for k in ("scale", "floor", "one_at_radius_3", "ellipse_1.5", "solve_s")}, flush=True)


if __name__ == "__main__":
    main()

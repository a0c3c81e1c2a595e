"""What the issue-29 walk costs at sampling time: 1,000 samples (20 walk steps) with the defaults' walk against
the former one, on the same trained model, on an idle machine and with another process spinning one core.

    python benchmarks/bench_walk_cost.py [--data circle,torus] [--log docs/bench_walk_cost_log.jsonl]
    python benchmarks/bench_walk_cost.py --table docs/bench_walk_cost_log.jsonl

Per data set, the VDAE is trained once with its defaults (seed 0, 2,000 points); then ``model.sample(1000)`` is
timed (median of 5, after one warm-up call) with each walk: the defaults' (``decoder_input nearest,
walk_substeps 8, walk_scale 2``) and the former defaults' (``projected``, one Gaussian step). Only the sampler's
settings change between the two, so the time is the walk's alone.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, machine_fields, read_log, start_busy, stop_busy  # noqa: E402

WALKS = {"defaults (nearest, 8 sub-steps, ×2)": {},
         "former (projected, 1 step)": {"decoder_input": "projected", "walk_substeps": 1, "walk_scale": 1.0}}


def measure(data: str, repeats: int = 5) -> list:
    import numpy as np
    import torch

    from vdae_core.api import DataConfig, train_run  # vdae_core was imported first (main): the app's thread policy

    run = train_run("vdae", DataConfig(dataset=data, n=2000, seed=0), {}, seed=0, device="cpu")
    model, base = run.model, run.model.config
    rows = []
    for load in ("idle", "busy"):
        busy = start_busy() if load == "busy" else None
        try:
            for name, over in WALKS.items():
                model.config = base.replace(**over)
                model.sample(1000, torch.Generator().manual_seed(0))  # warm-up
                times = []
                for r in range(repeats):
                    t = time.perf_counter()
                    model.sample(1000, torch.Generator().manual_seed(r))
                    times.append(time.perf_counter() - t)
                rows.append({"bench": "walk_cost", "data": data, "D": int(model.latent_dim), "walk": name,
                             "load": load, "sample_s": round(float(np.median(times)), 3),
                             "steps": int(base.sample_steps), **machine_fields()})
        finally:
            stop_busy(busy)
    model.config = base
    return rows


def table(log_path: str) -> str:
    out = ["| data | D | walk | OpenMP wait policy | 1,000 samples, idle (s) | with one core busy (s) |",
           "|---|---|---|---|---|---|"]
    rows = read_log(log_path)
    pol = lambda r: r.get("omp_wait_policy", "libgomp default")  # noqa: E731
    keys = list(dict.fromkeys((r["data"], r["walk"], pol(r)) for r in rows))
    for data, walk, policy in keys:
        got = {r["load"]: r for r in rows if (r["data"], r["walk"], pol(r)) == (data, walk, policy)}
        out.append(f"| {data} | {got['idle']['D']} | {walk} | {policy} | {got['idle']['sample_s']:.2f} | "
                   f"{got['busy']['sample_s']:.2f} |")
    return "\n".join(out)


def main():
    import argparse

    import vdae_core  # noqa: F401  (its OpenMP wait policy, set before torch loads: the app's)
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="circle,torus")
    ap.add_argument("--log", default=None)
    ap.add_argument("--table", default=None, metavar="LOG")
    a = ap.parse_args()
    if a.table:
        print(table(a.table))
        return
    torch.set_num_threads(2)
    for data in a.data.split(","):
        for row in measure(data):
            print(row, flush=True)
            append_log(a.log, row)


if __name__ == "__main__":
    main()

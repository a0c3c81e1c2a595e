"""Issue 29's bars for one VDAE configuration: memorisation, lumpiness, mixing from one start, loops, time.

    python benchmarks/bench_vdae_bars.py [--set '{"proj_neighbours": 32}'] [--data circle,sphere,torus,bunny]
        [--seeds 0,1,2] [--log docs/bench_vdae_bars_log.jsonl]
    python benchmarks/bench_vdae_bars.py --table docs/bench_vdae_bars_log.jsonl

Per dataset and seed: the VDAE is trained (defaults plus ``--set``), then the evaluation protocol
(``evaluate_run``, no GW) gives memorisation (≥ 0.9 is the bar; an exact sampler scores about 1) and the
densest-10% share ``lump_top10`` against its floor (the bar: ≤ 1.5 x the floor's mean); the topology
metrics give the samples' Betti numbers; ``mixing_from_one_start`` gives the first step at which each
intrinsic coordinate's KS and the MMD² are inside their floors (the bar: ≤ 10); the walkers' median
distance to the true manifold after 30 steps, in data spacings (median nearest-neighbour distance of
the training points), where the manifold is known in closed form.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import machine_fields, read_log, row_label, sweep_main  # noqa: E402


def measure(data: str, seed: int, overrides: dict) -> dict:
    from sklearn.neighbors import NearestNeighbors

    from vdae_core.api import DataConfig, train_run
    from vdae_core.study.evaluation import evaluate_run, mixing_from_one_start
    from vdae_core.pipeline.sampling import random_walk

    t = time.perf_counter()
    run = train_run("vdae", DataConfig(dataset=data, n=2000, seed=seed), overrides, seed=seed, device="cpu")
    secs = time.perf_counter() - t
    ev = evaluate_run(run, n_samples=1000, reps=5, seed=seed, with_gw=False)
    met = ev["metrics"]
    mix = mixing_from_one_start(run, start=0, n_walkers=1000, max_steps=40, seed=seed)
    X = run.dataset.X
    spacing = float(np.median(NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0][:, 1]))
    off = None
    if run.dataset.manifold is not None:
        w = random_walk(run.model, X, 1000, 30, start=None, seed=seed)
        off = round(float(np.median(run.dataset.manifold.distance(w[-1]))) / spacing, 3)
    pick = lambda k: {"value": round(float(met[k]["value"]), 4), "floor": round(float(met[k]["floor_mean"]), 4)}  # noqa: E731
    return {"bench": "vdae_bars", "data": data, "seed": seed, "overrides": overrides, "D": int(run.model.latent_dim),
            "train_s": round(secs, 1), "memorisation": pick("memorisation"), "lump_top10": pick("lump_top10"),
            "betti_samples": [int(met[k]["value"]) for k in ("betti0", "betti1") if k in met],
            "mixing_step": mix["mixing_step"], "off_manifold_spacings_30": off, **machine_fields()}


def table(log_path: str) -> str:
    rows = read_log(log_path)
    out = ["| data | settings | seed | memorisation (≥ 0.9) | densest-10% share / floor (≤ 1.5) | loops in samples "
           "| mixing step per statistic (≤ 10) | off the manifold at step 30 (spacings) | train s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        over = row_label(r)
        lt = r["lump_top10"]
        mix = ", ".join(f"{k} {'>40' if v is None else v}" for k, v in r["mixing_step"].items())
        off = "—" if r["off_manifold_spacings_30"] is None else f"{r['off_manifold_spacings_30']:.2f}"
        b1 = r["betti_samples"][1] if len(r["betti_samples"]) > 1 else "—"
        out.append(f"| {r['data']} | {over} | {r['seed']} | {r['memorisation']['value']:.2f} | "
                   f"{lt['value'] / lt['floor']:.2f} | {b1} | {mix} | {off} | {r['train_s']:.1f} |")
    return "\n".join(out)


def main():
    sweep_main(measure, table, "circle,sphere,torus,bunny", "0,1,2",
               show=("data", "seed", "overrides", "memorisation", "lump_top10", "betti_samples", "mixing_step",
                     "off_manifold_spacings_30", "train_s"))


if __name__ == "__main__":
    main()

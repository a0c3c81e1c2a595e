"""Issue 10 item 4: the VDAE under the evaluation protocol, decoder input 'projected' (default) against 'raw'.

    python benchmarks/bench_evaluation.py --job circle,0,projected [--out-dir DIR]     # one training
    python benchmarks/bench_evaluation.py --all [--seeds 3] [--out-dir DIR]           # every job in turn

Each job trains the VDAE at its defaults (n = 2000) with the given decoder input and reports:
- the protocol of ``vdae_core.study.evaluation`` on 2,000 samples (5 floor draws): memorisation, lumpiness
  (densest 10% share of Voronoi cells of the law), MMD² at h/20, coverage, GW, KS per coordinate, each
  with its floor;
- lumpiness at the resolution of the issue's measurement: 20,000 samples, 800 cells;
- the median distance of samples to the true manifold (where it is known in closed form), in units of
  the data's median nearest-neighbour spacing;
- mixing from one start (training point 0, 1,000 walkers, 50 steps): the first step at which each
  KS/MMD statistic enters the 95% quantile of its floor.
Bars (issue 10 item 4): lump_top10 ≤ 1.5× an exact sampler's, memorisation ≥ 0.9, and mixing ≤ 10 steps.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vdae_core.data import DataConfig  # noqa: E402
from vdae_core.metrics.lumpiness import lumpiness  # noqa: E402
from vdae_core.study.evaluation import (CoordinateLookup, ReferencePool, evaluate_run,  # noqa: E402
                                        mixing_from_one_start)
from vdae_core.pipeline.train import train_run  # noqa: E402

DATASETS = ("circle", "sphere", "torus", "bunny")
INPUTS = ("projected", "raw")


def fine_lumpiness(run, pool, m=20_000, cells=800, reps=3, seed=0):
    """Lumpiness of m samples over ``cells`` Voronoi cells, beside exact samplers of the same size."""
    G = run.model.sample(m, torch.Generator().manual_seed(seed))
    centres, masses = pool.cells(cells, 100 * cells)
    value = lumpiness(G, centres, masses)
    floor = [lumpiness(pool.fresh_sample(m, 1 + j).X, centres, masses) for j in range(reps)]
    return G, {"value": value, "floor": {k: float(np.mean([f[k] for f in floor])) for k in value}}


QUICK = False  # --quick: quick preset, a smoke run of the script (not the bars)
EXTRA: dict = {}  # --set key=value overrides of the VDAE config (e.g. proj_width=8)


def job(dataset, seed, decoder_input):
    from vdae_core.models.vdae import VDAEConfig

    t = time.perf_counter()
    run = train_run("vdae", DataConfig(dataset=dataset, n=2000, seed=seed),
                    {**(VDAEConfig.quick_preset() if QUICK else {}), **EXTRA, "decoder_input": decoder_input,
                     "device": "cpu"},
                    seed=seed)
    train_s = time.perf_counter() - t
    pool = ReferencePool(run.dataset, run.data_config, seed=0)
    prot = evaluate_run(run, n_samples=2000, reps=5, seed=0)
    G, fine = fine_lumpiness(run, pool)
    out = {"dataset": dataset, "seed": seed, "decoder_input": decoder_input, "overrides": EXTRA, "train_s": train_s,
           "protocol": prot["metrics"], "fine_lumpiness": fine}
    ds = run.dataset
    spacing = float(np.median(CoordinateLookup(ds)._nn.kneighbors(ds.X, n_neighbors=2)[0][:, 1]))
    if ds.manifold is not None:
        out["off_manifold_median_in_spacings"] = float(np.median(ds.manifold.distance(G)) / spacing)
    elif ds.mesh is not None:
        import trimesh

        mesh = trimesh.Trimesh(ds.mesh.vertices, ds.mesh.faces, process=False)
        d = np.abs(trimesh.proximity.closest_point(mesh, G[:2000].astype(np.float64))[1])
        out["off_manifold_median_in_spacings"] = float(np.median(d) / spacing)
    mix = mixing_from_one_start(run, start=0, n_walkers=1000, max_steps=50, seed=0)
    out["mixing_step"] = mix["mixing_step"]
    out["mixing_curves"] = {k: [round(v, 5) for v in c] for k, c in mix["curves"].items()}
    out["mixing_floor_q95"] = mix["floor_q95"]
    out["elapsed_s"] = time.perf_counter() - t
    return out


def summary_line(r):
    p = r["protocol"]
    f = r["fine_lumpiness"]
    return (f"{r['dataset']:7s} s{r['seed']} {r['decoder_input']:9s} memo {p['memorisation']['value']:.3f} "
            f"(floor {p['memorisation']['floor_mean']:.3f}) lump10 {p['lump_top10']['value']:.3f} "
            f"(floor {p['lump_top10']['floor_mean']:.3f}) fine lump10 {f['value']['lump_top10']:.3f} "
            f"(exact {f['floor']['lump_top10']:.3f}) mmd_h20 {p['mmd2_h20']['value']:.2e} "
            f"(floor {p['mmd2_h20']['floor_mean']:.2e}) off {r.get('off_manifold_median_in_spacings', float('nan')):.3f} "
            f"mix {r['mixing_step']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--job", help="dataset,seed,decoder_input")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--out-dir", default=".")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="VDAE config override key=value (repeatable)")
    a = ap.parse_args()
    global QUICK
    QUICK = a.quick
    for kv in a.set:
        key, _, v = kv.partition("=")
        EXTRA[key] = float(v) if v.replace(".", "", 1).isdigit() else v
    torch.set_num_threads(int(os.environ.get("VDAE_THREADS", "0")) or torch.get_num_threads())
    jobs = ([tuple(a.job.split(","))] if a.job else
            [(d, s, i) for d in a.datasets.split(",") for s in range(a.seeds) for i in INPUTS])
    os.makedirs(a.out_dir, exist_ok=True)
    for d, s, i in jobs:
        r = job(d, int(s), i)
        tag = "".join(f"_{k}{v}" for k, v in EXTRA.items())
        with open(os.path.join(a.out_dir, f"eval_{d}_{s}_{i}{tag}.json"), "w") as fh:
            json.dump(r, fh)
        print(summary_line(r), flush=True)


if __name__ == "__main__":
    main()

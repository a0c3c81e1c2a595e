"""VDAE quality bars and timings (issue 2). Run: python benchmarks/bench_vdae.py [--seeds 3] [--out docs/bench_vdae.json]

For each dataset and seed: train with default settings (timed per phase), compare SpectralNet's ψ with
the exact diffusion map computed in the same run (time and mean canonical correlation), then walk
1000 walkers from ONE training point for 20 steps and check the bars of issue 2.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vdae_core.api import (DataConfig, canonical_correlations, diffusion_map, make_dataset, random_walk,  # noqa: E402
                           train_run)
from vdae_core.cli import parse_overrides  # noqa: E402
from vdae_core.study.diagnostics import NearestLookup, walk_report  # noqa: E402
from vdae_core.metrics.mmd import mmd  # noqa: E402

CASES = [("circle", 2000), ("sphere", 3000), ("torus", 3000), ("blobs9", 2250)]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads"


def uniform_sphere(n, rng):
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def sphere_null(rng, n=1000, reps=50):
    """Bandwidth from uniform samples, and the 95% quantile of uniform-vs-uniform MMD^2."""
    h = mmd(uniform_sphere(n, rng), uniform_sphere(n, rng))["bandwidth"]
    vals = [mmd(uniform_sphere(n, rng), uniform_sphere(n, rng), bandwidth=h)["mmd2"] for _ in range(reps)]
    return h, float(np.quantile(vals, 0.95))


def bench_case(name, n, seed, rng, null, overrides=None):
    dc = DataConfig(dataset=name, n=n, seed=seed)
    t = time.perf_counter()
    run = train_run("vdae", dc, dict(overrides or {}), seed=seed, device="cpu")
    train_s = time.perf_counter() - t
    ds, model = run.dataset, run.model
    D = model.latent_dim
    dm = diffusion_map(ds.X, D, k=model.config.knn)
    psi = model.encode(ds.X)
    cc = canonical_correlations(psi, dm.coords)
    start = 0
    times = []
    for r in range(5):
        t = time.perf_counter()
        walk = random_walk(model, ds.X, 1000, 20, start=start, seed=seed)
        times.append(time.perf_counter() - t)
    long_walk = random_walk(model, ds.X, 1000, 50, start=start, seed=seed + 1000)
    lookup = NearestLookup(ds.X)
    rep = walk_report(ds, walk, start_label=None if ds.labels is None else int(ds.labels[start]), lookup=lookup)
    # Reference for the on-manifold bar: an exact sampler (20000 fresh draws from the same generator).
    exact = make_dataset(DataConfig(dataset=name, n=20000, seed=seed + 10_000)).X
    exact_dist = float(np.median(lookup.query(exact)[0]))
    row = {"dataset": name, "n": n, "seed": seed, "D": D, "alpha": float(model.alpha_used),
           "train_s": train_s, "phase_s": run.history.phase_seconds,
           "exact_dm_s": dm.seconds, "cc_mean": float(cc.mean()), "cc_min": float(cc.min()),
           "walk_1000x20_s": float(np.median(times)), "steps": rep,
           "exact_sampler_dist": exact_dist, "exact_sampler_ratio": exact_dist / lookup.spacing}
    if name == "sphere":
        h, q95 = null
        m2 = [mmd(walk[t], uniform_sphere(1000, rng), bandwidth=h)["mmd2"] for t in range(walk.shape[0])]
        row["mmd2"] = m2
        row["mmd2_q95"] = q95
        row["mmd_bandwidth"] = h
        row["mmd2_mean_10_20"] = float(np.mean(m2[10:]))
        row["mmd2_step50"] = mmd(long_walk[50], uniform_sphere(1000, rng), bandwidth=h)["mmd2"]
        # Reference: the best a sampler of the *training data's* law can do. 1000 training points
        # resampled vs fresh uniform samples carry the 3000-point sample's own deviation from uniform.
        ref = [mmd(ds.X[rng.choice(ds.n, 1000, replace=False)], uniform_sphere(1000, rng), bandwidth=h)["mmd2"]
               for _ in range(20)]
        row["data_resample_mmd2_mean"] = float(np.mean(ref))
        row["data_resample_over_q95"] = float(np.mean(np.array(ref) > q95))
    row["steps50"] = walk_report(ds, long_walk[50:51], start_label=None if ds.labels is None else int(ds.labels[start]),
                                 lookup=lookup)[0]
    return row


def summarise(rows):
    lines = ["| dataset | seed | D | train s (spectral / variational) | exact DM s | CC mean (min) | walk 1000x20 s | bar |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        last = r["steps"][-1]
        s10 = r["steps"][10]
        onm = (f"dist {last['median_dist']:.4f} = {last['median_dist'] / last['spacing']:.2f} spacings "
               f"(exact sampler {r['exact_sampler_ratio']:.2f})")
        if "median_manifold_dist" in last:
            onm += (f"; off the true manifold {last['median_manifold_dist']:.5f} = "
                    f"{last['median_manifold_dist'] / last['spacing']:.2f} spacings")
        if r["dataset"] == "circle":
            bar = (f"KS θ={last['ks_theta']:.3f} (step 10: {s10['ks_theta']:.3f}); {onm}")
        elif r["dataset"] == "sphere":
            bar = (f"MMD² step10={r['mmd2'][10]:.2e}, mean 10-20={r['mmd2_mean_10_20']:.2e}, step50={r['mmd2_step50']:.2e} "
                   f"(null q95 {r['mmd2_q95']:.2e}; resampled training points: mean {r['data_resample_mmd2_mean']:.2e}, "
                   f"{r['data_resample_over_q95']:.0%} over q95); {onm}")
        elif r["dataset"] == "torus":
            l50 = r["steps50"]
            bar = (f"KS θ={last['ks_theta']:.3f}, KS φ={last['ks_phi']:.3f} (step 50: {l50['ks_theta']:.3f}, "
                   f"{l50['ks_phi']:.3f}); {onm}")
        else:
            bar = f"stay@10={s10['stay']:.3f}, stay@20={last['stay']:.3f}; {onm}"
        ph = r["phase_s"]
        lines.append(f"| {r['dataset']} | {r['seed']} | {r['D']} | {r['train_s']:.1f} ({ph.get('spectral', 0):.1f} / "
                     f"{ph.get('variational', 0):.1f}) | {r['exact_dm_s']:.2f} | {r['cc_mean']:.4f} ({r['cc_min']:.4f}) | "
                     f"{r['walk_1000x20_s']:.3f} | {bar} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--datasets", default=",".join(c[0] for c in CASES))
    p.add_argument("--out", default="docs/bench_vdae.json")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a VDAE setting (as in the CLI), e.g. --set step_size=2.0")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("VDAE_THREADS", os.cpu_count() or 1)))
    rng = np.random.default_rng(123)
    null = sphere_null(rng)
    overrides = parse_overrides(a.set)
    rows = []
    wanted = a.datasets.split(",")
    for name, n in CASES:
        if name not in wanted:
            continue
        for seed in range(a.seeds):
            rows.append(bench_case(name, n, seed, rng, null, overrides))
            print(summarise(rows[-1:]).splitlines()[-1], flush=True)
    print(f"\nMachine: {machine()}, {platform.python_version()}\n")
    print(summarise(rows))
    with open(a.out, "w") as fh:
        json.dump({"machine": machine(), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()

"""Issue 9 quality bars and speed for the manifold-latent models, in one run.

    python benchmarks/bench_latent_models.py [--seeds 3] [--out docs/bench_latent_models.json] [--quick]

Every model trains with its default settings (``--quick``: its quick preset, for a smoke run):
- circle (n=2000): the latent angle of SVAE (S¹), ΔVAE (S¹) and ER-VAE (S¹) against the true angle θ —
  Fisher–Lee circular correlation |ρ| (best rotation/reflection; bar ≥ 0.95); beside them a β-VAE with
  a 2-D Gaussian latent (angle of its centred code) and the VDAE, with the median and largest
  per-point bi-Lipschitz constant of every decoder (latent distances geodesic on manifold latents);
- flat_torus and torus (n=2000): ΔVAE with a flat-torus latent, both angles after the best torus
  symmetry (bar ≥ 0.9 each);
- sphere (n=2000): ΔVAE and SVAE with an S² latent: MMD² (Gaussian kernel, bandwidth by the median
  heuristic of two uniform samples) between the codes of 1,000 held-out-seed points and 1,000 fresh
  uniform points, against the 95% quantile of the same statistic between two uniform samples (50 draws),
  and trustworthiness (k = 10; bar ≥ 0.95);
- speed: the default training time of every model on circle, sphere and torus next to the VDAE's in
  the same run (bar: ≤ 2× the VDAE).
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

from vdae_core.api import MODELS, DataConfig, make_dataset  # noqa: E402
from vdae_core.study.analysis import per_point_bilipschitz  # noqa: E402
from vdae_core.metrics.circular import circular_correlation, torus_alignment  # noqa: E402
from vdae_core.metrics.mmd import mmd  # noqa: E402
from vdae_core.metrics.trustworthiness import trustworthiness  # noqa: E402
from vdae_core.pipeline.train import finish, start  # noqa: E402

N = 2000
CIRCLE_MODELS = [("svae", {"latent_manifold_dim": 1}), ("delta_vae", {"latent_manifold": "sphere", "latent_manifold_dim": 1}),
                 ("er_vae", {"latent_manifold": "sphere", "latent_manifold_dim": 1}), ("beta_vae", {"latent_dim": 2}),
                 ("vdae", {})]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, load {load:.2f}"


def train(model, dataset, seed, overrides, quick):
    cls = MODELS.get(model)
    over = {**(cls.config_class.quick_preset() if quick else {}), **overrides, "device": "cpu"}
    t = time.perf_counter()
    tr = start(model, DataConfig(dataset=dataset, n=N, seed=seed), over, seed=seed)
    tr.run()
    run = finish(tr)
    run.restart_scores = next((list(p.scores) for p in tr.phases if p.name == "restarts"), [])
    return run, time.perf_counter() - t


def latent_angles(model, Z):
    """(n, k) angles of codes: a manifold's periodic intrinsic coordinates, else the angle of the centred 2-D code."""
    space = model.latent_space
    if space.is_compact:
        C = model.latent_coords(Z)
        return C[:, [i for i, p in enumerate(space.coord_periodic) if p]]
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.mean(0)
    return np.arctan2(Z[:, 1], Z[:, 0])[:, None]


def uniform_sphere(n, rng):
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def circle_case(seed, quick):
    rows = []
    for model, over in CIRCLE_MODELS:
        run, secs = train(model, "circle", seed, over, quick)
        Z = run.model.encode(run.dataset.X)
        ang = latent_angles(run.model, Z)[:, 0]
        rho = abs(circular_correlation(run.dataset.params[:, 0], ang))
        bl = per_point_bilipschitz(run.model, run.dataset.X, k=10, n_points=1500, seed=0)
        rows.append({"dataset": "circle", "model": model, "latent": run.model.latent_space.label, "seed": seed,
                     "circ_corr": rho, "bilip_median": float(np.median(bl.raw)), "bilip_max": float(bl.raw.max()),
                     "bilip_sf_median": float(np.median(bl.scale_free)), "bilip_sf_max": float(bl.scale_free.max()),
                     "train_s": secs})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _restart_scores(run):
    """The loss of each ΔVAE initialisation at the restart choice, in the order tried (the chosen one is the lowest)."""
    return [round(v, 3) for v in getattr(run, "restart_scores", [])]


def torus_case(seed, quick):
    rows = []
    for data in ("flat_torus", "torus"):
        run, secs = train("delta_vae", data, seed, {"latent_manifold": "flat_torus"}, quick)
        al = torus_alignment(run.dataset.params[:, :2], latent_angles(run.model, run.model.encode(run.dataset.X)))
        rows.append({"dataset": data, "model": "delta_vae", "latent": run.model.latent_space.label, "seed": seed, "n": N,
                     "restart_scores": _restart_scores(run),
                     "circ_corr_per_angle": al["per_angle"], "circ_corr_min": al["min"], "train_s": secs})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def sphere_case(seed, quick, null):
    rows = []
    h, q95 = null
    rng = np.random.default_rng(1000 + seed)
    for model, over in (("delta_vae", {"latent_manifold": "sphere", "latent_manifold_dim": 2}),
                        ("svae", {"latent_manifold_dim": 2})):
        run, secs = train(model, "sphere", seed, over, quick)
        held = make_dataset(DataConfig(dataset="sphere", n=1000, seed=10_000 + seed)).X  # held-out points
        Z = run.model.encode(held)
        m2 = mmd(Z, uniform_sphere(1000, rng), bandwidth=h)["mmd2"]
        tw = trustworthiness(held, Z, k=10)
        rows.append({"dataset": "sphere", "model": model, "latent": run.model.latent_space.label, "seed": seed,
                     "mmd2_to_uniform": m2, "null_q95": q95, "inside_null": bool(m2 <= q95), "trustworthiness": tw,
                     "train_s": secs})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def sphere_null(reps=50):
    rng = np.random.default_rng(7)
    h = mmd(uniform_sphere(1000, rng), uniform_sphere(1000, rng))["bandwidth"]
    vals = [mmd(uniform_sphere(1000, rng), uniform_sphere(1000, rng), bandwidth=h)["mmd2"] for _ in range(reps)]
    return h, float(np.quantile(vals, 0.95))


def speed(quick):
    rows = []
    for data in ("circle", "sphere", "torus"):
        base = None
        for model in ("vdae", "beta_vae", "svae", "delta_vae", "er_vae"):
            _, secs = train(model, data, 0, {}, quick)
            base = secs if model == "vdae" else base
            rows.append({"dataset": data, "model": model, "train_s": secs, "vs_vdae": secs / base})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    global N
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--quick", action="store_true", help="quick presets (a smoke run, not the bars)")
    ap.add_argument("--only", default="circle,torus,sphere,speed")
    ap.add_argument("--out", default=None)
    ap.add_argument("--n", type=int, default=N, help="points per training set (default %(default)s)")
    a = ap.parse_args()
    N = a.n
    torch.set_num_threads(int(os.environ.get("VDAE_THREADS", "0")) or os.cpu_count())
    out = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": a.quick, "n": N}
    parts = a.only.split(",")
    null = sphere_null() if "sphere" in parts else None
    for s in range(a.first_seed, a.first_seed + a.seeds):
        if "circle" in parts:
            out.setdefault("circle", []).extend(circle_case(s, a.quick))
        if "torus" in parts:
            out.setdefault("torus", []).extend(torus_case(s, a.quick))
        if "sphere" in parts:
            out.setdefault("sphere", []).extend(sphere_case(s, a.quick, null))
    if "speed" in parts:
        out["speed"] = speed(a.quick)
    out["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(out, fh, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k in ("machine", "started", "finished")}))


if __name__ == "__main__":
    main()

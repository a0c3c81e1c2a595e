"""Issue 29, step 1: which stage of the VDAE loses a loop — ψ, the decoder, or the walk?

    python benchmarks/diagnose_loops.py [--log docs/diagnose_loops_log.jsonl] [--data torus] [--seeds 0,1,2]
        [--set '{"proj_width": 2.0}'] [--label defaults]
    python benchmarks/diagnose_loops.py --table docs/diagnose_loops_log.jsonl     # the table in docs/METHODS.md
    python benchmarks/diagnose_loops.py --time-only --log docs/vdae_option_time_log.jsonl --seeds 0 \
        --set '{}' --set '{"proj_neighbours": 32}' --set '{"spectral_fit_steps": 800, "proj_neighbours": 32}'

For each seed the VDAE is trained (its defaults, or ``--set`` overrides) on a built-in dataset with a closed-form
manifold (circle, sphere, torus), and the studio's persistence rule (``metrics.persistence``: Betti numbers at
τ_k = κ_k δ) reads each stage on 1,000 points:

- **codes** ψ(X) of the training points; the exact diffusion map Φ_D of the same points, for comparison;
- **reconstruction** ψ⁻¹(ψ(X)) (the decoder alone, no walk);
- **walk** one step and ten steps of Algorithm 2 from 1,000 random training points, and ``sample()``;
- for the samples: the distance to the true manifold (quantiles, and how many lie deeper than a third of the
  torus's tube radius or of the circle's radius), the Betti numbers once the farthest 2% are left out, and the
  lifetime of the second-longest H1 bar against τ₁ (the tube's loop on a torus) for the data and the samples.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import machine_fields, read_log, run_sweep, row_label, sweep_parser  # noqa: E402


def _second_bar(p) -> float:
    """Lifetime of the second-longest H1 bar (0 if there is none)."""
    d = p.diagrams[1]
    life = np.sort(d[:, 1] - d[:, 0])[::-1]
    return float(life[1]) if len(life) > 1 else 0.0


def diagnose(data: str, seed: int, overrides: dict) -> dict:
    import torch

    from vdae_core.api import DataConfig, train_run
    from vdae_core.geometry.diffusion_maps import diffusion_map
    from vdae_core.metrics.persistence import persistence

    t = time.perf_counter()
    run = train_run("vdae", DataConfig(dataset=data, n=2000, seed=seed), overrides, seed=seed, device="cpu")
    secs = time.perf_counter() - t
    m, ds = run.model, run.dataset
    X = ds.X
    idx = np.sort(np.random.default_rng(seed).choice(len(X), 1000, replace=False))
    Z = np.asarray(m.encode(X), dtype=np.float64)
    R = np.asarray(m.decode(Z[idx].astype(np.float32)))
    walk = np.asarray(m.random_walk(X[idx], 10, torch.Generator().manual_seed(seed)))
    S = np.asarray(m.sample(1000, torch.Generator().manual_seed(seed)))
    exact = diffusion_map(X.astype(np.float64), m.latent_dim, k=m.config.knn).coords
    scale = float(ds.manifold.params.get("r", ds.manifold.params.get("radius", 1.0))) if ds.manifold else 1.0
    d = ds.manifold.distance(S)
    p_data, p_s = persistence(X[idx]), persistence(S)
    keep = d < np.quantile(d, 0.98)
    return {"bench": "diagnose_loops", "data": data, "seed": seed, "overrides": overrides, "D": int(m.latent_dim),
            "train_s": round(secs, 1),
            "betti": {"data": p_data.betti, "exact_phi": persistence(exact[idx]).betti,
                      "codes": persistence(Z[idx]).betti, "recon": persistence(R).betti,
                      "walk1": persistence(walk[1]).betti, "walk10": persistence(walk[10]).betti,
                      "samples": p_s.betti, "samples_wo_far_2pct": persistence(S[keep]).betti},
            "off_manifold": {"q90": round(float(np.quantile(d, 0.9)), 4), "q99": round(float(np.quantile(d, 0.99)), 4),
                             "max": round(float(d.max()), 4), "deeper_than_third": int((d > scale / 3).sum()),
                             "scale": scale},
            "second_h1_life_over_tau": {"data": round(_second_bar(p_data) / p_data.tau[1], 3),
                                        "samples": round(_second_bar(p_s) / p_s.tau[1], 3)},
            **machine_fields()}


def table(log_path: str) -> str:
    """Markdown table of a log: one row per run."""
    rows = read_log(log_path)
    out = ["| data | settings | seed | D | H1 of data / exact Φ_D / codes / recon / walk 1 / walk 10 / samples "
           "| samples without the farthest 2% | off-manifold q99 / max (samples deeper than a third of r) "
           "| 2nd H1 bar / τ₁: data, samples |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r["betti"]
        h1 = " / ".join(str(b[k][1]) for k in ("data", "exact_phi", "codes", "recon", "walk1", "walk10", "samples"))
        o = r["off_manifold"]
        over = row_label(r)
        lt = r["second_h1_life_over_tau"]
        out.append(f"| {r['data']} | {over} | {r['seed']} | {r['D']} | {h1} | {b['samples_wo_far_2pct'][1]} | "
                   f"{o['q99']:.3f} / {o['max']:.3f} ({o['deeper_than_third']}) | {lt['data']:.2f}, {lt['samples']:.2f} |")
    return "\n".join(out)


def main():
    ap = sweep_parser("torus", "0,1,2")
    ap.add_argument("--time-only", action="store_true", help="only train, one after another, and log the seconds")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    if args.time_only:
        run_sweep(args, train_seconds)
        return
    run_sweep(args, diagnose, show=("data", "seed", "betti", "off_manifold", "second_h1_life_over_tau"))


def train_seconds(data: str, seed: int, overrides: dict) -> dict:
    """Only train (the --time-only row): the seconds of one VDAE training."""
    from vdae_core.api import DataConfig, train_run

    t = time.perf_counter()
    train_run("vdae", DataConfig(dataset=data, n=2000, seed=seed), overrides, seed=seed, device="cpu")
    return {"bench": "vdae_option_time", "data": data, "seed": seed, "overrides": overrides,
            "train_s": round(time.perf_counter() - t, 1), **machine_fields()}


if __name__ == "__main__":
    main()

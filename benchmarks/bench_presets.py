"""Training time and quality of the VDAE's settings side by side (issue 16): default, live, or any overrides.

    python benchmarks/bench_presets.py [--datasets circle,sphere,torus] [--seeds 0,1,2]
        [--variant NAME=KEY=VALUE,KEY=VALUE ...] [--preset live] [--log FILE]

Every job trains in a fresh process (so a job's time includes no warm caches of the one before) and
reports, for dataset × seed × variant:

- wall time of the training (``Trainer.run``) and of each phase, and why each phase ended;
- CC: mean and smallest canonical correlation of ψ with the exact diffusion map of the same points
  (same k; ``geometry.diffusion_maps``), the accuracy of the SpectralNet;
- the evaluation protocol's law bars on 2,000 samples against held-out data, each beside its floor
  (``vdae_core.study.evaluation.evaluate_run``): memorisation (nearest-sample distance ratio; an exact sampler
  ≈ 1), lumpiness (share of the densest 10% of cells), MMD²;
- distance of samples to the true manifold (closed form) in data spacings;
- mixing from one start: the first walk step at which every KS/MMD statistic is inside its floor's q95.

Variants are named override sets; ``--preset live`` adds the VDAE's live preset as a variant. The
default variant is always run. Figures with the machine go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, start_busy, stop_busy  # noqa: E402  (this script's folder is on sys.path)

N = {"circle": 2000, "sphere": 3000, "torus": 3000}
FLOOR_DIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vdae_bench_presets_floors")


def machine() -> str:
    import torch

    from bench_common import cpu_model

    return (f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}, Python {platform.python_version()}")


def job(dataset: str, seed: int, overrides: dict, time_only: bool = False, warm: bool = False) -> dict:
    """Train once and measure (runs inside the fresh child process). ``time_only``: no quality figures (a clean
    timing pass, run on an idle machine); ``warm``: build one optimiser before the clock starts, as the app's
    server does at start (torch.optim imports torch._dynamo on its first optimiser, ~2 s)."""
    import torch

    if warm:
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])

    from vdae_core.api import DataConfig
    from vdae_core.study.evaluation import CoordinateLookup, evaluate_run, mixing_from_one_start
    from vdae_core.geometry.diffusion_maps import canonical_correlations, diffusion_map
    from vdae_core.pipeline.train import finish, start

    n = N.get(dataset, 2000)
    tr = start("vdae", DataConfig(dataset=dataset, n=n, seed=seed), {**overrides, "device": "cpu"}, seed=seed)
    t = time.perf_counter()
    tr.run()
    train_s = time.perf_counter() - t
    hist = tr.history
    timing = {"dataset": dataset, "n": n, "seed": seed, "overrides": overrides, "train_s": round(train_s, 3),
              "warm": warm, "time_only": time_only, "phase_s": {k: round(v, 3) for k, v in hist.phase_seconds.items()},
              "stop_reasons": hist.stop_reasons,
              "steps": {ph: (recs[-1]["step"] if recs else 0) for ph, recs in hist.records.items()}}
    if time_only:
        return timing
    run = finish(tr)
    ds, model = run.dataset, run.model
    dm = diffusion_map(ds.X, model.latent_dim, k=model.config.knn)
    cc = canonical_correlations(model.encode(ds.X), dm.coords)
    # The law bars only (no GW, no persistence: they take minutes and are not among this benchmark's bars); the
    # floors depend on the data alone, so the jobs share them through FLOOR_DIR.
    prot = evaluate_run(run, n_samples=2000, reps=5, seed=0, with_gw=False, with_topology=False,
                        floor_dir=FLOOR_DIR)["metrics"]
    G = model.sample(2000, torch.Generator().manual_seed(seed))
    spacing = float(np.median(CoordinateLookup(ds)._nn.kneighbors(ds.X, n_neighbors=2)[0][:, 1]))
    off = float(np.median(ds.manifold.distance(G)) / spacing) if ds.manifold is not None else None
    mix = mixing_from_one_start(run, start=0, n_walkers=1000, max_steps=50, seed=0)
    return {**timing, "cc_mean": float(cc.mean()), "cc_min": float(cc.min()),
            **{key: {"value": prot[key]["value"], "floor": prot[key]["floor_mean"]}
               for key in ("memorisation", "lump_top10", "mmd2") if key in prot},
            "off_manifold_spacings": off, "mixing_step": mix["mixing_step"]}


def run_child(dataset: str, seed: int, overrides: dict, time_only: bool = False, warm: bool = False) -> dict:
    """One job in a fresh process; its JSON result is the last line of its output."""
    cmd = [sys.executable, os.path.abspath(__file__), "--job", json.dumps([dataset, seed, overrides, time_only, warm])]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"job {dataset} seed {seed} {overrides} failed:\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["load_before"] = round(load, 2)
    return row


def parse_variant(text: str) -> tuple:
    """``NAME=KEY=VALUE,KEY=VALUE`` -> (name, overrides)."""
    from vdae_core.cli import parse_overrides

    name, _, rest = text.partition("=")
    return name, parse_overrides([kv for kv in rest.split(",") if kv])


def line(r: dict, name: str) -> str:
    def f(key):
        e = r.get(key)
        return "–" if e is None else f"{e['value']:.3g} ({e['floor']:.3g})"
    off = "–" if r["off_manifold_spacings"] is None else f"{r['off_manifold_spacings']:.2f}"
    return (f"| {r['dataset']} | {r['seed']} | {name} | {r['train_s']:.1f} | "
            f"{' / '.join(f'{v:.1f}' for v in r['phase_s'].values())} | {r['cc_mean']:.4f} ({r['cc_min']:.3f}) | "
            f"{f('memorisation')} | {f('lump_top10')} | {off} | {r['mixing_step']} | "
            f"{r['steps'].get('variational', '–')} |")


def write_measured(log: str, out: str) -> dict:
    """Means over seeds of the default and live rows of ``log`` (the newest row per dataset, seed and variant),
    as ``ModelConfig.live_measured`` reads them; written to ``out``."""
    rows = {}
    with open(log) as fh:
        for text in fh:
            r = json.loads(text)
            if r.get("variant") in ("default", "live") and not r.get("busy"):
                kind = "time" if r.get("time_only") else "quality"
                if kind == "time" and not r.get("warm"):
                    kind = "time_cold"
                rows[(kind, r["dataset"], r["seed"], r["variant"])] = r  # later lines replace earlier ones
    table: dict = {}
    times: dict = {}
    for (kind, dataset, seed, variant), r in sorted(rows.items()):
        if kind == "quality":
            table.setdefault(dataset, {}).setdefault(variant, []).append(r)
        else:
            times.setdefault((kind, dataset, variant), []).append(r["train_s"])
    datasets = {}
    for dataset, by_variant in table.items():
        datasets[dataset] = {}
        for variant, rs in by_variant.items():
            # Training time from the clean timing pass on an idle machine, in a warm process (the app's case);
            # the quality pass ran beside other work.
            warm_t, cold_t = times.get(("time", dataset, variant)), times.get(("time_cold", dataset, variant))
            # Mixed once every statistic is inside its floor: the latest of their steps (None: never in 50).
            mix = [None if None in r["mixing_step"].values() else max(r["mixing_step"].values()) for r in rs]
            datasets[dataset][variant] = {
                "seeds": len(rs),
                "train_s": float(np.mean(warm_t)) if warm_t else float(np.mean([r["train_s"] for r in rs])),
                "train_s_cold": float(np.mean(cold_t)) if cold_t else None,
                "cc_mean": float(np.mean([r["cc_mean"] for r in rs])),
                "memorisation": float(np.mean([r["memorisation"]["value"] for r in rs])),
                "lump_top10": float(np.mean([r["lump_top10"]["value"] for r in rs])),
                "off_manifold_spacings": (float(np.mean([r["off_manifold_spacings"] for r in rs]))
                                          if all(r["off_manifold_spacings"] is not None for r in rs) else None),
                "mixing_step": (float(np.mean(mix)) if all(m is not None for m in mix) else None)}
    any_row = next(iter(rows.values()))
    doc = {"machine": any_row["machine"].split(", torch")[0], "date": any_row["date"][:10], "datasets": datasets}
    try:  # keep what other benchmarks stored there (bench_demo.py's "demo")
        with open(out) as fh:
            doc = {**{k: v for k, v in json.load(fh).items() if k not in doc}, **doc}
    except (OSError, ValueError):
        pass
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--datasets", default="circle,sphere,torus")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--variant", action="append", default=[], help="NAME=KEY=VALUE,KEY=VALUE (repeatable)")
    ap.add_argument("--preset", action="append", default=[], help="a named preset of the VDAE (e.g. live)")
    ap.add_argument("--no-default", action="store_true", help="skip the default variant")
    ap.add_argument("--log", default=None, help="append one JSON line per job")
    ap.add_argument("--time-only", action="store_true", help="train and time only (run it on an idle machine)")
    ap.add_argument("--warm", action="store_true", help="time in a process whose optimiser import is done (the app)")
    ap.add_argument("--busy", action="store_true", help="another process spins one core meanwhile (rows say so; "
                                                        "--write-measured leaves them out)")
    ap.add_argument("--write-measured", default=None, metavar="JSON",
                    help="only aggregate --log's default and live rows into JSON (the file the app shows)")
    a = ap.parse_args()
    if a.write_measured:
        print(json.dumps(write_measured(a.log, a.write_measured), indent=1))
        return
    if a.job:
        dataset, seed, overrides, time_only, warm = (json.loads(a.job) + [False, False])[:5]
        print(json.dumps(job(dataset, int(seed), overrides, time_only, warm)), flush=True)
        return
    from vdae_core.pipeline.presets import compose

    variants = [] if a.no_default else [("default", {})]
    variants += [(p, compose("vdae", p)) for p in a.preset]
    variants += [parse_variant(v) for v in a.variant]
    print(f"Machine: {machine()}")
    print("| dataset | seed | variant | train s | phases s | CC mean (min) | memorisation (floor) | "
          "lump top10 (floor) | off manifold, spacings | mixing step | variational steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset in a.datasets.split(","):
        for seed in [int(s) for s in a.seeds.split(",")]:
            for name, over in variants:
                busy = start_busy() if a.busy else None
                try:
                    r = run_child(dataset, seed, over, a.time_only, a.warm)
                finally:
                    stop_busy(busy)
                r["busy"] = a.busy
                r["variant"], r["machine"], r["date"] = name, machine(), time.strftime("%Y-%m-%d %H:%M")
                print(line(r, name) if not a.time_only else
                      f"| {dataset} | {seed} | {name} | {'warm' if a.warm else 'cold'} | {r['train_s']:.2f} | "
                      f"{' / '.join(f'{v:.2f}' for v in r['phase_s'].values())} | {r['steps']} |", flush=True)
                append_log(a.log, r)


if __name__ == "__main__":
    main()

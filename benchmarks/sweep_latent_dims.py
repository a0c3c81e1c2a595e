"""Issue 31 item 3: every model's latent (or noise, or sphere) dimension chosen by one validation rule.

    python benchmarks/sweep_latent_dims.py [--models beta_vae,two_stage_vae,wgan_gp,svae,vdae]
        [--datasets circle,torus,bunny] [--log docs/sweep_latent_dims_log.jsonl]
    python benchmarks/sweep_latent_dims.py --choose-from docs/sweep_latent_dims_log.jsonl [--write-tuned]
    python benchmarks/sweep_latent_dims.py --table docs/sweep_latent_dims_log.jsonl

The candidates come from the data, the same for every model: its intrinsic dimension d, d + 1, and the
dimension D the VDAE's rule reads off the data (``Dataset.latent_dim_choice``); for SVAE the sphere S^k with
k in {1, 2} (the studio's S¹/S² choice; S^k has k + 1 coordinates). Each model keeps
its other validated settings (``tuned_preset``: the β-VAE's β, WGAN-GP's steps and penalty). Training on data
and initialisation seed 100 (n = 2000), scoring 1,000 samples against a validation reference (evaluation seed
101) — Table 1 uses seeds 0-4 for both, so the choice is not fitted to the runs it is judged on. The
criterion is the β sweep's (``benchmarks/sweep_beta.py``): the fidelity and diversity deficit
(1 − precision) + (1 − coverage), the smaller dimension within 0.01 of the best.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import append_log, machine_fields, read_log  # noqa: E402
from sweep_beta import VALIDATION_SEED, deficit, pick_within  # noqa: E402

#: The config field each model's dimension lives in.
FIELD = {"beta_vae": "latent_dim", "two_stage_vae": "latent_dim", "wgan_gp": "latent_dim",
         "svae": "latent_manifold_dim", "vdae": "latent_dim"}


def candidates(model: str, dataset: str) -> list:
    """The dimensions tried for ``model`` on ``dataset``: {d, d + 1, D} (SVAE: sphere dimensions in {1, 2})."""
    from vdae_core.data import DataConfig, make_dataset

    ds = make_dataset(DataConfig(dataset=dataset, n=2000, seed=VALIDATION_SEED))
    d = int(ds.intrinsic_dim)
    if model == "svae":
        return [1, 2]
    return sorted({d, d + 1, int(ds.latent_dim_choice().dim)})


def measure(model: str, dataset: str, dim: int) -> dict:
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.presets import compose
    from vdae_core.pipeline.train import train_run
    from vdae_core.study.evaluation import evaluate_run

    over = {**compose(model, "tuned", dataset=dataset), FIELD[model]: int(dim), "device": "cpu"}
    t = time.perf_counter()
    run = train_run(model, DataConfig(dataset=dataset, n=2000, seed=VALIDATION_SEED), over, seed=VALIDATION_SEED)
    train_s = time.perf_counter() - t
    m = evaluate_run(run, n_samples=1000, reps=5, seed=VALIDATION_SEED + 1, with_gw=True)["metrics"]
    return {"bench": "latent_dims", "model": model, "dataset": dataset, "field": FIELD[model], "dim": int(dim),
            **{k: round(float(m[k]["value"]), 5) for k in ("precision", "coverage", "gw", "mmd2_h20", "memorisation")},
            "betti1": int(m["betti1"]["value"]), "betti1_data": int(round(m["betti1"]["floor_mean"])),
            "train_s": round(train_s, 1), **machine_fields()}


def choose(rows) -> dict:
    """{model: {dataset: {field: dim, "why": ...}}}: the smallest dimension within 0.01 of the best deficit."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        for d in dict.fromkeys(r["dataset"] for r in rows if r["model"] == model):
            sc = {r["dim"]: deficit(r) for r in rows if r["model"] == model and r["dataset"] == d}
            pick, best = pick_within(sc, min)
            field = FIELD[model]
            out.setdefault(model, {})[d] = {
                field: pick, "why": f"validation (1 - precision) + (1 - coverage) = {sc[pick]:.3f} (best {best:.3f}) "
                                    f"over {field} in {sorted(sc)}; seeds {VALIDATION_SEED}/{VALIDATION_SEED + 1}"}
    return out


def table(log_path: str) -> str:
    rows = read_log(log_path)
    picks = choose(rows)
    order = {m: i for i, m in enumerate(FIELD)}
    data_order = {d: i for i, d in enumerate(dict.fromkeys(r["dataset"] for r in rows))}
    rows = sorted(rows, key=lambda r: (order.get(r["model"], 99), data_order[r["dataset"]], r["dim"]))
    out = ["| model | data | dimension | 1 − precision + 1 − coverage | GW (robust) | MMD² (h/20) | loops (data's) "
           "| train s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **chosen**" if picks[r["model"]][r["dataset"]][r["field"]] == r["dim"] else ""
        out.append(f"| {r['model']} | {r['dataset']} | {r['field']} {r['dim']}{mark} | {deficit(r):.3f} | "
                   f"{r['gw']:.2e} | {r['mmd2_h20']:.2e} | {r['betti1']} ({r['betti1_data']}) | {r['train_s']:.0f} |")
    return "\n".join(out)


def write_tuned(choice: dict) -> None:
    """Merge each model's chosen dimension into its ``models/tuned`` file (other tuned settings kept). A model
    whose pick is, on every dataset, the dimension its defaults already read off the data (the VDAE's D) needs
    no file and gets none."""
    from vdae_core.data import DataConfig, make_dataset
    from vdae_core.foundation.preset_costs import TUNED_DIR
    from vdae_core.foundation.registry import MODELS

    for model, per in choice.items():
        cfg = MODELS.get(model).config_class
        if getattr(cfg(), FIELD[model]) == 0 and all(
                c[FIELD[model]] == make_dataset(DataConfig(dataset=d, n=2000, seed=VALIDATION_SEED)).latent_dim_choice().dim
                for d, c in per.items()):
            print(f"{model}: the data's rule already gives the pick on every dataset; no file")
            continue
        name = cfg.TUNED_FILE or f"{model}.json"
        path = os.path.join(TUNED_DIR, name)
        table_ = json.load(open(path)) if os.path.exists(path) else {}
        for d, c in per.items():
            entry = table_.setdefault(d, {})
            entry[FIELD[model]] = c[FIELD[model]]
            entry["why_dim"] = c["why"]
        with open(path, "w") as fh:
            json.dump(table_, fh, indent=1)
        print(f"wrote {path}" + ("" if cfg.TUNED_FILE else f" (set {cfg.__name__}.TUNED_FILE = {name!r})"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="beta_vae,two_stage_vae,wgan_gp,svae,vdae")
    ap.add_argument("--datasets", default="circle,torus,bunny")
    ap.add_argument("--log", default=None)
    ap.add_argument("--choose-from", default=None)
    ap.add_argument("--write-tuned", action="store_true")
    ap.add_argument("--table", default=None)
    a = ap.parse_args()
    if a.table:
        print(table(a.table))
        return
    if a.choose_from:
        choice = choose(read_log(a.choose_from))
        print(json.dumps(choice, indent=1))
        if a.write_tuned:
            write_tuned(choice)
        return
    import vdae_core  # noqa: F401  (the studio's thread policy before torch loads)

    for model in a.models.split(","):
        for d in a.datasets.split(","):
            for dim in candidates(model, d):
                row = measure(model, d, dim)
                append_log(a.log, row)
                print(json.dumps({k: row[k] for k in ("model", "dataset", "dim", "precision", "coverage", "gw",
                                                       "betti1", "train_s")}), flush=True)


if __name__ == "__main__":
    main()

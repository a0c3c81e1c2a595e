"""Issue 32, part 5: which manifold learner tears, folds or loses a loop — beside the VDAE, the VAEs and the
topological autoencoder — measured by the same function that audits any map.

    python benchmarks/learner_table.py --log docs/learner_table_log.jsonl [--workers 2]

For every dataset and model: train on the dataset's training points (2,000; the turntable's 360 images), take
the codes of those points and audit the map X -> Z with :func:`vdae_core.study.map_audit.map_audit` and
:func:`~vdae_core.study.map_audit.map_topology` (tears, folds, scale-free bi-Lipschitz, trustworthiness, RTD,
Betti numbers of data and codes). Seeds 0–2 where the method draws random numbers (``random_init``, UMAP and
t-SNE), seed 0 where it does not. Every model at the settings ``compare`` uses (``tuned`` where a validation
sweep gave them, else its defaults; latent dimension by the data rule), fully connected networks on images.
One JSON row per run; ``table(log)`` renders the table for docs/RESULTS.md (tests/test_docs_tables.py).
"""
import argparse
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATASETS = ["circle", "torus", "swiss_roll_hole", "bunny", "turntable"]
MODELS = ["pca", "isomap", "lle", "diffusion_map", "phate", "umap", "tsne", "topo_ae", "vdae", "beta_vae", "svae"]
#: Training points per dataset: 2,000, the turntable its 360 rendered views (one per degree).
N_POINTS = {"turntable": 360}
#: Methods whose result depends on a seed although they draw no initial weights.
SEEDED_LEARNERS = ("umap", "tsne", "phate")


def seeds_for(model: str, n_seeds: int):
    from vdae_core.foundation.registry import MODELS as REG

    random = REG.get(model).random_init or model in SEEDED_LEARNERS
    return list(range(n_seeds)) if random else [0]


def measure(dataset: str, model: str, seed: int) -> dict:
    """Train one run and audit its map; one log row."""
    from vdae_core.api import DataConfig, make_dataset, train_run
    from vdae_core.foundation.runtime import set_threads
    from vdae_core.pipeline.presets import compose
    from vdae_core.study.map_audit import run_map_summary

    import warnings

    warnings.filterwarnings("ignore", message="The input point cloud has more columns than rows")
    set_threads(1)
    data = DataConfig(dataset=dataset, n=N_POINTS.get(dataset, 2000), seed=0)
    ds = make_dataset(data)
    over = compose(model, "tuned", {"network": "mlp"} if len(ds.data_shape) > 1 else None, dataset=dataset)
    t0 = time.perf_counter()
    run = train_run(model, data, over, seed=seed, device="cpu", dataset=ds)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    row = run_map_summary(run, max_points=run.dataset.n, seed=seed)
    return {"dataset": dataset, "model": model, "seed": seed, "n": int(run.dataset.n), **row,
            "train_s": round(train_s, 1), "audit_s": round(time.perf_counter() - t1, 1), "date": time.strftime("%Y-%m-%d")}


def table(log_path: str) -> str:
    """Per dataset and model (the log's newest row of each seed): mean over seeds of each number, Betti numbers of
    the codes seed by seed against the data's."""
    import numpy as np

    from bench_common import newest_rows

    rows = newest_rows(log_path)
    by = defaultdict(list)
    for (d, m, _), r in rows.items():
        by[d, m].append(r)
    order = {m: i for i, m in enumerate(MODELS)}
    out = ["| dataset | model | seeds | latent | torn edges | folded edges | Betti of the codes, by seed; data's | RTD | bi-Lip "
           "(scale-free) | trustworthiness | continuity | train s |", "|---" * 12 + "|"]
    for d in DATASETS:
        for m in sorted((m for (dd, m) in by if dd == d), key=lambda m: order.get(m, 99)):
            rs = sorted(by[d, m], key=lambda r: r["seed"])
            mean = lambda k: float(np.mean([r[k] for r in rs]))  # noqa: E731
            betti = " ".join(f"({b[0]},{b[1]})" for b in (r["betti_codes"] for r in rs)) + ";"
            out.append(f"| {d} | {m} | {len(rs)} | {rs[0]['latent_dim']} | {mean('torn_edges'):.0f} | "
                       f"{mean('folded_edges'):.0f} | {betti} ({rs[0]['betti_data'][0]},{rs[0]['betti_data'][1]}) | "
                       f"{mean('rtd'):.3f} | {mean('bilip_scale_free'):.2f} | {mean('trustworthiness'):.3f} | "
                       f"{mean('continuity'):.3f} | {mean('train_s'):.0f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from bench_common import append_log

    done = set()
    if os.path.exists(a.log):  # a rerun resumes: runs already in the log are kept
        done = {(r["dataset"], r["model"], r["seed"]) for r in map(json.loads, open(a.log))}
    jobs = [(d, m, s) for d in a.datasets.split(",") for m in a.models.split(",") for s in seeds_for(m, a.seeds)
            if (d, m, s) not in done]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        futs = {pool.submit(measure, *j): j for j in jobs}
        for i, f in enumerate(as_completed(futs), 1):
            try:
                row = f.result()
            except Exception as e:  # noqa: BLE001 (a method that cannot run on a dataset: said, not fatal)
                print(f"[{i}/{len(jobs)}] {' '.join(map(str, futs[f]))}: {type(e).__name__}: {e}", flush=True)
                continue
            append_log(a.log, row)
            print(f"[{i}/{len(jobs)}] {row['dataset']} {row['model']} s{row['seed']}: torn {row['torn_edges']}, "
                  f"Betti codes {row['betti_codes']} (data {row['betti_data']}), RTD {row['rtd']:.3f}, "
                  f"{row['train_s']} s", flush=True)
    print(f"{len(jobs)} runs in {time.perf_counter() - t0:.0f} s")
    print(table(a.log))


if __name__ == "__main__":
    main()

"""Sample quality on images (issue 36, item 4): the two-stage VAE's claim, measured without downloads.

    python benchmarks/image_fd.py --datasets mnist,frey_faces --seeds 0,1 --log docs/image_fd_log.jsonl [--workers 2]

The two-stage VAE paper (Dai & Wipf 2019, Table 1) reports FID on MNIST: the two-stage VAE 13.4 ± 1.3 against a
VAE with a fixed decoder variance 51.2 ± 0.8 and WGAN-GP 20.3 ± 5.0. Here each model trains on the dataset's
training split at its studio defaults (fully connected networks; CPU-sized: MNIST 4,000 points of the shipped
10,000, Frey faces all 1,965, 20% held out) and is judged by :func:`vdae_core.study.image_fd.image_fd`: the Fréchet
distance between its samples and the held-out images in the features of a network the studio trains on the
training split (a digit classifier on MNIST; an autoencoder on Frey, which has no labels), beside the floor of
training images against the same held-out images. Not an Inception FID: values compare within a dataset only.
The β-VAE is the paper's "VAE (fixed γ)" (its decoder variance is fixed). One JSON row per run; ``table(log)``
renders docs/RESULTS.md's table.
"""
import argparse
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_common import mean_sd  # noqa: E402

MODELS = ["two_stage_vae", "beta_vae", "wgan_gp"]
N_POINTS = {"mnist": 4000, "frey_faces": 1965}
#: The two-stage VAE paper's Table 1, MNIST (FID, mean ± sd): the paper's label for each of our models.
PAPER = {("mnist", "two_stage_vae"): ("2-Stage VAE", 13.4, 1.3), ("mnist", "beta_vae"): ("VAE (fixed γ)", 51.2, 0.8),
         ("mnist", "wgan_gp"): ("WGAN-GP", 20.3, 5.0)}


def measure(dataset: str, model: str, seed: int) -> dict:
    from vdae_core.api import DataConfig, train_run
    from vdae_core.foundation.runtime import set_threads
    from vdae_core.study.image_fd import image_fd

    from bench_common import machine_fields

    set_threads(1)
    t0 = time.perf_counter()
    run = train_run(model, DataConfig(dataset=dataset, n=N_POINTS.get(dataset, 2000), seed=seed), {"device": "cpu"},
                    seed=seed, device="cpu")
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    fd = image_fd(run, reps=3, seed=seed)
    return {"dataset": dataset, "model": model, "seed": seed, "n_train": int(run.dataset.n), **fd,
            "train_s": round(train_s, 1), "fd_s": round(time.perf_counter() - t1, 1), **machine_fields()}


def grouped(log_path: str) -> dict:
    """{(dataset, model): [newest row per seed]}."""
    by = defaultdict(dict)
    for line in open(log_path):
        r = json.loads(line)
        by[r["dataset"], r["model"]][r["seed"]] = r
    return {k: list(v.values()) for k, v in by.items()}


def table(log_path: str) -> str:
    g = grouped(log_path)
    out = ["| dataset | model | FD to held-out images, mean ± sd over seeds | floor (training images the features never saw) | ÷ floor | "
           "features (quality on held-out) | paper: FID on MNIST | seeds | n a side |",
           "|---|---|---|---|---|---|---|---|---|"]
    for (ds, model), rows in sorted(g.items(), key=lambda kv: (kv[0][0], mean_sd([r["fd"] for r in kv[1]])[0])):
        fd, floor = mean_sd([r["fd"] for r in rows]), mean_sd([r["floor_mean"] for r in rows])
        q = rows[0]["feature_quality"]
        quality = (f"classifier, accuracy {q['held_out_accuracy']:.2f}" if "held_out_accuracy" in q
                   else f"autoencoder, MSE {q['held_out_mse']:.4f}")
        paper = PAPER.get((ds, model))
        p = f"{paper[0]}: {paper[1]} ± {paper[2]}" if paper else "—"
        out.append(f"| {ds} | {model} | {fd[0]:.2f} ± {fd[1]:.2f} | {floor[0]:.2f} | {fd[0] / floor[0]:.0f}× | {quality} | "
                   f"{p} | {', '.join(str(r['seed']) for r in sorted(rows, key=lambda r: r['seed']))} | {rows[0]['n']} |")
    return "\n".join(out)


def mean_fd(log_path: str, dataset: str) -> dict:
    """{model: mean FD over seeds} on ``dataset``."""
    return {m: mean_sd([r["fd"] for r in rows])[0] for (d, m), rows in grouped(log_path).items() if d == dataset}


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="mnist,frey_faces")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    jobs = [(d, m, int(s)) for d in a.datasets.split(",") for m in a.models.split(",") for s in a.seeds.split(",")]
    jobs.sort(key=lambda j: j[1] != "wgan_gp")  # the longest first: the workers finish together
    with ProcessPoolExecutor(a.workers) as ex:
        for f in as_completed([ex.submit(measure, *j) for j in jobs]):
            row = f.result()
            append_log(a.log, row)
            print(row["dataset"], row["model"], row["seed"], f"FD {row['fd']:.2f} (floor {row['floor_mean']:.2f})",
                  f"train {row['train_s']} s", flush=True)
    print(table(a.log))


if __name__ == "__main__":
    main()

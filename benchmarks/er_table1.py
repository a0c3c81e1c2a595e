"""The ER paper's Table 1 (issue 36, item 3): ELBO of each decoder structure on its toy task.

    python benchmarks/er_table1.py --seeds 0,1,2 --log docs/er_table1_log.jsonl [--workers 2]

The toy task is the built-in ``circle_r100`` (a circle pushed into R^100 by a fixed random ReLU network, the
paper's §4 construction). Each row of the paper's table is trained on 5,000 points per seed and measured on 1,000
fresh points of the law it never saw (:func:`vdae_core.study.likelihood.held_out_likelihood`): the ELBO (the
paper's number), and the importance-sampled log-likelihood with L = 100 (Burda et al. 2016) beside it. Every model
gets the same encoder and decoder, one hidden layer of 500 ReLU units (the paper gives no sizes), β = 1 (an
ELBO), and the studio's default training (Adam, 2,000 steps of 256, the ER-VAE's embedding 1,000 steps first).

The paper's decoder structures, as built here:

- *VAE, dim Z = 1* and *VAE, dim Z = 2*: the β-VAE with a Gaussian latent of that dimension;
- *manifold-latent VAE with learned f, dim Z_hid = 1*: the ER-VAE on S¹ with a one-dimensional pre-image
  (``pre_dim = 1``), its embedding learned (by MMD here, by a WAE-MMD there);
- *with f = f_proj, dim Z_hid = 1*: the ER-VAE with the fixed map 2πΦ(u) onto S¹ (``embedding = exact``), the
  paper's f_proj(z) = (cos 2πz, sin 2πz) read on a Gaussian latent instead of its uniform one;
- *learned f and group action encoder*: not built (the ER-VAE has no group-action encoder), so no number;
- and one row the paper does not have: the studio's default ER-VAE (k = 2, ``pre_dim = 0``).

The paper's posteriors are Beta on [0, 1]^n with a uniform prior, ours Gaussian on R^k with a standard normal
prior; its decoder variance is not stated, and the ELBO's value depends on it, so its numbers and ours compare by
their order, not their values. One JSON row per run; ``table(log)`` renders docs/RESULTS.md's table.
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

NETWORK = {"hidden": 500, "depth": 1, "activation": "relu", "beta": 1.0}
#: (row label, model, settings, the paper's ELBO mean and sd; None: a row not in the paper)
ROWS = [
    ("VAE, dim Z = 1", "beta_vae", {"latent_dim": 1}, (183.98, 11.66)),
    ("Manifold-latent VAE with learned f, dim Z_hid = 1", "er_vae",
     {"latent_manifold": "sphere", "latent_manifold_dim": 1, "pre_dim": 1}, (197.19, 20.46)),
    ("Manifold-latent VAE with f = f_proj, dim Z_hid = 1", "er_vae",
     {"latent_manifold": "sphere", "latent_manifold_dim": 1, "pre_dim": 1, "embedding": "exact"}, (193.40, 24.57)),
    ("Manifold-latent VAE with learned f and group action encoder, dim Z_hid = 1", None, None, (259.03, 59.14)),
    ("VAE, dim Z = 2", "beta_vae", {"latent_dim": 2}, (356.53, 22.96)),
    ("(studio) ER-VAE on S¹ with k = 2, learned f", "er_vae",
     {"latent_manifold": "sphere", "latent_manifold_dim": 1, "pre_dim": 0}, None),
]
N_TRAIN, N_TEST, SAMPLES = 5000, 1000, 100


def measure(label: str, model: str, settings: dict, seed: int, recon_var: float = 0.01) -> dict:
    from vdae_core.api import DataConfig, train_run
    from vdae_core.foundation.runtime import set_threads
    from vdae_core.study.likelihood import held_out_likelihood

    from bench_common import machine_fields

    set_threads(1)
    t0 = time.perf_counter()
    run = train_run(model, DataConfig(dataset="circle_r100", n=N_TRAIN, seed=seed),
                    {**NETWORK, **settings, "recon_var": recon_var}, seed=seed, device="cpu")
    train_s = time.perf_counter() - t0
    ll = held_out_likelihood(run, samples=SAMPLES, n=N_TEST, seed=seed)
    return {"row": label, "model": model, "settings": settings, "seed": seed, "n_train": N_TRAIN, "n_test": N_TEST,
            "samples": SAMPLES, "held_out": ll["held_out"], "training": ll["training"], "train_s": round(train_s, 1),
            "recon_var": run.model.config.recon_var, **machine_fields()}


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    by = defaultdict(dict)
    for r in rows:  # the newest row per (row, decoder variance, seed)
        by[r["row"], r["recon_var"]][r["seed"]] = r
    out = ["| decoder structure (the paper's row) | paper: ELBO | decoder variance σ² (standardised) | here: held-out "
           "ELBO | here: held-out log-likelihood, L = 100 | here: training ELBO | seeds | training, s |",
           "|---|---|---|---|---|---|---|---|"]
    variances = sorted({r["recon_var"] for r in rows}, reverse=True)
    for var in variances:
        for label, model, _, paper in ROWS:
            p = f"{paper[0]:.2f} ± {paper[1]:.2f}" if paper else "— (not in the paper)"
            got = list(by.get((label, var), {}).values())
            if model is None or not got:
                why = "not built: the ER-VAE has no group-action encoder" if model is None else "not run"
                out.append(f"| {label} | {p} | {var:g} | {why} | — | — | — | — |")
                continue
            e, ll, tr = (mean_sd([r[s][k] for r in got]) for s, k in
                         (("held_out", "elbo"), ("held_out", "log_likelihood"), ("training", "elbo")))
            secs = mean_sd([r["train_s"] for r in got])[0]
            out.append(f"| {label} | {p} | {var:g} | {e[0]:.1f} ± {e[1]:.1f} | {ll[0]:.1f} ± {ll[1]:.1f} | {tr[0]:.1f} ± {tr[1]:.1f} | "
                       f"{', '.join(str(r['seed']) for r in sorted(got, key=lambda r: r['seed']))} | {secs:.0f} |")
    return "\n".join(out)


def mean_elbo(log_path: str, recon_var: float) -> dict:
    """{row label: mean held-out ELBO over its seeds} at decoder variance ``recon_var``."""
    rows = [json.loads(line) for line in open(log_path)]
    by = defaultdict(dict)
    for r in rows:
        if r["recon_var"] == recon_var:
            by[r["row"]][r["seed"]] = r["held_out"]["elbo"]
    return {k: sum(v.values()) / len(v) for k, v in by.items()}


def summary(log_path: str) -> str:
    """The section's findings, generated from the log: the rows in order of held-out ELBO at each decoder variance,
    against the paper's order (docs/RESULTS.md, checked by tests/test_docs_tables.py)."""
    rows = [json.loads(line) for line in open(log_path)]
    paper = sorted((r for r in ROWS if r[3] is not None), key=lambda r: r[3][0])
    out = ["* The paper, lowest ELBO first: " + " < ".join(f"{label} ({p[0]:.0f})" for label, _, _, p in paper) + "."]
    for var in sorted({r["recon_var"] for r in rows}, reverse=True):
        m = mean_elbo(log_path, var)
        got = sorted(m, key=m.get)
        spread = max(m.values()) - min(m.values())
        out.append(f"* Here at σ² = {var:g}, lowest held-out ELBO first: "
                   + " < ".join(f"{k} ({m[k]:.1f})" for k in got) + f" (spread {spread:.1f} nats).")
    return "\n".join(out)


def main() -> None:
    from bench_common import append_log

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--recon-var", type=float, default=0.01, help="the decoder variance σ² of every row")
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    jobs = [(label, model, settings, int(s), a.recon_var) for label, model, settings, _ in ROWS if model is not None
            for s in a.seeds.split(",")]
    with ProcessPoolExecutor(a.workers) as ex:
        futs = [ex.submit(measure, *j) for j in jobs]
        for f in as_completed(futs):
            row = f.result()
            append_log(a.log, row)
            print(row["row"], row["seed"], f"ELBO {row['held_out']['elbo']:.1f}",
                  f"LL {row['held_out']['log_likelihood']:.1f}", f"{row['train_s']} s", flush=True)
    print(table(a.log))


if __name__ == "__main__":
    main()

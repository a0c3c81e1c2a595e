"""Timing benchmark of vdae_core.metrics and vdae_core.study.embeddings.

Run from the repository root:

    python benchmarks/bench_metrics.py

Prints the machine description and a Markdown table to paste into docs/BENCHMARKS.md: wall-clock
seconds per call (median of the repeats, min in brackets) and the process CPU seconds (all
threads; on an otherwise idle machine, wall ~ CPU / threads used, so CPU time is the figure to
compare when the machine is shared).
"""
from __future__ import annotations

import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from vdae_core.study.embeddings import joint_embedding  # noqa: E402
from vdae_core.metrics import bilipschitz, gromov_wasserstein, mmd  # noqa: E402


class Times(list):
    """Wall-clock seconds of each repeat, with the process CPU seconds in ``cpu``."""

    cpu: list


def timed(fn, repeats):
    times, out = Times(), None
    times.cpu = []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        times.cpu.append(time.process_time() - c0)
    return out, times


def fmt(times):
    wall = f"{times[0]:.3f}" if len(times) == 1 else f"{np.median(times):.3f} (min {min(times):.3f})"
    return f"{wall} | {np.median(times.cpu):.3f}"


def naive_bilipschitz(z, x, k):
    """Per-point Python loop: the obvious reference implementation."""
    out = np.empty(len(z))
    for i in range(len(z)):
        dz = np.linalg.norm(z - z[i], axis=1)
        dz[i] = np.inf
        nn = np.argpartition(dz, k)[:k]
        r = np.linalg.norm(x[nn] - x[i], axis=1) / dz[nn]
        out[i] = np.max(np.maximum(r, 1.0 / r))
    return out


def torus(n, rng, noise=0.05):
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    pts = np.c_[(2 + 0.7 * np.cos(v)) * np.cos(u), (2 + 0.7 * np.cos(v)) * np.sin(u), 0.7 * np.sin(v)]
    return pts + noise * rng.standard_normal(pts.shape), np.c_[u, v]


def swiss_roll(n, rng):
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    return np.c_[t * np.cos(t), 20 * rng.uniform(size=n), t * np.sin(t)] / 5.0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    import ot
    import sklearn
    import umap

    rng = np.random.default_rng(0)
    print("## Machine\n")
    print(f"- CPU: {cpu_model()}, `nproc` = {os.cpu_count()}, torch threads = {torch.get_num_threads()}")
    print(f"- load average at start (1/5/15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"- Python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"POT {ot.__version__}, umap-learn {umap.__version__}, torch {torch.__version__}\n")

    rows = []

    # bi-Lipschitz: a 2-D latent decoded onto a torus-like surface in R^3.
    n = 10_000
    z = rng.uniform(0, 2 * np.pi, (n, 2))
    x = np.c_[(2 + 0.7 * np.cos(z[:, 1])) * np.cos(z[:, 0]), (2 + 0.7 * np.cos(z[:, 1])) * np.sin(z[:, 0]),
              0.7 * np.sin(z[:, 1])]
    bilipschitz(z[:500], x[:500])  # warm-up (imports)
    v, t = timed(lambda: bilipschitz(z, x, k=10), 5)
    rows.append(("bi-Lipschitz (vectorised)", "10,000 pts, D=2 -> m=3, k=10", fmt(t), "<= 1 s",
                 f"median K = {np.median(v):.3f}"))
    z8 = rng.normal(size=(n, 8))
    x8 = np.tanh(z8 @ rng.normal(size=(8, 20)))
    _, t = timed(lambda: bilipschitz(z8, x8, k=10), 3)
    rows.append(("bi-Lipschitz (vectorised)", "10,000 pts, D=8 -> m=20, k=10", fmt(t), "<= 1 s", ""))
    m = 2000
    v_fast, t_fast = timed(lambda: bilipschitz(z[:m], x[:m], k=10), 5)
    v_naive, t_naive = timed(lambda: naive_bilipschitz(z[:m], x[:m], 10), 1)
    maxdiff = float(np.max(np.abs(v_fast - v_naive)))
    rows.append(("bi-Lipschitz (vectorised)", "2,000 pts, k=10", fmt(t_fast), "", ""))
    rows.append(("bi-Lipschitz (naive per-point loop)", "2,000 pts, k=10", fmt(t_naive), "",
                 f"max abs diff vs vectorised = {maxdiff:.1e}; {np.median(t_naive) / np.median(t_fast):.0f}x slower"))

    # Gromov-Wasserstein: "generated vs real" (two samples of one noisy torus) and two different
    # shapes, through POT's gromov_wasserstein2.
    for size in (500, 1000):
        a, _ = torus(size, rng)
        pairs = {"torus vs torus": torus(size, rng)[0], "torus vs swiss roll": swiss_roll(size, rng)}
        for label, b in pairs.items():
            res, t = timed(lambda: gromov_wasserstein(a, b, max_points=size), 3 if size == 500 else 2)
            target = "<= 5 s" if size == 1000 else ""
            rows.append(("Gromov-Wasserstein (POT gromov_wasserstein2)", f"{size} vs {size}, {label}", fmt(t),
                         target, f"GW = {res['value']:.4e}"))

    # MMD
    a, _ = torus(2000, rng)
    b, _ = torus(2000, rng)
    res, t = timed(lambda: mmd(a, b), 3)
    rows.append(("MMD (median heuristic)", "2,000 vs 2,000, m=3", fmt(t), "",
                 f"MMD^2 = {res['mmd2']:.2e}, h = {res['bandwidth']:.3f}"))

    # Embeddings of 1000 real + 1000 generated points.
    real, _ = torus(1000, rng)
    gen, _ = torus(1000, rng, noise=0.15)
    _, t = timed(lambda: joint_embedding(real, gen, "tsne", seed=0), 1)
    rows.append(("t-SNE (joint), default threads", "1,000 + 1,000, m=3", fmt(t), "",
                 f"sklearn Barnes-Hut, PCA init, {os.cpu_count()} OpenMP threads"))
    _, t = timed(lambda: joint_embedding(real, gen, "tsne", seed=0, n_threads=1), 1)
    rows.append(("t-SNE (joint), n_threads=1", "1,000 + 1,000, m=3", fmt(t), "", ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, t_cold = timed(lambda: joint_embedding(real, gen, "umap", seed=0), 1)
        _, t_warm = timed(lambda: joint_embedding(real, gen, "umap", seed=0), 2)
    rows.append(("UMAP (joint), first call", "1,000 + 1,000, m=3", fmt(t_cold), "",
                 "includes umap import and numba JIT"))
    rows.append(("UMAP (joint), warm", "1,000 + 1,000, m=3", fmt(t_warm), "", "seeded: single-threaded"))

    print("## Results\n")
    print("| Task | Size | Wall (s) | CPU (s) | Target | Notes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nload average at end (1/5/15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()

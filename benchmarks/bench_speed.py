"""Training and walk timings with default settings on an otherwise idle machine (issue 2 speed bars).

Run: python benchmarks/bench_speed.py   (prints a Markdown table; check `uptime` is low first)
"""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vdae_core.api import DataConfig, random_walk, train_run  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)
print(f"load average before: {os.getloadavg()[0]:.2f}; torch threads {torch.get_num_threads()}")
print("| dataset | n | D | train s | spectral s | variational s | walk 1000x20 s (median of 5) |")
print("|---|---|---|---|---|---|---|")
for name, n in [("circle", 2000), ("sphere", 3000), ("torus", 3000), ("blobs9", 2250)]:
    t = time.perf_counter()
    run = train_run("vdae", DataConfig(dataset=name, n=n, seed=0), {}, seed=0, device="cpu")
    tt = time.perf_counter() - t
    w = []
    for r in range(5):
        t = time.perf_counter()
        random_walk(run.model, run.dataset.X, 1000, 20, start=0, seed=r)
        w.append(time.perf_counter() - t)
    ph = run.history.phase_seconds
    print(f"| {name} | {n} | {run.model.latent_dim} | {tt:.1f} | {ph['spectral']:.1f} | {ph['variational']:.1f} | "
          f"{np.median(w):.3f} |", flush=True)
print(f"load average after: {os.getloadavg()[0]:.2f}")

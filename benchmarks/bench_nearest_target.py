"""The VDAE's x′ search (Eq. 5): k-d tree against the float32 scan, per step of 256 walk moves.

    OMP_NUM_THREADS=1 python benchmarks/bench_nearest_target.py [--out docs/bench_nearest_target_log.jsonl]

For each data set, a short VDAE training gives the codes ψ(X) and the covariance net; then 10 batches of
256 moved codes z′ = z + L_φ ε are searched by both methods (the tree in float64, exact; the scan as the
trainer ran it before, float32 addmm) and by an exact float64 scan: time per batch, and how often each
agrees with the exact answer. One thread (torch and BLAS), as the trainer on a busy machine.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vdae_core.data import DataConfig  # noqa: E402
from vdae_core.geometry.nearest_target import NearestTarget  # noqa: E402
from vdae_core.pipeline.train import start  # noqa: E402

SETS = [("circle", 2000), ("sphere", 3000), ("torus", 3000), ("circle", 20000), ("circle", 100000)]


def exact(q: np.ndarray, Z: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = np.empty(len(q), dtype=np.int64)
    for i in range(len(q)):
        d2 = ((Z - q[i]) ** 2).sum(1)
        d2[idx[i]] = np.inf
        out[i] = d2.argmin()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for ds, n in SETS:
        tr = start("vdae", DataConfig(dataset=ds, n=n), {"device": "cpu", "spectral_steps": 50, "vae_steps": 20}, 0,
                   "cpu")
        tr.run()
        m = tr.model
        Z = m._stats["Z"]
        t = time.perf_counter()
        tree = NearestTarget(Z, use_tree=True)
        build = time.perf_counter() - t
        scan = NearestTarget(Z, use_tree=False)
        g = torch.Generator().manual_seed(1)
        tt = ts = 0.0
        agree_tree = agree_scan = 0.0
        Zd = Z.numpy().astype(np.float64)
        for _ in range(10):
            idx = torch.randint(len(Z), (256,), generator=g)
            z = Z[idx]
            with torch.no_grad():
                zn = z + (m.cov_factor(z) @ torch.randn(z.shape, generator=g).unsqueeze(-1)).squeeze(-1)
            t = time.perf_counter(); a1 = tree(zn, idx); tt += time.perf_counter() - t
            t = time.perf_counter(); a2 = scan(zn, idx); ts += time.perf_counter() - t
            ex = exact(zn.numpy().astype(np.float64), Zd, idx.numpy())
            agree_tree += (a1.numpy() == ex).mean() / 10
            agree_scan += (a2.numpy() == ex).mean() / 10
        row = {"dataset": ds, "n": n, "latent_dim": int(Z.shape[1]), "tree_build_ms": round(build * 1e3, 1),
               "tree_ms_per_256": round(tt * 100, 2), "scan_ms_per_256": round(ts * 100, 2),
               "tree_exact_share": round(agree_tree, 4), "scan_exact_share": round(agree_scan, 4),
               "default_uses_tree": NearestTarget(Z).tree is not None,
               "machine": f"{os.cpu_count()} cores, torch {torch.__version__}, 1 thread",
               "date": time.strftime("%Y-%m-%d")}
        print(json.dumps(row), flush=True)
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

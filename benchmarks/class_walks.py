"""Issue 13: cluster-conditional sampling (the VDAE paper's MNIST experiment) — do walkers keep their class?

    python benchmarks/class_walks.py [--runs digits:1797:2,digits:1797:0.3,mnist:2000:0.3,mnist:2000:0.15]
                                     [--log docs/class_walks_log.jsonl]

Each run (DATASET:n:step_size) trains the default VDAE with that walk step (seed 0, CPU, the threads torch
chooses), starts 10 walkers on training images of each class, walks 10 steps, and labels every sample with a
5-nearest-neighbour classifier fitted on all the real images (:func:`vdae_core.metrics.walk_class_retention`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from vdae_core.data import DataConfig, make_dataset  # noqa: E402
from vdae_core.metrics.class_retention import walk_class_retention  # noqa: E402
from vdae_core.pipeline.train import finish, start  # noqa: E402
from vdae_core.pipeline.sampling import class_conditional_walks  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="digits:1797:2,digits:1797:0.3,mnist:2000:0.3,mnist:2000:0.15")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    for spec in a.runs.split(","):
        name, n, step = spec.split(":")
        t = time.perf_counter()
        tr = start("vdae", DataConfig(dataset=name, n=int(n)), {"device": "cpu", "step_size": float(step)}, 0, "cpu")
        tr.run()
        run = finish(tr)
        secs = time.perf_counter() - t
        full = make_dataset(DataConfig(dataset=name, n=int(n)))
        walk, labels = class_conditional_walks(run.model, run.dataset.X, run.dataset.labels, 10, 10, seed=0)
        out = walk_class_retention(walk, labels, full.X, full.labels)
        row = {"dataset": name, "n": int(n), "n_train": run.dataset.n, "step_size": float(step), "seed": 0,
               "train_s": round(secs, 1), "per_step": np.round(out["per_step"], 3).tolist(),
               "chance": round(out["chance"], 3), "per_class_after_10": out["per_class"],
               "date": time.strftime("%Y-%m-%d")}
        print(json.dumps(row), flush=True)
        if a.log:
            with open(a.log, "a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Issue 11: the WGAN-GP's training length chosen by a validation sweep per dataset, as the β-VAE's β.

    python benchmarks/sweep_wgan_steps.py [--datasets circle,torus,bunny] [--budgets 500,1000,2000,3000,6000,10000]
                                          [--log docs/sweep_wgan_log.jsonl] [--write vdae_core/models/tuned/wgan_gp.json]

The papers give no step count for their WGAN-GP (Gulrajani et al.'s Algorithm 1 sets λ, n_critic and Adam,
not the length; the VDAE paper gives sizes only). For each dataset one run at the paper's settings is
trained on data and initialisation seed 100 (n = 2000) up to the largest budget and scored at every budget
on the way, with the evaluation protocol against a *validation* reference (evaluation seed 101), so the
choice is not fitted to the comparison's seeds 0, 1, .... The generator and critic learning rates are
constant (Algorithm 1) and training draws only from the trainer's own generator, so the checkpoint at B
steps is the run of B steps. Criterion: as the β sweep's, the fidelity and diversity deficit
(1 − precision) + (1 − coverage) (Naeem et al.); the smallest budget within 0.01 of the best wins (about
1.5 sampling sds of coverage at 1,000 points; a shorter run is the cheaper and the less tuned).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vdae_core.data import DataConfig  # noqa: E402
from vdae_core.study.evaluation import evaluate_run  # noqa: E402
from vdae_core.pipeline.train import finish, start  # noqa: E402

from sweep_beta import VALIDATION_SEED, choose_per_dataset, deficit, write_choice  # noqa: E402  (the β sweep's)


def choose(rows):
    """Per dataset (and overrides): the smallest budget whose deficit is within 0.01 of the best."""
    return choose_per_dataset(rows, "steps", min, "{} generator steps")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="circle,torus,bunny")
    ap.add_argument("--budgets", default="500,1000,2000,3000,6000,10000")
    ap.add_argument("--log", default=None, help="append each row as a JSON line to this file")
    ap.add_argument("--write", default=None, help="write the choice per dataset (JSON) here")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="WGAN-GP config override, repeatable (e.g. gp_weight=0.1, the authors' toy-task λ)")
    a = ap.parse_args()
    from vdae_core.cli import parse_overrides

    extra = parse_overrides(a.set)
    budgets = sorted(int(b) for b in a.budgets.split(","))
    rows = []
    for d in a.datasets.split(","):
        trainer = start("wgan_gp", DataConfig(dataset=d, n=2000, seed=VALIDATION_SEED),
                        {**extra, "steps": budgets[-1], "device": "cpu"}, VALIDATION_SEED, "cpu", None, None)
        done, t0 = 0, time.perf_counter()
        for b in budgets:
            trainer.advance(max_steps=b - done)
            done = b
            train_s = time.perf_counter() - t0
            run = finish(trainer, train_s)
            t = time.perf_counter()
            m = evaluate_run(run, n_samples=1000, reps=5, seed=VALIDATION_SEED + 1, with_gw=False)["metrics"]
            rows.append({"dataset": d, "steps": b, "overrides": extra, "precision": m["precision"]["value"],
                         "coverage": m["coverage"]["value"], "mmd2_h": m["mmd2_h"]["value"],
                         "mmd2_h_floor": m["mmd2_h"]["floor_mean"], "mmd2_h5": m["mmd2_h5"]["value"],
                         "mmd2_h5_floor": m["mmd2_h5"]["floor_mean"], "memorisation": m["memorisation"]["value"],
                         "train_s": round(train_s, 1), "eval_s": round(time.perf_counter() - t, 1)})
            rows[-1]["deficit"] = deficit(rows[-1])
            print(json.dumps(rows[-1]), flush=True)
            if a.log:
                with open(a.log, "a") as fh:
                    fh.write(json.dumps(rows[-1]) + "\n")
            t0 += time.perf_counter() - t  # evaluation time is not training time
    choice = choose(rows)
    print(json.dumps(choice, indent=1))
    write_choice(choice, a.write)


if __name__ == "__main__":
    main()

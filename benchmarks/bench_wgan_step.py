"""Issue 11: the WGAN-GP's cost per generator step (with its n_critic = 5 critic steps), by implementation.

    OMP_NUM_THREADS=1 python benchmarks/bench_wgan_step.py [--steps 200] [--rounds 3] [--busy] [--log docs/bench_wgan_step_log.jsonl]

Variants, each timed in a fresh process (as a run in a sweep's worker), alternating over rounds so that a
machine that slows down for a while slows all of them, on the circle (n = 2,000) at the default sizes (one hidden layer of 500, batch 256):

* ``double-backward``: the gradient penalty by ``torch.autograd.grad(create_graph=True)`` (the first
  implementation);
* ``explicit``: the penalty's input gradient as an explicit expression (networks.value_and_input_gradient),
  one first-order backward (the default since 2026-11-28).

Tried and not kept (2026-11-28, same script then): the layers' weight gradients in the layout this CPU's
BLAS is 5–8× faster in ((xᵀG)ᵀ instead of Gᵀx for a 3 → 500 layer, a custom autograd function): 31.2 ms
against 30.8 ms per generator step; the Python function's overhead eats the saving.

Each variant trains the same initial model from the same seed; its losses after the last step are printed
too, so that a variant that changed the numbers beyond float rounding shows it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vdae_core.api import DataConfig, make_dataset  # noqa: E402
from vdae_core.models import networks, wgan_gp  # noqa: E402
from vdae_core.training.phases import TrainData  # noqa: E402
from vdae_core.pipeline.build import build_model  # noqa: E402

from bench_common import append_log, cpu_model, start_busy, stop_busy  # noqa: E402


def time_variant(name: str, steps: int) -> dict:
    """Train ``steps`` generator steps of the named variant (after 10 warm-up steps) in this process."""
    ds = make_dataset(DataConfig(dataset="circle", n=2000, seed=0))
    model = build_model("wgan_gp", {"device": "cpu"}, ds, seed=0)
    explicit = networks.value_and_input_gradient
    wgan_gp.value_and_input_gradient = {"double-backward": lambda net, x: None, "explicit": explicit}[name]
    data = TrainData(torch.as_tensor(ds.X), ds.X, torch.device("cpu"), torch.Generator().manual_seed(0))
    phase = wgan_gp.WGANPhase(steps + 10)
    phase.start(model, data)
    for i in range(10):
        phase.step(model, data, i)
    t0 = time.perf_counter()
    for i in range(steps):
        last = phase.step(model, data, i)
    return {"ms": (time.perf_counter() - t0) / steps * 1e3, "last_losses": {k: round(v, 5) for k, v in last.items()}}


VARIANTS = ("double-backward", "explicit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--busy", action="store_true", help="another process spins on one core meanwhile")
    ap.add_argument("--log", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: time one variant here
    a = ap.parse_args()
    if a.one:
        print(json.dumps(time_variant(a.one, a.steps)))
        return
    names = a.variants.split(",")
    times = {n: [] for n in names}
    last = {}
    spinner = start_busy() if a.busy else None
    try:
        for _ in range(a.rounds):
            for name in names:  # fresh process each, alternating
                out = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(a.steps)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                times[name].append(round(r["ms"], 2))
                last[name] = r["last_losses"]
    finally:
        stop_busy(spinner)
    for name in names:
        row = {"bench": "wgan_step", "variant": name, "ms_per_generator_step": round(float(np.median(times[name])), 2),
               "runs_ms": times[name], "steps": a.steps, "busy": a.busy, "threads": torch.get_num_threads(),
               "last_losses": last[name], "cpu": cpu_model(), "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%d")}
        print(row)
        append_log(a.log, row)


if __name__ == "__main__":
    main()

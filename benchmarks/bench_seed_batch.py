"""Seeds in one pass (issue 35), against the one-by-one path in the same run.

    python benchmarks/bench_seed_batch.py --log docs/bench_seed_batch_log.jsonl [--seeds 5] [--steps-scale 0.25]

Two measurements, both of WGAN-GP (the model that stacks its seeds today; 74% of the Table 1 grid's time):

* **The step** (one torch thread): milliseconds per generator step (with its ``n_critic`` critic steps) on the torus
  (2,000 points, the compare grid's settings): one seed alone (``WGANPhase.step``); K seeds stacked
  (``WGANPhase.stack``, :class:`vdae_core.models.stacked.StackedMLP`); and K seeds through ``torch.func``
  (``stack_module_state`` + ``functional_call`` under ``vmap``), the library route this module did not take.
* **The command**: ``compare_rows`` (what ``python -m vdae_core compare`` and ``stability`` run; ``stability`` itself
  needs an encoder, which WGAN-GP has not) of WGAN-GP on the circle with K seeds, on as many worker processes as
  cores, from an empty cache, with the seeds stacked (``--batch-seeds``) and one by one (the default); and one seed
  alone. Wall seconds each (training and evaluation), training lengths × ``--steps-scale``.

One JSON row to the log; ``table(log)`` renders them.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _trainings(k: int, dataset: str = "torus"):
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.train import start
    from vdae_core.study.compare import comparison_overrides

    over = {**comparison_overrides("wgan_gp", dataset, 1.0), "device": "cpu"}
    return [start("wgan_gp", DataConfig(dataset=dataset, n=2000, seed=s), over, seed=s) for s in range(k)]


def _per_step(step, steps: int) -> float:
    for i in range(3):  # warm-up: allocator, first-call dispatch
        step(i)
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    return (time.perf_counter() - t) / steps


def _vmap_step(trainers):
    """K seeds' WGAN-GP step through torch.func (stacked state, functional_call, vmap), same draws as the stack."""
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    from vdae_core.models.networks import value_and_input_gradient
    from vdae_core.training.phases import adam

    models = [t.trainer.model for t in trainers]
    c = models[0].config
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    class Critic(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, u, e):
            with torch.no_grad():
                fake = self.m.generator(u)
            xs = self.m.x_scale(x)
            _, grad = value_and_input_gradient(self.m.critic, (e * xs + (1 - e) * fake).detach())
            w = self.m.critic(xs).mean() - self.m.critic(fake).mean()
            return -w + c.gp_weight * (grad.norm(dim=1) - 1).pow(2).mean()

    class Gen(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, u):
            return -self.m.critic(self.m.generator(u)).mean()

    crit, gen = Critic(base), Gen(base)
    state = {**{"m." + k: v for k, v in params.items()}, **{"m." + k: v for k, v in buffers.items()}}
    names = list(state)
    critic_loss = vmap(lambda *a: functional_call(crit, dict(zip(names, a[:len(names)])), a[len(names):]))
    gen_loss = vmap(lambda *a: functional_call(gen, dict(zip(names, a[:len(names)])), a[len(names):]))
    opt_d = adam([params[k] for k in params if k.startswith("critic.")], c.lr, betas=(c.beta1, 0.9))
    opt_g = adam([params[k] for k in params if k.startswith("generator.")], c.lr, betas=(c.beta1, 0.9))
    datas = [t.trainer.data for t in trainers]

    def step(i):
        for _ in range(c.n_critic):
            xs, us, es = [], [], []
            for m, d in zip(models, datas):
                xs.append(d.X[d.batch_indices(c.batch_size)])
                us.append(m.noise(len(xs[-1]), d.generator))
                es.append(torch.rand((len(xs[-1]), 1), generator=d.generator))
            loss = critic_loss(*state.values(), torch.stack(xs), torch.stack(us), torch.stack(es))
            opt_d.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt_d.step()
        u = torch.stack([m.noise(c.batch_size, d.generator) for m, d in zip(models, datas)])
        g = gen_loss(*state.values(), u)
        opt_g.zero_grad(set_to_none=True)
        g.sum().backward()
        opt_g.step()
    return step


def step_times(k: int, steps: int) -> dict:
    import torch

    torch.set_num_threads(1)
    one = _trainings(1)[0]
    tr = one.trainer
    tr.begin_phase()
    ph = tr.phases[0]
    alone = _per_step(lambda i: ph.step(tr.model, tr.data, i), steps)
    group = _trainings(k)
    for t in group:
        t.trainer.begin_phase()
    stacked = group[0].trainer.phases[0].stack([t.trainer for t in group])
    stacked_s = _per_step(stacked.step, steps)
    vmapped = _per_step(_vmap_step(_trainings(k)), steps)
    return {"step_alone_ms": 1e3 * alone, "step_stacked_ms": 1e3 * stacked_s, "step_vmap_ms": 1e3 * vmapped}


def command_times(k: int, scale: float, workers: int) -> dict:
    from vdae_core.study.compare import compare_rows

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench_seeds_") as tmp:
        t = time.perf_counter()
        compare_rows(["circle"], ["wgan_gp"], 1, steps_scale=scale, cache=os.path.join(tmp, "one"), workers=workers)
        out["one_seed_s"] = time.perf_counter() - t
        for name, batch in (("stacked_s", True), ("one_by_one_s", False)):
            t = time.perf_counter()
            compare_rows(["circle"], ["wgan_gp"], k, steps_scale=scale, cache=os.path.join(tmp, name),
                         workers=workers, batch_seeds=batch)
            out[name] = time.perf_counter() - t
    return out


def table(log_path: str) -> str:
    rows = [json.loads(line) for line in open(log_path)]
    out = ["| date | seeds K | step: one seed / K stacked / K by vmap, ms (K one by one: K × one) | "
           "compare, K seeds (steps × scale, workers): one seed / K stacked / K one by one, s | "
           "K stacked ÷ one seed |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['date']} | {r['seeds']} | {r['step_alone_ms']:.1f} / {r['step_stacked_ms']:.1f} / "
                   f"{r['step_vmap_ms']:.1f} ({r['seeds'] * r['step_alone_ms']:.1f}) | ×{r['steps_scale']:g}, "
                   f"{r['workers']}: {r['one_seed_s']:.0f} / {r['stacked_s']:.0f} / {r['one_by_one_s']:.0f} | "
                   f"{r['stacked_s'] / r['one_seed_s']:.2f}× |")
    return "\n".join(out)


def main() -> None:
    from bench_common import append_log, machine_fields

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40, help="generator steps timed per variant")
    ap.add_argument("--steps-scale", type=float, default=0.25, help="training lengths of the command's runs")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    row = {"bench": "seed_batch", "seeds": a.seeds, "steps_scale": a.steps_scale, "workers": a.workers,
           **step_times(a.seeds, a.steps)}
    print(json.dumps(row), flush=True)
    row.update(command_times(a.seeds, a.steps_scale, a.workers))
    row.update(machine_fields())
    append_log(a.log, row)
    print(json.dumps(row))
    print(table(a.log))


if __name__ == "__main__":
    main()

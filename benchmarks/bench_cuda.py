"""Train every registered model once on CUDA (default settings) and once on the CPU, on the same machine.

    python benchmarks/bench_cuda.py [--datasets circle,torus:3000,bunny] [--n 2000] [--cpu-models vdae,svae]
        [--preset live] [--out cuda.json]

For each model: wall time of the whole training (build, phases, finish), the devices its parameters were on
during training (a check that it really ran on CUDA, not silently on the CPU; ``finish`` moves the model
back to the CPU afterwards), the peak CUDA memory, and a
quality figure that must not depend on the device: the Fisher–Lee circular correlation |ρ| between the
true angle of the circle and the angle of the code (as in ``bench_latent_models.py``). CUDA's first
call pays for context creation and kernel loading, so one tiny warm-up training runs first and is not
counted. ``--cpu-models`` repeats the named models on the CPU of the same machine for the comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vdae_core.api import MODELS, DataConfig  # noqa: E402
from vdae_core.metrics.circular import circular_correlation  # noqa: E402
from vdae_core.pipeline.train import finish, start  # noqa: E402
from vdae_core.pipeline.presets import compose  # noqa: E402

#: Latent choices that give every model a one-dimensional circle code to compare with the true angle.
CIRCLE_LATENT = {"svae": {"latent_manifold_dim": 1}, "delta_vae": {"latent_manifold": "sphere", "latent_manifold_dim": 1},
                 "er_vae": {"latent_manifold": "sphere", "latent_manifold_dim": 1}, "beta_vae": {"latent_dim": 2}}


def code_angle(model, Z):
    space = model.latent_space
    if space.is_compact:
        C = model.latent_coords(Z)
        return C[:, [i for i, p in enumerate(space.coord_periodic) if p][0]]
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.mean(0)
    return np.arctan2(Z[:, 1], Z[:, 0])


def one(name, dataset, n, device, seed=0, quick=False, preset=None):
    cls = MODELS.get(name)
    over = {**(cls.config_class.quick_preset() if quick else {}),
            **(compose(name, preset) if preset else {}),
            **(CIRCLE_LATENT.get(name, {}) if dataset == "circle" else {}), "device": device}
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    seen = set()  # devices of the parameters while training (finish() moves the model back to the CPU)

    def record(progress):
        seen.update(str(p.device) for p in tr.model.parameters())

    t = time.perf_counter()
    tr = start(name, DataConfig(dataset=dataset, n=n, seed=seed), over, seed=seed, callbacks=[record])
    tr.run()
    run = finish(tr)
    if device == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t
    row = {"model": name, "device": device, "quick": quick, "preset": preset or "default", "dataset": dataset, "n": n,
           "train_s": round(secs, 2), "phase_s": {k: round(v, 3) for k, v in run.history.phase_seconds.items()},
           "stop_reasons": getattr(run.history, "stop_reasons", {}),
           "trained_on": run.info["device"], "param_devices_in_training": sorted(seen)}
    if device == "cuda":
        row["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if dataset == "circle" and run.model.has_encoder:
        ang = code_angle(run.model, run.model.encode(run.dataset.X))
        row["circ_corr"] = float(abs(circular_correlation(run.dataset.params[:, 0], ang)))
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="circle")
    ap.add_argument("--datasets", default=None, help="comma list of DATASET or DATASET:N (overrides --dataset/--n)")
    ap.add_argument("--preset", action="append", default=[], help="also train with this named preset (e.g. live)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--models", default=",".join(MODELS.names()))
    ap.add_argument("--cpu-models", default="")
    ap.add_argument("--quick", action="store_true", help="quick presets (a smoke run that every model runs on CUDA)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_cuda.py: no CUDA device visible to torch")
    out = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
           "started": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": []}
    print(json.dumps({k: out[k] for k in ("gpu", "torch", "cpu_threads")}), flush=True)
    warm = start("beta_vae", DataConfig(dataset=a.dataset, n=200, seed=0), {"device": "auto", "steps": 5}, seed=0)
    warm.run()
    if "vdae" in a.models.split(","):  # the VDAE's own first calls (cuSOLVER, the sparse eigensolver) as well
        start("vdae", DataConfig(dataset=a.dataset, n=300, seed=0), {"device": "auto", "spectral_fit_steps": 2,
                                                                      "decoder_fit_steps": 1, "vae_steps": 2}, seed=0).run()
    out["auto_picks"] = str(warm.device)  # the default device setting must choose the GPU
    print(json.dumps({"auto_picks": out["auto_picks"]}), flush=True)
    sets = [(d.partition(":")[0], int(d.partition(":")[2] or a.n)) for d in (a.datasets or a.dataset).split(",")]
    devices = [(name, "cuda") for name in a.models.split(",")] + [(name, "cpu") for name in a.cpu_models.split(",") if name]
    jobs = [(name, device, ds, n, preset) for ds, n in sets for preset in [None] + a.preset for name, device in devices]
    for name, device, ds, n, preset in jobs:
        try:
            out["rows"].append(one(name, ds, n, device, quick=a.quick, preset=preset))
        except Exception as exc:  # report and go on: one broken model must not hide the others' figures
            import traceback
            traceback.print_exc()
            out["rows"].append({"model": name, "device": device, "dataset": ds, "preset": preset,
                                "error": f"{type(exc).__name__}: {exc}"})
            print(json.dumps(out["rows"][-1]), flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()

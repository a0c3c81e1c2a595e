"""Image models and the VDAE's mesh/manifold runs on CUDA, timed, with their quality figures (issues 13, 16).

    python benchmarks/bench_cuda_images.py --out cuda_images.jsonl [--only NAME,...]

Each job trains one model with its defaults (``network="auto"`` picks the convolutional networks for images
on a GPU) and records the wall time of the whole training (data, build, phases), the time of each phase,
where its parameters were while training, peak CUDA memory, and a quality figure that must not depend on
the device: the loop score |ρ| (:func:`vdae_core.metrics.angle_recovery`) where the data have an angle.
Jobs named ``*_cpu`` repeat a job on the same machine's CPU. One untimed warm-up training runs first (CUDA
context and kernels). Rows are appended to ``--out`` as they finish, so a run cut short keeps its rows.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vdae_core.data import DataConfig  # noqa: E402
from vdae_core.metrics.angle_recovery import angle_recovery  # noqa: E402
from vdae_core.pipeline.train import finish, start  # noqa: E402

#: name -> (model, dataset, n, overrides, device)
JOBS = {
    "mnist10k_conv64": ("vdae", "mnist", 10000, {"network": "conv", "conv_channels": 64}, "cuda"),
    "mnist10k_mlp": ("vdae", "mnist", 10000, {"network": "mlp"}, "cuda"),
    "aloi": ("vdae", "aloi", 72, {}, "cuda"),
    "turntable": ("vdae", "turntable", 360, {}, "cuda"),
    "turntable_rgb": ("vdae", "turntable_rgb", 360, {}, "cuda"),
    "turntable_rgb_beta": ("beta_vae", "turntable_rgb", 360, {"latent_dim": 2}, "cuda"),
    "circle": ("vdae", "circle", 2000, {}, "cuda"),
    "circle_cpu": ("vdae", "circle", 2000, {}, "cpu"),
    "torus": ("vdae", "torus", 3000, {}, "cuda"),
    "torus_cpu": ("vdae", "torus", 3000, {}, "cpu"),
    "bunny": ("vdae", "bunny", 3485, {}, "cuda"),
    "bunny_cpu": ("vdae", "bunny", 3485, {}, "cpu"),
}


def one(job: str) -> dict:
    model, dataset, n, over, device = JOBS[job]
    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    seen = set()

    def record(progress):
        seen.update(str(p.device) for p in tr.model.parameters())

    t = time.perf_counter()
    tr = start(model, DataConfig(dataset=dataset, n=n, seed=0), {**over, "device": device}, seed=0,
               callbacks=[record])
    tr.run()
    run = finish(tr)
    if cuda:
        torch.cuda.synchronize()
    row = {"job": job, "model": model, "dataset": dataset, "n_train": run.dataset.n, "device": device,
           "network": getattr(run.model.config, "network", None), "wall_s": round(time.perf_counter() - t, 2),
           "phase_s": {k: round(v, 2) for k, v in run.history.phase_seconds.items()},
           "param_devices_in_training": sorted(seen), "cpu_threads": torch.get_num_threads()}
    if cuda:
        row["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    ds = run.dataset
    if any(ds.periodic) and run.model.has_encoder:
        rec = angle_recovery(run.model.latent_space, run.model.encode(ds.X), ds.params, ds.param_names, ds.periodic)
        row["loop_score"] = round(float(rec["min"]), 4)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default=",".join(JOBS))
    a = ap.parse_args()
    head = {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(json.dumps(head), flush=True)
    if not head["cuda"]:
        sys.exit("bench_cuda_images.py: no CUDA device visible to torch")
    start("beta_vae", DataConfig(dataset="circle", n=200), {"device": "cuda", "steps": 5}).run()  # warm-up
    for job in a.only.split(","):
        try:
            row = {**one(job), **{k: head[k] for k in ("gpu", "torch", "date")}}
        except Exception as exc:  # report and go on: one failure must not hide the other rows
            import traceback
            traceback.print_exc()
            row = {"job": job, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Issue 13: the convolutional VDAE on MNIST 10k on this CPU, timed per step and extrapolated to its schedule.

    python benchmarks/bench_conv_mnist.py

Trains the default VDAE (MLP), and with the paper's convolutional networks at 64 and 16 channels, on MNIST
10k (8,000 training images after the held-out split), 2 threads: 3 timed steps of each phase after a
warm-up step, and the estimate steps × time for the default schedule (400 spectral, 2,500 variational
steps). A full convolutional run would take hours here; on a GPU see benchmarks/bench_cuda.py.
"""
import json
import os
import sys
import time

import torch

torch.set_num_threads(2)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vdae_core.data import DataConfig
from vdae_core.pipeline.train import start
out = {}
for net, ch in [("mlp", 64), ("conv", 64), ("conv", 16)]:
    tr = start("vdae", DataConfig(dataset="mnist", n=10000), {"device": "cpu", "network": net, "conv_channels": ch}, 0, "cpu")
    tr.advance(1)  # phase start + first step (warm-up)
    t = time.perf_counter(); tr.advance(3); sp = (time.perf_counter() - t) / 3
    # jump to the variational phase: finish the spectral phase quickly by shortening it
    ph = tr.phases[0]; ph.steps = tr._step + 0
    tr.advance(2)  # ends spectral (finalise), latent stats, first variational step
    t = time.perf_counter(); tr.advance(3); vp = (time.perf_counter() - t) / 3
    cfg = tr.model.config
    est = sp * cfg.spectral_steps + vp * cfg.vae_steps
    out[f"{net}{ch if net == 'conv' else ''}"] = {"spectral_step_s": round(sp, 3), "variational_step_s": round(vp, 3),
                                                 "estimated_total_min": round(est / 60, 1), "n_train": tr.data.n}
    print(net, ch, out[f"{net}{ch if net == 'conv' else ''}"], flush=True)
print(json.dumps(out))

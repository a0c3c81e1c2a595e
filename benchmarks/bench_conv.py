"""Issue 13: what a convolutional network costs per training step against an MLP, on this machine.

    python benchmarks/bench_conv.py [--threads 2] [--batch 72] [--shape 1,36,48] [--channels 16,32,64]

One forward and backward pass of the encoder (image -> 2 codes) and of the decoder (2 codes -> image) on a
batch of the ALOI size (36×48, the whole 72-image set), for the VDAE paper's convolutional networks
(Appendix A.4.1) at each width and for the studio's default MLP (3 hidden layers of 256). Median of 20
passes after 3 warm-up passes. This is why ``network=auto`` picks the MLP on a CPU (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vdae_core.models.networks import ConvDecoder, ConvEncoder, mlp  # noqa: E402


def timed(fn, reps: int = 20) -> float:
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=72)
    ap.add_argument("--shape", default="1,36,48")
    ap.add_argument("--channels", default="16,32,64")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    shape = tuple(int(v) for v in a.shape.split(","))
    m = int(np.prod(shape))
    x, z = torch.rand(a.batch, m), torch.randn(a.batch, 2)
    rows = []
    nets = [("mlp", 0, mlp(m, (256,) * 3, 2), mlp(2, (256,) * 3, m))]
    nets += [("conv", c, ConvEncoder(shape, 2, c, 256, "relu"), ConvDecoder(2, shape, c, 256, "relu"))
             for c in (int(v) for v in a.channels.split(","))]
    for kind, c, enc, dec in nets:
        rows.append({"network": kind, "channels": c, "encoder_ms": round(1e3 * timed(lambda: enc(x).sum().backward()), 2),
                     "decoder_ms": round(1e3 * timed(lambda: dec(z).sum().backward()), 2)})
        print(json.dumps({**rows[-1], "batch": a.batch, "shape": shape, "threads": a.threads,
                          "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__}),
              flush=True)


if __name__ == "__main__":
    main()

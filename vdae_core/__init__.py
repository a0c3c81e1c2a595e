"""VDAE Studio's library: data, geometry, models, training, sampling, metrics and figures.

Nothing in this package imports streamlit except :mod:`vdae_core.ui`.
"""
# OpenMP wait policy, the same in library, CLI and app: passive threads (they sleep when idle instead of
# spinning). The README's `train --dataset circle --model vdae` on the project's 2-core CPU
# (benchmarks/bench_threads.py, docs/BENCHMARKS.md): libgomp's default 53 s idle but 182 s with another process
# busy on one core; PASSIVE 61 s idle and 75 s busy (a short spin, GOMP_SPINCOUNT=10000: 52 s / 227 s; one
# thread: 59 s / 177 s). PASSIVE is never far from the fastest and never the 2.4x slowdown. It must be set
# before torch loads OpenMP: importing vdae_core first does it; a user's own OMP_WAIT_POLICY wins.
import os as _os

_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

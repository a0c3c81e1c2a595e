"""VDAE Studio's library: data, geometry, models, training, sampling, metrics and figures.

Nothing in this package imports streamlit except :mod:`vdae_core.ui`.
"""
# OpenMP wait policy: the library and the CLI keep libgomp's default (threads spin briefly, then sleep),
# the fastest on a free machine: circle training 23 s, against 39 s with OMP_WAIT_POLICY=PASSIVE on the
# project's 2-core CPU. The app (app.py) and the test suite (tests/conftest.py) set PASSIVE before torch
# loads, because they share the machine with a browser: with one core busy, the default policy took 97 s
# and PASSIVE 40 s. docs/BENCHMARKS.md has the measurements.

__version__ = "0.1.0"

"""VDAE Studio's library: data, geometry, models, training, sampling, metrics and figures.

Nothing in this package imports streamlit except :mod:`vdae_core.ui`.
"""
import os as _os

# OpenMP threads that spin while waiting make torch 10x slower on a busy 2-core machine (measured:
# a small torus training took 50 s instead of 3.8 s with a browser running beside it). Passive waiting
# costs nothing when the machine is idle. A value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

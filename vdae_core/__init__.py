"""VDAE Studio's library: data, geometry, models, training, sampling, metrics and figures.

Nothing in this package imports streamlit except :mod:`vdae_core.ui`.
"""
__version__ = "0.1.0"

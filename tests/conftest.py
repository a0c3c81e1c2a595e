import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Before torch loads: the suite runs beside a browser and a Streamlit server (the e2e test), where spinning
# OpenMP threads slow training several-fold (vdae_core/__init__.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

torch.set_num_threads(2)
# The app's trainings use VDAE_TRAIN_THREADS torch threads (in worker processes; with VDAE_TRAIN_IN_PROCESS=1 torch's
# process-wide count): keep the suite's 2, so an app training gives the library's numbers and changes no other test's.
os.environ.setdefault("VDAE_TRAIN_THREADS", "2")


@pytest.fixture(autouse=True)
def _fresh_training_queue():
    """Each test starts with an empty training queue of the default size (a job a test leaves behind keeps its own)."""
    from vdae_core.pipeline import jobs

    jobs.reset_queue()
    yield


@pytest.fixture
def tiny_vdae():
    """Config overrides for a VDAE that trains in about a second."""
    return dict(spectral_fit_steps=40, spectral_steps=30, decoder_fit_steps=20, vae_steps=40, hidden=32, depth=2,
                spectral_batch=256, batch_size=128)


@pytest.fixture
def rotate_into():
    """``f(X, m, seed=7)``: the points X (n, d) padded with zeros to m columns and turned by a random orthogonal
    m x m matrix — the same shape in another embedding, as a user's file might hold it."""
    import numpy as np

    def f(X, m: int, seed: int = 7):
        Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(m, m)))
        return np.hstack([X, np.zeros((len(X), m - X.shape[1]))]) @ Q

    return f


@pytest.fixture
def studio_env(tmp_path, monkeypatch):
    """An empty runs root for the app (``VDAE_RUNS_DIR``) and short Quick trainings (``VDAE_DEMO_STEPS_SCALE``)."""
    monkeypatch.setenv("VDAE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VDAE_DEMO_STEPS_SCALE", "0.05")
    return tmp_path

"""The Fréchet distance against closed forms, and the image FD's floor and feature network (issue 36, item 4)."""
import numpy as np
import pytest
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.frechet import frechet_distance, gaussian_frechet


def test_closed_forms():
    # one dimension: (μ₁ − μ₂)² + (σ₁ − σ₂)²
    assert gaussian_frechet([1.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(4.0 + 1.0)
    # commuting (diagonal) covariances: ‖μ₁ − μ₂‖² + Σ (√a_i − √b_i)², singular ones included
    a, b = np.array([4.0, 0.0, 9.0]), np.array([1.0, 0.0, 16.0])
    assert gaussian_frechet(np.zeros(3), np.diag(a), np.ones(3), np.diag(b)) == pytest.approx(3 + 1 + 0 + 1)
    # a rotation of both: the distance is invariant
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    assert gaussian_frechet(np.zeros(3), Q @ np.diag(a) @ Q.T, Q @ np.ones(3), Q @ np.diag(b) @ Q.T) == pytest.approx(5.0)
    # non-commuting: against the definition with scipy's general square root
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    S1, S2 = A @ A.T, B @ B.T
    want = np.trace(S1 + S2 - 2 * sqrtm(S1 @ S2).real)
    assert gaussian_frechet(np.zeros(4), S1, np.zeros(4), S2) == pytest.approx(want, rel=1e-8)


def test_samples_of_one_law_are_near_zero_and_a_shift_is_seen():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(20000, 5)), rng.normal(size=(20000, 5))
    assert frechet_distance(X, Y) < 0.01  # the finite-n bias, about d²/n here
    assert frechet_distance(X, Y + 0.5) == pytest.approx(5 * 0.25, abs=0.02)
    with pytest.raises(UserInputError):
        frechet_distance(X[:, :3], Y)
    with pytest.raises(UserInputError):
        frechet_distance(np.full((3, 5), np.nan), Y)


def test_image_fd_tells_real_images_from_noise_and_reports_its_features(monkeypatch):
    """On digits, a 'model' that returns held-out-like training images scores inside the floor's range and one
    that returns uniform noise scores far above it; the classifier behind the features is reported with its
    held-out accuracy (a short training: 300 steps)."""
    import vdae_core.study.image_fd as fd
    from vdae_core.api import DataConfig, make_dataset
    from vdae_core.data.split import split_heldout

    monkeypatch.setattr(fd, "STEPS", 300)
    full = make_dataset(DataConfig(dataset="digits", n=1797, seed=0))
    train, held = split_heldout(full, DataConfig(dataset="digits", n=1797, seed=0))

    class Fake:
        has_sampler = True

        def __init__(self, make):
            self.make = make

        def sample(self, n, g):
            return self.make(n, g)

    class Run:
        dataset, heldout = train, held

    real = Run()
    real.model = Fake(lambda n, g: train.X[torch.randperm(train.n, generator=g)[:n].numpy()])
    noise = Run()
    noise.model = Fake(lambda n, g: torch.rand(n, train.X.shape[1], generator=g).numpy())
    a, b = fd.image_fd(real, reps=3), fd.image_fd(noise, reps=3)
    assert a["feature_quality"]["held_out_accuracy"] > 0.8 and "classifier" in a["features"] and "not an Inception FID" in a["features"]
    assert a["fd"] < a["floor_mean"] + 5 * max(a["floor_sd"], 1e-9) + 1e-9
    assert b["fd"] > 10 * b["floor_mean"]
    assert a["floor_mean"] == b["floor_mean"]  # one feature network and one floor for one split


def test_the_fd_command_writes_its_floor_and_refuses_points(tmp_path, monkeypatch, capsys):
    import json

    import vdae_core.study.image_fd as fd
    from vdae_core.cli import main

    monkeypatch.setattr(fd, "STEPS", 100)
    for ds in ("digits", "circle"):
        assert main(["train", "--model", "beta_vae", "--dataset", ds, "--n", "500", "--set", "steps=20",
                     "--out", str(tmp_path / ds)]) == 0
    assert main(["fd", "--run", str(tmp_path / "digits"), "--reps", "2", "--out", str(tmp_path / "fd.json")]) == 0
    rep = json.load(open(tmp_path / "fd.json"))
    assert rep["fd"] > 0 and rep["floor_mean"] > 0 and rep["reps"] == 2 and "held_out_accuracy" in rep["feature_quality"]
    assert "not an Inception FID" in capsys.readouterr().out
    assert main(["fd", "--run", str(tmp_path / "circle"), "--out", str(tmp_path / "c.json")]) == 2
    assert "needs images" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()

"""Issue 14, part 3: tears and folds of an encoder on the data's and the latent's kNN graphs."""
import numpy as np
import pytest

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.tears import FACTOR, knn_edges, tears_and_folds


def _circle(n=600, seed=0):
    t = np.random.default_rng(seed).uniform(-np.pi, np.pi, n)
    return t, np.c_[np.cos(t), np.sin(t), 0.3 * np.sin(t)]


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_a_homeomorphic_code_has_no_tear_and_no_fold_at_any_scale(scale):
    t, X = _circle()
    r = tears_and_folds(X, scale * np.c_[np.cos(t), np.sin(t)])
    assert len(r.torn) == 0 and len(r.folded) == 0
    assert r.stretch.max() < 5 and r.shrink.max() < 5  # well below the factor (10): kNN edges vary in length


def test_cutting_the_circle_tears_exactly_the_edges_across_the_cut():
    t, X = _circle()
    r = tears_and_folds(X, t[:, None])  # the angle as a line: the circle cut at ±π
    across = np.abs(t[r.data_edges[:, 0]] - t[r.data_edges[:, 1]]) > np.pi
    assert across.sum() >= 3
    np.testing.assert_array_equal(r.stretch > FACTOR, across)
    assert len(r.folded) == 0
    # every torn point sits next to the cut
    pts = np.unique(r.torn)
    assert (np.pi - np.abs(t[pts]) < 0.2).all()
    assert r.summary()["points_at_a_tear"] == len(pts)


def test_projecting_the_circle_on_a_diameter_folds_it():
    t, X = _circle()
    r = tears_and_folds(X, np.cos(t)[:, None])  # θ and −θ land on the same code
    assert len(r.torn) == 0
    i, j = r.folded[:, 0], r.folded[:, 1]
    assert len(r.folded) > 100
    # folded pairs are mirror images: same cos θ, opposite sides of the circle
    assert np.median(np.abs(t[i] + t[j])) < 0.1 and (np.sign(t[i]) != np.sign(t[j])).mean() > 0.9


def test_knn_edges_are_undirected_unique_and_cover_every_point():
    P = np.random.default_rng(1).random((50, 2))
    e = knn_edges(P, 4)
    assert (e[:, 0] < e[:, 1]).all() and len(np.unique(e, axis=0)) == len(e)
    assert set(e.ravel()) == set(range(50)) and 50 * 4 / 2 <= len(e) <= 50 * 4


def test_bad_input_is_refused():
    with pytest.raises(UserInputError, match="codes"):
        tears_and_folds(np.zeros((20, 3)), np.zeros((19, 2)))
    with pytest.raises(UserInputError, match="NaN"):
        tears_and_folds(np.full((20, 3), np.nan), np.zeros((20, 2)))
    with pytest.raises(UserInputError, match="more than"):
        tears_and_folds(np.zeros((5, 3)), np.zeros((5, 2)))


def test_audit_cli_writes_counts_and_per_point_arrays_and_refuses_a_model_without_codes(tmp_path, capsys):
    import json

    from vdae_core.api import load_run
    from vdae_core.cli import main

    run = str(tmp_path / "line")
    assert main(["train", "--dataset", "circle", "--n", "500", "--model", "beta_vae", "--set", "latent_dim=1",
                 "--steps-scale", "0.2", "--quiet", "--out", run]) == 0
    out = tmp_path / "audit.json"
    assert main(["audit", "--run", run, "--out", str(out)]) == 0
    rep = json.loads(out.read_text())["tears_folds"]
    with np.load(tmp_path / "audit_per_point.npz") as z:
        assert z["tears"].shape == (500,) and z["tears"].sum() == 2 * rep["torn_edges"]
        torn = z["torn_edges"]
    # The torn edges (training-point indices) join data neighbours whose 1-D codes lie more than 10 typical edges apart.
    r = load_run(run)
    codes = r.model.encode(r.dataset.X)[:, 0]
    edges = knn_edges(r.dataset.X.astype(np.float64), 10)
    typical = np.median(np.abs(codes[edges[:, 0]] - codes[edges[:, 1]]))
    assert rep["torn_edges"] == len(torn) > 0
    assert np.abs(codes[torn[:, 0]] - codes[torn[:, 1]]).min() > 10 * typical
    assert "tears:" in capsys.readouterr().out
    # RTD of the same codes against the same points: the CLI's number is the metric's at the stated settings
    from vdae_core.metrics.rtd import BATCH, TRIALS, rtd
    from vdae_core.metrics.subsample import subsample_indices
    r_rtd = json.loads(out.read_text())["rtd"]
    Xr = r.dataset.X[subsample_indices(r.dataset.n, 2000, 0)].astype(np.float64)
    assert r_rtd["value"] == pytest.approx(rtd(Xr, r.model.encode(Xr).astype(np.float64), BATCH, TRIALS, 0))
    # The prior-hole map beside it: per prior code its code, density ratio and distance off the data; the distances
    # are those of the saved codes decoded again (the file is the measurement, not a summary of it).
    ph = json.loads(out.read_text())["prior_holes"]
    with np.load(tmp_path / "audit_per_point.npz") as z:
        Zp, off, lr = z["prior_codes"], z["decoded_spacings_off"], z["log10_density_ratio"]
    assert Zp.shape == (2000, 1) and off.shape == lr.shape == (2000,)
    assert ph["off_share"] == pytest.approx(np.mean(off > ph["t_spacings"]))
    from vdae_core.study.evaluation import ReferencePool
    from vdae_core.metrics.prior_holes import spacings_from
    R = ReferencePool(r.dataset, r.data_config, r.heldout, seed=0).reference(2000).X
    np.testing.assert_allclose(spacings_from(r.model.decode(Zp), R, ph["spacing"]), off, rtol=1e-5)
    wgan = str(tmp_path / "wgan")
    assert main(["train", "--dataset", "circle", "--n", "300", "--model", "wgan_gp", "--steps-scale", "0.01",
                 "--quiet", "--out", wgan]) == 0
    assert main(["audit", "--run", wgan, "--out", str(tmp_path / "w.json")]) == 2
    err = capsys.readouterr().err
    assert "nothing to audit" in err and "has no encoder" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_line_latent_tears_the_circle_and_the_vdae_does_not():
    """Thresholds: factor 10, k = 10, circle n = 2,000, seed 0, default schedules. A 1-D Gaussian latent must cut the
    loop: at least 20 torn edges and a data edge more than 50 typical edges long in the latent; the VDAE's and a 2-D
    β-VAE's codes keep it: no torn edge (a 2-D Gaussian latent can hold a circle as a ring, and the β-VAE does)."""
    from vdae_core.api import DataConfig, train_run

    def audit(model, over):
        run = train_run(model, DataConfig(dataset="circle", n=2000, seed=0), over, seed=0, device="cpu")
        return tears_and_folds(run.dataset.X, run.model.encode(run.dataset.X)).summary()

    line = audit("beta_vae", {"latent_dim": 1})
    assert line["torn_edges"] >= 20 and line["max_stretch"] > 50
    for model, over in (("vdae", {}), ("beta_vae", {"latent_dim": 2})):
        s = audit(model, over)
        assert s["torn_edges"] == 0, (model, s)

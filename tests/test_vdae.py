"""VDAE pieces (KL, local covariances, α), the trainer, run folders."""
import math

import numpy as np
import pytest
import torch

from vdae_core.api import (DataConfig, TrainingDiverged, Trainer, UserInputError, build_model, load_run,
                           make_dataset, random_walk, save_run, train_run)
from vdae_core.models.vdae import auto_alpha, gaussian_kl, local_covariances, tril_from_vector


def _random_spd(D, seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(D, D, generator=g, dtype=torch.float64)
    return A @ A.T + D * torch.eye(D, dtype=torch.float64)


def test_kl_of_identical_gaussians_is_zero():
    S = _random_spd(4, 0)
    L = torch.linalg.cholesky(S)[None]
    kl = gaussian_kl(L, L, torch.logdet(S)[None])
    assert abs(float(kl)) < 1e-10


def test_kl_matches_torch_distributions():
    D = 3
    Sq, Sp = _random_spd(D, 1), _random_spd(D, 2)
    Lq, Lp = torch.linalg.cholesky(Sq), torch.linalg.cholesky(Sp)
    ours = float(gaussian_kl(Lq[None], Lp[None], torch.logdet(Sp)[None]))
    from torch.distributions import MultivariateNormal, kl_divergence
    ref = float(kl_divergence(MultivariateNormal(torch.zeros(D, dtype=torch.float64), Sq),
                              MultivariateNormal(torch.zeros(D, dtype=torch.float64), Sp)))
    assert math.isclose(ours, ref, rel_tol=1e-9)
    assert ours > 0


def test_tril_factor_is_positive_definite():
    v = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    L = tril_from_vector(v, 3)
    assert torch.all(torch.triu(L, 1) == 0)
    assert torch.all(torch.diagonal(L, dim1=1, dim2=2) > 0)


def test_knn_covariances_are_centred_and_exact():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(60, 2))
    S = local_covariances(Z, 7, ridge=0.0, ball=False)
    from sklearn.neighbors import NearestNeighbors
    idx = NearestNeighbors(n_neighbors=8).fit(Z).kneighbors(Z)[1]
    for i in (0, 17, 59):
        np.testing.assert_allclose(S[i], np.cov(Z[idx[i]].T), rtol=1e-6, atol=1e-12)
    # Centred: translating the latent cloud changes nothing (the uncentred moment would change).
    np.testing.assert_allclose(local_covariances(Z + 100.0, 7, 0.0, ball=False), S, rtol=1e-6, atol=1e-8)
    # The ridge adds ridge * tr/D on the diagonal, making rank-deficient neighbourhoods PD.
    line = np.c_[np.linspace(0, 1, 50), np.zeros(50)]
    assert np.all(np.linalg.eigvalsh(local_covariances(line, 5, ridge=0.1)) > 0)


def test_ball_covariance_is_density_independent():
    # A line sampled 4x more densely on its left half: the ball covariance (paper's Σ*) has the same
    # spread on both halves, the kNN covariance is ~16x smaller where the samples are 4x denser.
    left = np.linspace(0, 1, 800, endpoint=False)
    right = np.linspace(1, 2, 200)
    Z = np.c_[np.r_[left, right], np.zeros(1000)]
    ball = local_covariances(Z, 16, 0.0)[:, 0, 0]
    knn = local_covariances(Z, 16, 0.0, ball=False)[:, 0, 0]
    mid_l, mid_r = slice(300, 500), slice(850, 950)
    assert 0.5 < np.median(ball[mid_l]) / np.median(ball[mid_r]) < 2.0
    assert np.median(knn[mid_r]) / np.median(knn[mid_l]) > 8.0
    # On the dense stretch the ball holds ~17 points; their variance is that of a uniform segment of
    # length 2δ: δ²/3.
    delta = np.sort(np.abs(Z[:, 0][:, None] - Z[:, 0][None]), 1)[:, 16]
    d = np.median(delta)
    assert abs(np.median(ball[mid_l]) - d ** 2 / 3) < 0.25 * d ** 2 / 3  # ~17 points: discreteness ~ +12%


def test_auto_alpha_closed_form():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 2)) * [2.0, 1.0]
    S = np.repeat((0.01 * np.eye(2))[None], 400, 0)  # tr = 0.02 everywhere
    a = auto_alpha(Z, S, step_size=0.5)
    assert math.isclose(a, 0.25 * np.trace(np.cov(Z.T)) / 0.02, rel_tol=1e-12)


def test_training_is_reproducible_on_cpu(tiny_vdae):
    dc = DataConfig(dataset="circle", n=300, seed=0)
    r1 = train_run("vdae", dc, tiny_vdae, seed=3, device="cpu")
    r2 = train_run("vdae", dc, tiny_vdae, seed=3, device="cpu")
    for (k, a), (_, b) in zip(r1.model.state_dict().items(), r2.model.state_dict().items()):
        assert torch.equal(a, b), k
    r3 = train_run("vdae", dc, tiny_vdae, seed=4, device="cpu")
    assert not torch.equal(r1.model.state_dict()["decoder.0.weight"], r3.model.state_dict()["decoder.0.weight"])


def test_trainer_phases_progress_and_stop(tiny_vdae):
    ds = make_dataset(DataConfig(dataset="circle", n=300))
    model = build_model("vdae", tiny_vdae, ds)
    seen = []
    tr = Trainer(model, ds.X, seed=0, device="cpu", callbacks=[seen.append], report_every=5)
    assert [p.name for p in tr.phases] == ["diffusion fit", "spectral", "latent statistics", "decoder fit",
                                           "variational"]
    tr.advance(max_steps=tiny_vdae["spectral_fit_steps"])
    p = tr.advance(max_steps=10)
    assert p.phase == "spectral" and p.step == 10 and 0 < p.fraction < 1
    tr.advance(max_steps=20 + tiny_vdae["decoder_fit_steps"] + 5)  # through the decoder's warm start
    assert tr.progress().phase == "variational"
    tr.request_stop()
    tr.advance(max_steps=5)
    assert tr.done and tr.history.stopped_early
    assert tr.history.stop_reasons["variational"].startswith("stopped by request at step")
    assert bool(model.psi.finalised)
    walk = model.random_walk(ds.X[:4], 3, torch.Generator().manual_seed(0))
    assert walk.shape == (4, 4, 3) and np.isfinite(walk).all()
    assert {s.phase for s in seen} >= {"spectral", "variational"}
    # Trained to the end, the last report shows the last phase complete.
    seen.clear()
    Trainer(build_model("vdae", tiny_vdae, ds), ds.X, seed=0, device="cpu", callbacks=[seen.append]).run()
    assert (seen[-1].phase, seen[-1].step, seen[-1].fraction) == ("variational", tiny_vdae["vae_steps"], 1.0)


def test_nan_loss_stops_and_keeps_last_good_weights(tiny_vdae, monkeypatch):
    ds = make_dataset(DataConfig(dataset="circle", n=300))
    model = build_model("vdae", tiny_vdae, ds)
    tr = Trainer(model, ds.X, seed=0, device="cpu", snapshot_every=10)
    tr.advance(max_steps=20)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    phase = tr.phases[0]
    orig = phase.step

    def poisoned(model_, data, i):
        out = orig(model_, data, i)  # takes a real step (weights change), then reports NaN
        return {**out, "loss": float("nan")}

    monkeypatch.setattr(phase, "step", poisoned)
    with pytest.raises(TrainingDiverged, match="NaN"):
        tr.advance(max_steps=5)
    for k, v in model.state_dict().items():
        assert torch.equal(v, good[k]), k
    assert "diverged" in tr.history.message


def test_save_load_round_trip(tmp_path, tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="sphere", n=300), tiny_vdae, seed=0, device="cpu")
    save_run(run, str(tmp_path / "r"))
    back = load_run(str(tmp_path / "r"))
    X = run.dataset.X[:50]
    np.testing.assert_array_equal(back.model.encode(X), run.model.encode(X))
    z = run.model.encode(X)
    np.testing.assert_array_equal(back.model.decode(z), run.model.decode(z))
    w1 = random_walk(run.model, run.dataset.X, 20, 5, start=7, seed=1)
    w2 = random_walk(back.model, back.dataset.X, 20, 5, start=7, seed=1)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(back.dataset.X, run.dataset.X)
    assert back.history.records.keys() == run.history.records.keys()
    assert back.model.config == run.model.config and back.dataset.mesh is not None


def test_round_trip_keeps_a_parameter_law_and_the_true_manifold(tmp_path, tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="torus", n=300), dict(tiny_vdae, latent_dim=3), seed=0, device="cpu")
    save_run(run, str(tmp_path / "t"))
    back = load_run(str(tmp_path / "t")).dataset
    assert back.param_laws == run.dataset.param_laws != {}
    assert back.manifold == run.dataset.manifold is not None


def test_projected_decoder_input_is_the_kernel_mean_of_the_anchors(tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="circle", n=300),
                    dict(tiny_vdae, proj_anchors=200, decoder_input="projected"), seed=0, device="cpu")
    model = run.model
    A = model.anchors.numpy().astype(np.float64)
    # Anchors are a subset of the training latents, of the configured size.
    assert A.shape == (200, 2)
    Z = model.encode(run.dataset.X).astype(np.float64)
    assert np.abs(Z[:, None, :] - A[None]).sum(-1).min(0).max() < 1e-5
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((40, 2)) * 2 * np.abs(A).max()).astype(np.float32)
    got = model.project_latent(torch.as_tensor(z)).numpy()
    # Independent computation in float64: Gaussian weights of width sqrt(proj_tau2) over all anchors.
    d2 = ((z[:, None, :].astype(np.float64) - A[None]) ** 2).sum(-1)
    w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * float(model.proj_tau2)))
    want = (w[:, :, None] * A[None]).sum(1) / w.sum(1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * np.abs(A).max())
    # τ is proj_width median nearest-neighbour distances of the anchors.
    nn = np.sort(np.sqrt(((A[:, None] - A[None]) ** 2).sum(-1)), 1)[:, 1]
    assert math.isclose(math.sqrt(float(model.proj_tau2)), model.config.proj_width * np.median(nn), rel_tol=1e-4)
    # The projection is differentiable, so the reconstruction loss still trains the covariance network.
    zt = torch.tensor(z[:3], requires_grad=True)
    model.project_latent(zt).sum().backward()
    assert torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_tangent_decoder_input_moves_latents_only_across_the_anchor_curve(tiny_vdae):
    """Anchors on the unit circle (rank 1 found): a point 10% off the curve comes back to it up to the
    kernel's sagitta τ²/2, a point on it stays, and angles are kept (no snapping towards anchors)."""
    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_input="tangent"), seed=0,
                    device="cpu")
    model = run.model
    a = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    model.anchors = torch.tensor(np.stack([np.cos(a), np.sin(a)], 1), dtype=torch.float32)
    model.anchor_sqnorm = model.anchors.pow(2).sum(1)
    tau = 4 * 2 * np.pi / 400                                  # proj_width 4 anchor spacings
    model.proj_tau2.fill_(tau ** 2)
    model.proj_rank.fill_(model._local_rank())
    assert int(model.proj_rank) == 1
    ang = np.linspace(0, 2 * np.pi, 50, endpoint=False) + 0.003
    ring = lambda r: (r * np.stack([np.cos(ang), np.sin(ang)], 1)).astype(np.float32)  # noqa: E731
    for r in (0.9, 1.0, 1.1):
        o = model.project_latent(torch.as_tensor(ring(r))).numpy().astype(np.float64)
        # The kernel mean lies τ²/2 inside the unit circle and the tangent line through it stays there.
        assert np.abs(np.linalg.norm(o, axis=1) - 1).max() < tau ** 2, r
        assert np.abs(np.angle(np.exp(1j * (np.arctan2(o[:, 1], o[:, 0]) - ang)))).max() < 1e-3, r
    # Differentiable through the kernel mean (the frame is held fixed), so the covariance network still learns.
    zt = torch.tensor(ring(1.05)[:3], requires_grad=True)
    model.project_latent(zt).sum().backward()
    assert torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_raw_decoder_input_is_the_latent_itself(tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_input="raw"), seed=0,
                    device="cpu")
    z = torch.randn(10, 2)
    assert torch.equal(run.model.project_latent(z), z)


def test_runs_saved_before_the_projected_decoder_input_still_load(tmp_path, tiny_vdae):
    import json

    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_input="raw"), seed=0,
                    device="cpu")
    save_run(run, str(tmp_path / "old"))
    # Rewrite the folder as an older version wrote it: no anchors, no projection settings.
    wpath, mpath = tmp_path / "old" / "weights.pt", tmp_path / "old" / "run.json"
    state = {k: v for k, v in torch.load(wpath).items() if k not in ("anchors", "anchor_sqnorm", "proj_tau2")}
    torch.save(state, wpath)
    meta = json.loads(mpath.read_text())
    for k in ("decoder_input", "proj_anchors", "proj_width"):
        del meta["model_config"][k]
    mpath.write_text(json.dumps(meta))
    back = load_run(str(tmp_path / "old"))
    assert back.model.config.decoder_input == "raw"
    z = run.model.encode(run.dataset.X[:20])
    np.testing.assert_array_equal(back.model.decode(z), run.model.decode(z))


def test_load_run_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        load_run(str(tmp_path / "nope"))
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "run.json").write_text("{}")
    with pytest.raises(UserInputError, match="missing"):
        load_run(str(tmp_path / "half"))


def test_walk_shapes_and_start(tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="circle", n=300), tiny_vdae, seed=0, device="cpu")
    w = random_walk(run.model, run.dataset.X, 10, 4, start=5, seed=0)
    assert w.shape == (5, 10, 3)
    np.testing.assert_array_equal(w[0], np.repeat(run.dataset.X[5:6], 10, 0))
    b = run.model.burst(run.dataset.X[5], 50, torch.Generator().manual_seed(0))
    assert b.shape == (50, 3) and np.unique(b, axis=0).shape[0] == 50
    with pytest.raises(UserInputError, match="out of range"):
        random_walk(run.model, run.dataset.X, 10, 4, start=300, seed=0)
    with pytest.raises(UserInputError, match="expected shape"):
        run.model.encode(np.zeros((3, 5)))


@pytest.mark.parametrize("overrides,fragment", [
    ({"latent_dim": 99}, "too large"),
    ({"knn": 150}, "needs more points"),
    ({"alpha": -1.0}, "below its minimum"),
    ({"latent_dim": 4, "cov_k": 3}, "at least D\\+1=5"),
    ({"activation": "sigmoidish"}, "not one of"),
    ({"no_such_option": 1}, "unknown VDAEConfig option"),
])
def test_bad_model_configs(overrides, fragment):
    ds = make_dataset(DataConfig(dataset="circle", n=100))
    with pytest.raises(UserInputError, match=fragment):
        build_model("vdae", overrides, ds)


def test_impossible_device(tiny_vdae):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserInputError, match="no CUDA GPU"):
        train_run("vdae", DataConfig(dataset="circle", n=300), tiny_vdae, device="cuda")


def test_walk_from_an_arbitrary_point(tiny_vdae):
    run = train_run("vdae", DataConfig(dataset="sphere", n=300), tiny_vdae, seed=0, device="cpu")
    p = np.array([0.0, 0.0, 1.0], np.float32)  # the north pole, not a training point
    w = random_walk(run.model, run.dataset.X, 8, 3, seed=2, start_point=p)
    assert w.shape == (4, 8, 3)
    np.testing.assert_array_equal(w[0], np.repeat(p[None], 8, 0))
    # Same generator stream as model.random_walk from those points.
    ref = run.model.random_walk(np.repeat(p[None], 8, 0), 3, torch.Generator().manual_seed(2))
    np.testing.assert_array_equal(w, ref)
    with pytest.raises(UserInputError, match="not both"):
        random_walk(run.model, run.dataset.X, 8, 3, start=0, start_point=p)


def test_kl_weight_scales_only_the_kl_term(tiny_vdae):
    """The paper preset's kl_weight = 2 (Eq. 6 without the ½): every reported loss = recon + 2·KL."""
    seen = []

    def record(p):
        if {"recon", "kl"} <= set(p.losses):
            seen.append(dict(p.losses))

    train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, kl_weight=2.0), seed=0, device="cpu",
              callbacks=[record])
    assert seen
    for t in seen:
        assert t["loss"] == pytest.approx(t["recon"] + 2.0 * t["kl"], rel=1e-5)
        assert t["kl"] > 0


def test_diffusion_time_scales_each_coordinate_by_its_eigenvalue_power(tiny_vdae):
    """ψ_t = (μ_i^t φ_i), μ_i = 1 − λ_i: the same spectral phase (same seed), codes scaled column-wise."""
    data = DataConfig(dataset="circle", n=300)
    base = train_run("vdae", data, dict(tiny_vdae, vae_steps=1), seed=0, device="cpu")
    timed = train_run("vdae", data, dict(tiny_vdae, vae_steps=1, diffusion_time=30.0), seed=0, device="cpu")
    lam = base.model.psi.eigenvalues.numpy().astype(np.float64)
    mu_t = np.clip(1 - lam, 0, 1) ** 30.0
    assert mu_t.max() < 1 and mu_t[0] > mu_t[-1]                       # slow coordinates shrink least
    z0, zt = base.model.encode(base.dataset.X), timed.model.encode(base.dataset.X)
    np.testing.assert_allclose(zt, z0 * mu_t[None, :].astype(np.float32), rtol=1e-4, atol=1e-6)


def test_decoder_width_follows_hidden_unless_decoder_hidden_is_set():
    def widths(net):
        return [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)][:-1]

    same = build_model("vdae", {"hidden": 48, "depth": 2}, data_shape=(3,), latent_dim=2)
    wide = build_model("vdae", {"hidden": 48, "depth": 2, "decoder_hidden": 96}, data_shape=(3,), latent_dim=2)
    assert widths(same.decoder) == [48, 48] and widths(wide.decoder) == [96, 96]
    assert widths(wide.psi) == widths(same.psi) == [48, 48]   # ψ keeps `hidden`
    # The live preset keeps 128-wide networks (its measured times, shown in the app, are for them).
    from vdae_core.models.vdae import VDAEConfig

    assert VDAEConfig.LIVE["hidden"] == 128 and VDAEConfig.LIVE["hidden"] < VDAEConfig().hidden


def test_sheet_projection_does_not_decode_into_the_gap_between_two_sheets(tmp_path, tiny_vdae):
    """Issue 29: anchors on two parallel lines 0.5 apart (two sheets of ψ(X), like the two sides of a torus's
    tube). A latent point 0.22 from sheet A and 0.28 from sheet B: the kernel mean over every anchor lands
    in the gap (its weights take both sheets); with proj_neighbours the mean is taken over the nearest anchor's
    sheet only (its ball along the anchors' kNN graph, whose edges of 0.05 never cross the gap), so it lands
    on sheet A, at z's place along it, and it is still differentiable."""
    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, proj_neighbours=8,
                                                                       decoder_input="projected"), seed=0, device="cpu")
    model = run.model
    nbrs = model.anchor_nbrs.numpy()
    assert nbrs.shape[0] == len(model.anchors) and (nbrs[:, 0] == np.arange(len(nbrs))).all()
    # a run with the option saves and loads (the neighbour table is a buffer of its own size)
    save_run(run, str(tmp_path / "r"))
    back = load_run(str(tmp_path / "r"))
    assert torch.equal(back.model.anchor_nbrs, model.anchor_nbrs)
    zz = run.model.encode(run.dataset.X[:20]) * 1.1                  # off the curve: the projection matters
    np.testing.assert_array_equal(back.model.decode(zz), run.model.decode(zz))
    s = np.linspace(-3, 3, 121)
    A = np.concatenate([np.stack([s, np.zeros_like(s)], 1), np.stack([s, np.full_like(s, 0.5)], 1)])
    model.anchors = torch.tensor(A, dtype=torch.float32)
    model.anchor_sqnorm = model.anchors.pow(2).sum(1)
    model.proj_tau2.fill_(0.2 ** 2)                               # wider than half the gap: the plain mean mixes
    from vdae_core.models.vdae import sheet_neighbourhoods

    line = np.arange(len(A)) // 121
    ball = sheet_neighbourhoods(A, 8, 3 * 0.2, min_size=0)          # the radius alone: ±0.6 along a line
    size = (ball >= 0).sum(1)
    assert 22 <= np.median(size) <= 25 and size.min() >= 12          # 25 inside (13 at an end), edge rounding
    nb = sheet_neighbourhoods(A, 8, 3 * 0.2)                          # and at least the 32 nearest
    assert ((nb >= 0).sum(1) >= 32).all()
    for b in (ball, nb):
        assert all((line[row[row >= 0]] == line[i]).all() for i, row in enumerate(b))  # never across the gap
    model.anchor_nbrs = torch.as_tensor(nb)
    z = torch.tensor([[0.013, 0.22], [1.017, 0.22], [-2.011, 0.28]], dtype=torch.float32)
    got = model.project_latent(z).numpy()
    np.testing.assert_allclose(got[:, 1], [0.0, 0.0, 0.5], atol=1e-6)   # on the nearer sheet
    np.testing.assert_allclose(got[:, 0], z[:, 0].numpy(), atol=0.02)  # along it, where z is
    model.anchor_nbrs = torch.zeros(0, 0, dtype=torch.long)             # every anchor: the gap
    mixed = model.project_latent(z).numpy()
    assert (np.abs(mixed[:, 1] - 0.25) < 0.2).all()
    zt = torch.tensor(z.numpy(), requires_grad=True)
    model.anchor_nbrs = torch.as_tensor(nb)
    model.project_latent(zt).sum().backward()
    assert torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_nearest_decoder_input_reads_a_far_latent_as_one_near_the_curve(tmp_path, tiny_vdae):
    """Issue 29: 1000 anchors at random angles of the unit circle (a random subset of training latents).
    Latents three radii out (where a walk step of the default size lands): the plain kernel mean narrows to
    a few anchors and snaps its output onto them; the 'nearest' input reads the kernel at the foot on the
    nearest anchor's tangent line, so it reads about as many anchors as on the curve. Measured by the
    outputs' median angular distance to their nearest anchor over that of uniform angles (an exact sampler;
    on the curve both means give 0.73): 0.52 for the plain mean at 3 radii, 0.67 for 'nearest'."""
    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_input="nearest"), seed=0,
                    device="cpu")
    model = run.model
    # a trained run keeps its frames through a save and a load
    assert model.anchor_frames.shape == (len(model.anchors), 2, 1)
    save_run(run, str(tmp_path / "r"))
    back = load_run(str(tmp_path / "r"))
    zz = run.model.encode(run.dataset.X[:20]) * 3.0
    np.testing.assert_array_equal(back.model.decode(zz), run.model.decode(zz))
    a = np.sort(np.random.default_rng(1).uniform(0, 2 * np.pi, 1000))
    model.anchors = torch.tensor(np.stack([np.cos(a), np.sin(a)], 1), dtype=torch.float32)
    model.anchor_sqnorm = model.anchors.pow(2).sum(1)
    gap = lambda t: np.abs(np.angle(np.exp(1j * (t[:, None] - a[None])))).min(1)  # noqa: E731
    nn = np.sort(np.abs(np.angle(np.exp(1j * (a[:, None] - a[None])))), 1)[:, 1]
    model.proj_tau2.fill_(float((4 * np.median(nn)) ** 2))             # proj_width 4 (chord ≈ arc here)
    model.anchor_frames = model._frames(model.anchors)
    U, A = model.anchor_frames.numpy()[:, :, 0], model.anchors.numpy()
    assert np.abs((U * A).sum(1)).max() < 0.05                        # each frame is the tangent line
    ang = np.random.default_rng(0).uniform(0, 2 * np.pi, 4000)
    exact = np.median(gap(ang))

    def snap(mode, radius):
        model.config = model.config.replace(decoder_input=mode)
        z = torch.tensor(radius * np.stack([np.cos(ang), np.sin(ang)], 1), dtype=torch.float32)
        out = model.project_latent(z).numpy()
        assert np.abs(np.linalg.norm(out, axis=1) - 1).max() < 0.01   # on the curve (sagitta τ²/2)
        return np.median(gap(np.arctan2(out[:, 1], out[:, 0]))) / exact

    on_curve = snap("projected", 1.0)
    assert abs(snap("nearest", 1.0) - on_curve) < 0.02
    assert snap("projected", 3.0) < on_curve - 0.15                    # snaps
    assert snap("nearest", 3.0) > on_curve - 0.1                       # reads as on the curve
    # 'nearest_plane' keeps ẑ's place along the curve: on it, the identity (an exact sampler's 1.0, where
    # the mean's pull towards clusters of anchors gives 0.73); at 3 radii 0.91.
    assert snap("nearest_plane", 1.0) == pytest.approx(1.0, abs=0.02)
    assert snap("nearest_plane", 3.0) > 0.85
    zt = torch.tensor(zz[:3], requires_grad=True)
    model.project_latent(zt).sum().backward()
    assert torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_nearest_frames_have_the_sheets_dimension_where_it_curves_inside_the_kernel(tiny_vdae):
    """A torus of revolution (R = 1, r = 0.3) as anchors: at the projection's kernel width the tube curves
    inside the kernel and a 90%-variance rank reads more than 2; the frames take the rank at half the width
    (2) and are tangent: orthogonal to the torus's normal."""
    run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_input="nearest"), seed=0,
                    device="cpu")
    model = run.model
    g = np.random.default_rng(0)
    th, ph = g.uniform(0, 2 * np.pi, (2, 3000))
    R, r = 1.0, 0.3
    T = np.stack([(R + r * np.cos(ph)) * np.cos(th), (R + r * np.cos(ph)) * np.sin(th), r * np.sin(ph)], 1)
    normal = np.stack([np.cos(ph) * np.cos(th), np.cos(ph) * np.sin(th), np.sin(ph)], 1)
    model.anchors = torch.tensor(T, dtype=torch.float32)
    model.anchor_sqnorm = model.anchors.pow(2).sum(1)
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=2).fit(T).kneighbors(T)[0][:, 1]
    model.proj_tau2.fill_(float((8 * np.median(nn)) ** 2))             # a kernel the tube curves inside
    assert model._local_rank() > 2
    F = model._frames(model.anchors).numpy()
    assert F.shape == (3000, 3, 2)
    assert np.median(np.abs(np.einsum("nd,ndr->nr", normal, F)).max(1)) < 0.2


def test_walk_scale_and_substeps_keep_the_step_covariance(tiny_vdae):
    """One walk step from a fixed point with the raw decoder input and a constant covariance network
    (L(z) = L): m sub-steps of L ε / √m sum to a step of covariance L Lᵀ, and walk_scale s multiplies it by s².
    Checked on 20000 steps against the closed form (entrywise, 5% of the largest entry)."""
    for over in ({"walk_substeps": 1, "walk_scale": 1.0}, {"walk_substeps": 6, "walk_scale": 1.0},
                 {"walk_substeps": 6, "walk_scale": 1.7}):
        run = train_run("vdae", DataConfig(dataset="sphere", n=300), dict(tiny_vdae, decoder_input="raw", **over),
                        seed=0, device="cpu")
        model = run.model
        with torch.no_grad():
            model.cov_net[-1].weight.zero_()                          # L no longer depends on z
            x = torch.as_tensor(run.dataset.X[:1], dtype=torch.float32).repeat(20000, 1)
            z0 = model.psi(x[:1])
            L = model.cov_factor(z0)[0].double()
            step = (model._walk_code(x, torch.Generator().manual_seed(0)) - z0).double()
        want = over["walk_scale"] ** 2 * (L @ L.T)
        got = torch.cov(step.T)
        assert (got - want).abs().max() <= 0.05 * want.abs().max(), over


def test_decoder_target_self_fits_the_pairs_and_leaves_the_walk_to_the_kl(tiny_vdae):
    """decoder_target='self': the reconstruction term is |ψ⁻¹(ψ(x)) − x|² / 2c on the batch's own points (no
    walk step, so no staircase of nearest-neighbour targets), and the covariance network gets no gradient
    from it — only from the KL to α Σ*. With 'neighbour' (Eq. 5) it does get one."""
    from vdae_core.training.phases import TrainData

    for target in ("self", "neighbour"):
        run = train_run("vdae", DataConfig(dataset="circle", n=300), dict(tiny_vdae, decoder_target=target), seed=0,
                        device="cpu")
        model = run.model
        X = torch.as_tensor(run.dataset.X, dtype=torch.float32)
        model.compute_latent_stats(TrainData(X, run.dataset.X.astype(np.float32), torch.device("cpu"),
                                             torch.Generator().manual_seed(0)))
        idx = torch.arange(64)
        out = model.variational_loss(idx, torch.Generator().manual_seed(1))
        grads = torch.autograd.grad(out["recon"], list(model.cov_net.parameters()), allow_unused=True)
        moved = any(g is not None and g.abs().sum() > 0 for g in grads)
        if target == "self":
            x = X[idx]
            want = (model.x_scale(model._decode(model.psi(x))) - model.x_scale(x)).pow(2).sum(1).mean()
            assert out["recon"].item() == pytest.approx(want.item() / (2 * model.config.recon_var), rel=1e-5)
            assert not moved
        else:
            assert moved

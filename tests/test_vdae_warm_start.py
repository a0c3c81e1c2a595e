"""Issue 16: ψ fitted to the exact diffusion map, the decoder's warm start, and the live preset."""
import numpy as np
import pytest
import torch

from vdae_core.api import DataConfig, canonical_correlations, diffusion_map, make_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.models.vdae import VDAE, VDAEConfig
from vdae_core.foundation.preset_costs import COLUMNS, live_cost_rows
from vdae_core.pipeline.train import start


def _trained(overrides, n=600, dataset="circle"):
    tr = start("vdae", DataConfig(dataset=dataset, n=n, seed=0), {"hidden": 64, "depth": 2, **overrides}, seed=0)
    tr.run()
    return tr


def test_the_fit_alone_recovers_the_exact_diffusion_map():
    # No SpectralNet step: ψ is the least-squares fit to φ_1..φ_D, then finalised. The canonical correlations with
    # the exact map (same graph) must be those of a near-exact copy; a random ψ scores far lower.
    tr = _trained({"spectral_fit_steps": 150, "spectral_steps": 0, "decoder_fit_steps": 1, "vae_steps": 1})
    X = tr.data.X_np
    cc = canonical_correlations(tr.model.encode(X), diffusion_map(X, tr.model.latent_dim, k=20).coords)
    assert cc.min() > 0.999, cc
    assert tr.history.stop_reasons["diffusion fit"] == "ran its 150 steps"


def test_the_fit_uses_a_subset_when_asked_and_still_generalises():
    tr = _trained({"spectral_fit_points": 300, "spectral_fit_steps": 150, "decoder_fit_steps": 1, "vae_steps": 1},
                  n=900)
    assert len(tr.phases[0].keep) == 300
    X = tr.data.X_np
    unseen = np.setdiff1d(np.arange(len(X)), tr.phases[0].keep.numpy())
    exact = diffusion_map(X, tr.model.latent_dim, k=20).coords
    # The 600 points it never saw follow the map of all 900 (the 300-point graph is coarser: not exactly it).
    cc = canonical_correlations(tr.model.encode(X[unseen]), exact[unseen])
    assert cc.min() > 0.98, cc


def test_the_decoder_warm_start_inverts_psi_on_the_training_points():
    ds = make_dataset(DataConfig(dataset="circle", n=600, seed=0))
    errs = {}
    for steps in (1, 300):
        tr = _trained({"spectral_fit_steps": 100, "decoder_fit_steps": steps, "vae_steps": 1})
        m = tr.model
        with torch.no_grad():
            X = torch.as_tensor(ds.X, dtype=torch.float32)
            errs[steps] = float(np.median(np.linalg.norm(m._decode(m.psi(X)).numpy() - ds.X, axis=1)))
    # One step leaves the decoder near its initial output; 300 steps of the fit bring ψ⁻¹(ψ(x)) within a few
    # per cent of the unit circle's radius.
    assert errs[300] < 0.05 < errs[1], errs


def test_psi_must_be_trained_one_way_or_the_other():
    with pytest.raises(UserInputError, match="ψ would stay random"):
        VDAEConfig(spectral_fit_points=0, spectral_steps=0).validate()
    VDAEConfig(spectral_fit_points=0, spectral_steps=10).validate()


def test_paper_preset_keeps_the_papers_spectralnet():
    p = VDAEConfig.paper_preset()
    assert p["spectral_fit_points"] == 0 and p["spectral_steps"] > 0 and p["decoder_fit_steps"] == 0
    model = VDAE(VDAEConfig.from_dict(p), (2,), 2)
    assert [ph.name for ph in model.phases()] == ["spectral", "latent statistics", "variational"]


def test_live_preset_is_declared_measured_and_tabulated():
    from vdae_core.pipeline.presets import compose

    live = compose("vdae", "live")
    assert live == VDAEConfig.LIVE and VDAEConfig.from_dict(live).vae_steps < VDAEConfig().vae_steps
    measured = VDAEConfig.live_measured()
    assert measured is not None and {"circle", "sphere", "torus"} <= set(measured["datasets"])
    for name, pair in measured["datasets"].items():
        assert pair["live"]["train_s"] < pair["default"]["train_s"], name
    rows = live_cost_rows(measured)
    assert len(rows) == 2 * len(measured["datasets"])
    assert all(title in rows[0] for _, title, _ in COLUMNS)
    assert live_cost_rows({"datasets": {"x": {"default": {"train_s": 2.0}}}})[1]["training (s)"] == "–"
    with pytest.raises(UserInputError, match="no 'live' preset"):
        compose("beta_vae", "live")


def test_the_home_pages_promise_reads_the_demo_models_measured_file():
    from vdae_core.ui import jobs

    assert jobs.DEMO_MODEL == "vdae" and jobs.DEMO_MEASURED == VDAEConfig.LIVE_MEASURED
    demo = VDAEConfig.live_measured()["demo"]  # benchmarks/bench_demo.py: Chromium clicks "Try it"
    text = jobs.demo_time_text([])
    assert text.startswith(f"About {demo['wall_s']:.0f} s from the click to the saved run")
    assert demo["train_s"] <= demo["wall_s"]

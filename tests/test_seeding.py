"""Issue 30: every module is built from its own seed under one lock, so the global RNG — shared by every Streamlit
session's thread — is neither read nor changed by building, loading or re-initialising a model."""
import threading

import torch

from vdae_core.data import DataConfig
from vdae_core.models.base import INIT_LOCK, seeded_init
from vdae_core.pipeline.build import build_model
from vdae_core.pipeline.runs import load_run, save_run
from vdae_core.pipeline.train import train_run


def test_loading_a_run_leaves_the_global_rng_alone(tmp_path):
    run = train_run("beta_vae", DataConfig(dataset="circle", n=200, seed=0), {"steps": 3, "hidden": 16}, seed=0)
    path = save_run(run, str(tmp_path / "r"))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    loaded = load_run(path)
    assert torch.equal(torch.get_rng_state(), state)
    for a, b in zip(run.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(a, b)


def test_reinitialising_a_delta_vae_draws_the_seeds_weights_and_leaves_the_global_rng_alone():
    from vdae_core.data import make_dataset

    ds = make_dataset(DataConfig(dataset="circle", n=200, seed=0))
    m = build_model("delta_vae", {"hidden": 16}, ds, seed=0)
    torch.manual_seed(7)
    state = torch.get_rng_state()
    m.reinitialise(5)
    assert torch.equal(torch.get_rng_state(), state)
    fresh = build_model("delta_vae", {"hidden": 16}, ds, seed=5)
    assert torch.equal(m.encoder.state_dict()[next(iter(m.encoder.state_dict()))],
                       fresh.encoder.state_dict()[next(iter(fresh.encoder.state_dict()))])


def test_seeded_init_holds_the_lock_while_weights_are_drawn():
    seen = []
    with seeded_init(3):
        seen.append(INIT_LOCK.locked())
        a = torch.rand(2)
    with seeded_init(3):
        b = torch.rand(2)
    t = threading.Thread(target=lambda: seen.append(INIT_LOCK.locked()))
    t.start()
    t.join()
    assert seen == [True, False] and torch.equal(a, b)

"""The model contract, parametrised over every registered model: a newly registered model is tested here
without a test written for it (issue 9). Each model trains on a small circle for a few steps of every
phase (its quick preset, scaled down)."""
import numpy as np
import pytest
import torch

from vdae_core.api import MODELS, DataConfig, load_run, make_dataset, save_run
from vdae_core.models.base import CAPABILITIES
from vdae_core.pipeline.build import build_model
from vdae_core.pipeline.train import finish, start

DATA = DataConfig(dataset="circle", n=240, seed=0)
SCALE = 0.02  # of the quick preset: a handful of steps per phase


def tiny(name):
    cfg = MODELS.get(name).config_class
    return {**cfg.quick_preset(SCALE), "device": "cpu"}


def train_every_model(data, settings):
    """{model name: (initial weights, trained run)} for every registered model on ``data``."""
    out = {}
    ds = make_dataset(data)
    for name in MODELS.names():
        init = {k: v.clone() for k, v in build_model(name, settings(name), ds, seed=0).state_dict().items()}
        tr = start(name, data, settings(name), seed=0, dataset=ds)
        tr.run()
        out[name] = (init, finish(tr))
    return out


@pytest.fixture(scope="module")
def trained():
    return train_every_model(DATA, tiny)


@pytest.mark.parametrize("name", MODELS.names())
def test_builds_from_its_default_config_and_declares_capabilities(name):
    cls = MODELS.get(name)
    cfg = cls.config_class()
    caps = cls.capabilities()
    assert set(caps) == set(CAPABILITIES) and all(isinstance(v, bool) for v in caps.values())
    assert cls.title != "model" and cls.training_notes
    for cap, has in caps.items():
        if not has:
            assert cls.lacks(cap).startswith(cls.title)
    model = build_model(name, {}, make_dataset(DATA), seed=0)
    # 'auto' settings are resolved when the model is built: the device, and the network family for the data.
    assert model.config == cfg.replace(device=model.config.device, network="mlp")
    assert model.data_shape == (3,) and model.latent_dim == int(np.prod(model.latent_space.shape))


@pytest.mark.parametrize("name", MODELS.names())
def test_training_gives_finite_losses_and_changes_the_weights(trained, name):
    init, run = trained[name]
    for phase, recs in run.history.records.items():
        for r in recs:
            assert all(np.isfinite(v) for v in r.values()), (phase, r)
    assert run.history.records, "no phase reported a loss"
    state = run.model.state_dict()
    changed = [k for k, v in init.items() if v.is_floating_point() and not torch.equal(v, state[k])]
    assert changed, "no weight moved"


@pytest.mark.parametrize("name", MODELS.names())
def test_same_seed_same_weights(name):
    ds = make_dataset(DATA)
    a = build_model(name, tiny(name), ds, seed=5).state_dict()
    b = build_model(name, tiny(name), ds, seed=5).state_dict()
    c = build_model(name, tiny(name), ds, seed=6).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    if MODELS.get(name).random_init:
        assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point() and a[k].numel() > 1)
    else:  # a learner draws nothing at build time: its seed acts in training, and repeats there
        assert all(torch.equal(a[k], c[k]) for k in a)
        tr = lambda s: start(name, DATA, tiny(name), seed=s, dataset=ds)  # noqa: E731
        runs = []
        for s in (5, 5):
            t = tr(s)
            t.run()
            runs.append(finish(t).model.state_dict())
        assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


@pytest.mark.parametrize("name", MODELS.names())
def test_save_load_round_trip_is_bit_exact(trained, name, tmp_path):
    _, run = trained[name]
    path = save_run(run, str(tmp_path / name))
    back = load_run(path)
    a, b = run.model.state_dict(), back.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert back.model.latent_space == run.model.latent_space
    X = run.dataset.X[:20]
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    if run.model.has_sampler:
        np.testing.assert_array_equal(run.model.sample(15, g()), back.model.sample(15, g()))
    if run.model.has_encoder:
        np.testing.assert_array_equal(run.model.encode(X), back.model.encode(X))


@pytest.mark.parametrize("name", MODELS.names())
def test_codes_samples_and_walks_have_the_right_shapes(trained, name):
    _, run = trained[name]
    model, X = run.model, run.dataset.X
    space = model.latent_space
    g = torch.Generator().manual_seed(0)
    if model.has_encoder:
        z = model.encode(X[:50])
        assert z.shape == (50, *space.shape)
        assert bool(space.belongs(torch.as_tensor(z, dtype=torch.float64), atol=1e-4).all())
        coords = model.latent_coords(z)
        assert coords.shape == (50, space.dim) and np.isfinite(coords).all()
    else:
        with pytest.raises(ValueError, match="has no encoder"):
            model.encode(X[:5])
    if model.has_decoder:
        zs = space.prior_sample(30, torch.Generator().manual_seed(0)).numpy()
        assert model.decode(zs).shape == (30, 3)
        assert model.decode(zs.reshape(30, -1)).shape == (30, 3)  # flattened codes are accepted too
    else:
        with pytest.raises(ValueError, match="has no decoder"):
            model.decode(np.zeros((3, model.latent_dim), dtype=np.float32))
        with pytest.raises(ValueError, match="has no decoder"):
            model.random_walk(X[:10], 4, g)
    if not model.has_sampler:
        with pytest.raises(ValueError, match="generates no new points"):
            model.sample(40, g)
        if hasattr(model, "Z_fit"):  # a learner's codes of its training points are its own, exactly
            Xt = model.X_fit.numpy()
            np.testing.assert_allclose(model.encode(Xt[:7]), model.Z_fit.numpy()[:7], rtol=1e-5, atol=1e-6)
        return
    assert model.sample(40, g).shape == (40, 3)
    walk = model.random_walk(X[:10], 4, g)
    assert walk.shape == (5, 10, 3) and np.isfinite(walk).all()
    np.testing.assert_array_equal(walk[0], X[:10])


@pytest.mark.parametrize("name", MODELS.names())
def test_samples_are_the_decoded_prior_codes(trained, name):
    """has_prior: sample(n, g) is decode(prior_codes(n, g)) for the same generator state, and the codes lie on
    the latent space (the prior-hole map reads them); without it, prior_codes refuses with the model's name."""
    _, run = trained[name]
    model = run.model
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    if not model.has_prior:
        with pytest.raises(ValueError, match=model.title):
            model.prior_codes(5, g())
        return
    z = model.prior_codes(25, g())
    assert z.shape == (25, *model.latent_space.shape) and np.isfinite(z).all()
    if model.latent_space.name != "euclidean":
        assert bool(model.latent_space.belongs(torch.as_tensor(z, dtype=torch.float64), atol=1e-4).all())
    np.testing.assert_allclose(model.decode(z), model.sample(25, g()), rtol=1e-5, atol=1e-5)
    assert not np.allclose(z, model.prior_codes(25, torch.Generator().manual_seed(4)))


@pytest.mark.parametrize("name", MODELS.names())
def test_paper_preset_is_a_valid_config_that_differs_from_the_defaults(name):
    """A declared 'paper' preset names its source, builds, and changes something; none: a clear message."""
    from vdae_core.foundation.errors import UserInputError

    from vdae_core.pipeline.presets import compose

    cfg = MODELS.get(name).config_class
    if not cfg.PAPER and not cfg.PAPER_SOURCE:
        with pytest.raises(UserInputError, match="no 'paper' preset"):
            compose(name, "paper")
        return
    if not cfg.PAPER:  # the defaults are the paper's, and the source says so
        assert compose(name, "paper") == {} and "default" in cfg.PAPER_SOURCE
        return
    assert cfg.PAPER_SOURCE
    paper = cfg.from_dict(compose(name, "paper"))
    assert paper != cfg()
    model = build_model(name, compose(name, "paper", scale=SCALE), make_dataset(DATA), seed=0)
    lengths = set(cfg.training_length_fields())  # scaled down by this test; a 0 (a phase that is off) stays 0
    assert model.config.to_dict().items() >= {k: v for k, v in cfg.PAPER.items() if k not in lengths}.items()
    assert all(model.config.training_length(k) == 0 for k, v in cfg.PAPER.items() if k in lengths and v == 0)


@pytest.mark.parametrize("name", MODELS.names())
def test_live_preset_is_shorter_and_measured_or_absent_with_a_message(name):
    """A declared 'live' preset trains for fewer steps than the defaults and ships its measured cost; none: a clear
    message (the CLI's --preset live and the Train page's radio rely on both)."""
    from vdae_core.foundation.errors import UserInputError

    from vdae_core.pipeline.presets import compose

    cfg = MODELS.get(name).config_class
    if not cfg.LIVE:
        with pytest.raises(UserInputError, match="no 'live' preset"):
            compose(name, "live")
        return
    live, default = cfg.from_dict(compose(name, "live")), cfg()
    lengths = cfg.training_length_fields()
    assert sum(live.training_length(f) for f in lengths) < sum(default.training_length(f) for f in lengths)
    assert cfg.LIVE_MEASURED and cfg.live_measured() is not None
    # one name across models (issue 33): the app's "Quick" is the measured live preset where there is one
    assert compose(name, "quick") == compose(name, "live")


@pytest.mark.parametrize("name", MODELS.names())
def test_the_train_form_shows_a_few_essential_settings_first(name):
    """The Train page's first screen (issue 33): at most six fields, each a field of the config, the latent size
    (or the latent manifold) among them; every other field is under Advanced."""
    import dataclasses

    cfg = MODELS.get(name).config_class
    fields = {f.name for f in dataclasses.fields(cfg)}
    shown = [n for n in cfg.ESSENTIAL if n in fields]
    assert 2 <= len(shown) <= 6, (name, shown)
    assert {"latent_dim", "latent_manifold", "latent_manifold_dim"} & set(shown), (name, shown)


@pytest.mark.parametrize("name", MODELS.names())
def test_tuned_presets_are_valid_configs_with_their_reason(name):
    """A model's per-dataset tuned settings (from a documented sweep) exist, validate, and say why."""
    import json
    import os

    from vdae_core.foundation.registry import DATASETS

    cfg = MODELS.get(name).config_class
    if not cfg.TUNED_FILE:
        assert cfg.tuned_preset("circle") == {}
        return
    path = os.path.join(os.path.dirname(MODELS.get(name).__module__.replace(".", "/")), "tuned", cfg.TUNED_FILE)
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), path)) as fh:
        table = json.load(fh)
    assert table and set(table) <= set(DATASETS.names())
    for dataset, entry in table.items():
        reasons = {k for k in entry if k.startswith("why")}  # "why" (a setting), "why_dim" (its dimension)
        assert reasons and all(entry[k] for k in reasons)
        over = cfg.tuned_preset(dataset)
        assert over == {k: v for k, v in entry.items() if k not in reasons}
        cfg.from_dict(over)  # a valid config
    assert cfg.tuned_preset("no_such_dataset") == {}


# -- the same contract on images, with the convolutional networks (issue 13) --------------------------------
IMAGES = DataConfig(dataset="fourier_torus", n=48, seed=0)


def tiny_conv(name):
    return {**tiny(name), "network": "conv", "conv_channels": 4}


@pytest.fixture(scope="module")
def trained_images():
    return train_every_model(IMAGES, tiny_conv)


@pytest.mark.parametrize("name", MODELS.names())
def test_a_convolutional_model_trains_samples_and_round_trips_on_images(trained_images, name, tmp_path):
    from vdae_core.models.networks import ConvDecoder, ConvEncoder

    init, run = trained_images[name]
    model = run.model
    assert model.data_shape == (1, 32, 32) and model.config.network == "conv"
    if not list(model.parameters()):  # a manifold learner: no networks to choose, its codes on the images
        assert not (model.random_init or model.has_decoder or model.has_sampler)
        assert model.encode(run.dataset.X[:7]).shape == (7, *model.latent_space.shape)
        back = load_run(save_run(run, str(tmp_path / name)))
        np.testing.assert_array_equal(model.encode(run.dataset.X[:7]), back.model.encode(run.dataset.X[:7]))
        return
    kinds = {type(m) for m in model.modules()}
    assert (ConvEncoder in kinds) == (model.has_encoder or name == "wgan_gp")  # WGAN's critic is an encoder
    assert (ConvDecoder in kinds) == model.has_decoder
    assert all(np.isfinite(v) for recs in run.history.records.values() for r in recs for v in r.values())
    state = model.state_dict()
    assert any(v.is_floating_point() and not torch.equal(v, state[k]) for k, v in init.items())
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    if model.has_sampler:
        assert model.sample(6, g()).shape == (6, 32 * 32)
    if model.has_encoder:
        assert model.encode(run.dataset.X[:7]).shape == (7, *model.latent_space.shape)
    back = load_run(save_run(run, str(tmp_path / name)))
    assert back.model.config.network == "conv"
    b = back.model.state_dict()
    assert all(torch.equal(state[k], b[k]) for k in state)
    if model.has_sampler:
        np.testing.assert_array_equal(model.sample(6, g()), back.model.sample(6, g()))
    else:
        np.testing.assert_array_equal(model.encode(run.dataset.X[:7]), back.model.encode(run.dataset.X[:7]))


@pytest.mark.parametrize("name", MODELS.names())
def test_fields_whose_zero_is_a_setting_say_so_in_the_form(name):
    """A field whose help says what 0 does ("0 uses…", "0: …", "0 derives…") names it, and the form's label
    shows it ("latent dim (0 = auto)"), so a 0 in a form never reads as a quantity."""
    import dataclasses
    import re

    from vdae_core.ui.forms import field_label

    cfg = MODELS.get(name).config_class
    says = re.compile(r"(^|[;.(] )0(:| means| uses| derives| picks| on the)")
    for f in dataclasses.fields(cfg):
        if says.search(f.metadata.get("help", "")):
            assert f.metadata.get("zero"), f"{name}.{f.name}: help explains 0 but the form would not"
            assert field_label(f).endswith(f"(0 = {f.metadata['zero']})")
    assert field_label(next(f for f in dataclasses.fields(cfg) if f.name == "latent_dim")) == "latent dim (0 = auto)"


@pytest.mark.parametrize("name", [n for n in MODELS.names() if MODELS.get(n).seed_batch])
def test_seeds_trained_together_equal_seeds_trained_one_by_one(name):
    """A model that declares ``seed_batch`` trains seeds 0 and 1 together (its phases stacked) to the weights each
    reaches alone, to float rounding: the same initialisation, batches and noise, the same Adam per seed."""
    from vdae_core.training.seed_batch import train_together

    data = [DataConfig(dataset="circle", n=240, seed=s) for s in (0, 1)]
    alone = []
    for s, d in enumerate(data):
        tr = start(name, d, tiny(name), seed=s)
        tr.run()
        alone.append(finish(tr))
    together = [start(name, d, tiny(name), seed=s) for s, d in enumerate(data)]
    assert train_together([t.trainer for t in together]) == [None, None]
    for a, t in zip(alone, together):
        b = finish(t)
        for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
            assert torch.allclose(va, vb, rtol=1e-4, atol=1e-5), (k, (va - vb).abs().max())
        for phase, recs in a.history.records.items():
            got = b.history.records[phase]
            assert [r["step"] for r in recs] == [r["step"] for r in got]
            assert np.allclose([r["loss"] for r in recs], [r["loss"] for r in got], rtol=1e-4, atol=1e-5)

"""Issue 13: image sets with known topology, convolutional networks, and the latent-angle score."""
import numpy as np
import pytest
import torch

from vdae_core.api import MANIFOLDS, DataConfig, make_dataset
from vdae_core.data.image_manifolds import (RENDER_POINTS, _surface, fourier_picture, render_views,
                                            translated_pictures)
from vdae_core.data.images import image_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.angle_recovery import angle_recovery
from vdae_core.metrics.class_retention import walk_class_retention
from vdae_core.models.networks import ConvDecoder, ConvEncoder, conv_network, resolve_network
from vdae_core.viz.images import images_from_points, montage

TWO_PI = 2 * np.pi

SHAPES = {  # name -> (n asked, image shape, ground-truth columns, periodic)
    "aloi": (72, (36, 48), ("angle",), (True,)),
    "turntable": (40, (32, 32), ("azimuth",), (True,)),
    "turntable2d": (40, (32, 32), ("azimuth", "elevation"), (True, False)),
    "turntable_rgb": (40, (32, 32, 3), ("azimuth",), (True,)),
    "fourier_torus": (50, (32, 32), ("shift_rows", "shift_cols"), (True, True)),
    "fourier_torus_n3": (50, (32, 32), ("shift_rows", "shift_cols"), (True, True)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_built_in_image_sets_load_offline_with_their_documented_shapes(name):
    n, hw, cols, periodic = SHAPES[name]
    ds = make_dataset(DataConfig(dataset=name, n=n, seed=3))
    assert ds.images.shape == (n, *hw) and ds.images.dtype == np.uint8
    c = hw[2] if len(hw) == 3 else 1
    assert ds.data_shape == (c, *hw[:2]) and ds.X.shape == (n, c * hw[0] * hw[1])
    np.testing.assert_array_equal(images_from_points(ds.X, ds.data_shape), ds.images / np.float32(255.0))
    assert ds.param_names == cols and ds.periodic == periodic
    for j, p in enumerate(periodic):
        if p:
            assert ds.params[:, j].min() >= 0 and ds.params[:, j].max() < TWO_PI
    assert len(np.unique(ds.X, axis=0)) == n  # no two views alike
    spr = montage(ds.images, ncols=10)
    assert spr.shape[2:] == hw[2:] and spr.shape[1] == 10 * (hw[1] + 1) + 1


def test_aloi_is_the_72_views_five_degrees_apart():
    ds = make_dataset(DataConfig(dataset="aloi", n=500))
    np.testing.assert_allclose(np.sort(ds.params[:, 0]), np.deg2rad(np.arange(0, 360, 5)))


def _nn_angle_steps(images: np.ndarray) -> np.ndarray:
    X = images.reshape(len(images), -1).astype(np.float64)
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    nn = D.argmin(1)
    k = len(images)
    i = np.arange(k)
    return np.minimum((nn - i) % k, (i - nn) % k)


def test_rendered_turntable_has_its_nearest_neighbours_at_adjacent_angles():
    # 72 renders 5° apart: every image's nearest image (pixel distance) is the view one step away.
    pts, nrm = _surface("bunny_libigl_3485v.off", RENDER_POINTS)
    az = TWO_PI * np.arange(72) / 72
    imgs = render_views(pts, nrm, az, np.full(72, np.deg2rad(20.0)))
    assert (_nn_angle_steps(imgs) == 1).all()
    # The views differ (a turning bunny is not rotationally symmetric) and fill part of the frame.
    assert 0.1 < (imgs > 0).mean() < 0.8


def test_colour_renders_paint_each_side_and_keep_adjacent_views_nearest():
    pts, nrm = _surface("bunny_libigl_3485v.off", RENDER_POINTS)
    az = TWO_PI * np.arange(72) / 72
    el = np.full(72, np.deg2rad(20.0))
    rgb = render_views(pts, nrm, az, el, colour=True)
    assert rgb.shape == (72, 32, 32, 3)
    assert (_nn_angle_steps(rgb) == 1).all()
    # The object's pixels have colour (channels differ), and the back of the bunny has another hue than its front.
    lit = rgb.max(-1) > 40
    assert (np.ptp(rgb.astype(int), axis=-1)[lit] > 10).mean() > 0.5
    front, back = rgb[0][lit[0]].mean(0), rgb[36][lit[36]].mean(0)
    assert np.abs(front / front.sum() - back / back.sum()).max() > 0.03
    # Its luminance is the grayscale render's shading times an albedo ≤ 1: never brighter than the grey one.
    grey = render_views(pts, nrm, az[:4], el[:4]).astype(int)
    assert (rgb[:4].max(-1).astype(int) <= grey + 1).all()


def test_aloi_photographs_have_their_nearest_neighbours_at_adjacent_angles():
    ds = make_dataset(DataConfig(dataset="aloi", n=72))
    order = np.argsort(ds.params[:, 0])
    assert (_nn_angle_steps(ds.images[order]) == 1).all()


def test_renderer_turns_the_object_the_way_the_angle_says():
    # A quarter turn of the object equals rendering the object pre-rotated by a quarter turn.
    pts, nrm = _surface("bunny_libigl_3485v.off", RENDER_POINTS)
    R = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])  # the y-rotation of view_rotation at π/2
    a = render_views(pts, nrm, np.array([np.pi / 2]), np.zeros(1))
    b = render_views(pts @ R.T, nrm @ R.T, np.zeros(1), np.zeros(1))
    np.testing.assert_array_equal(a, b)


def test_translated_pictures_are_exactly_periodic_and_shift_by_whole_pixels():
    coef = fourier_picture(3, 0.5, seed=1)
    s = np.random.default_rng(0).uniform(0, TWO_PI, (6, 2))
    np.testing.assert_allclose(translated_pictures(coef, s), translated_pictures(coef, s + TWO_PI), atol=1e-12)
    np.testing.assert_allclose(translated_pictures(coef, s), translated_pictures(coef, s - [0, 3 * TWO_PI]),
                               atol=1e-11)
    base = translated_pictures(coef, np.zeros((1, 2)), size=32)[0]
    rows = translated_pictures(coef, np.array([[TWO_PI / 32, 0.0]]), size=32)[0]
    cols = translated_pictures(coef, np.array([[0.0, 3 * TWO_PI / 32]]), size=32)[0]
    np.testing.assert_allclose(rows, np.roll(base, 1, axis=0), atol=1e-12)
    np.testing.assert_allclose(cols, np.roll(base, 3, axis=1), atol=1e-12)


def test_the_simple_picture_is_cos_theta_plus_cos_phi():
    g = -np.pi + TWO_PI * np.arange(16) / 16
    pic = translated_pictures(fourier_picture(0, 1.0, seed=0), np.array([[0.4, 1.1]]), size=16)[0]
    np.testing.assert_allclose(pic, np.cos(g - 0.4)[:, None] + np.cos(g - 1.1)[None, :], atol=1e-12)


def test_random_picture_discounts_higher_components_by_gamma():
    # |a_{k,l}| is γ^{|k|+|l|−1} times a CN(0,1) draw: averaged over many draws the ratio between orders is γ.
    mags = np.mean([np.abs(fourier_picture(3, 0.5, seed=s)) for s in range(400)], axis=0)
    k = np.arange(-3, 4)
    order = np.abs(k)[:, None] + np.abs(k)[None, :]
    ratio = mags[order == 3].mean() / mags[order == 2].mean()
    assert ratio == pytest.approx(0.5, rel=0.05)
    assert mags[3, 3] == 0.0  # no constant term


def test_rgb_images_are_flattened_channel_first():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (12, 5, 7, 3), dtype=np.uint8)
    ds = image_dataset(imgs, "rgb", np.arange(12.0), ("index",), (False,), 2, None, "test")
    assert ds.data_shape == (3, 5, 7)
    np.testing.assert_array_equal(ds.X.reshape(12, 3, 5, 7), imgs.transpose(0, 3, 1, 2) / np.float32(255))


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 36, 48), (3, 20, 28), (1, 17, 23)])
def test_conv_encoder_and_decoder_map_images_of_any_size(shape):
    torch.manual_seed(0)
    enc, dec = ConvEncoder(shape, 5, 8, 32, "relu"), ConvDecoder(5, shape, 8, 32, "relu")
    x = torch.rand(4, int(np.prod(shape)))
    assert enc(x).shape == (4, 5) and enc(x.reshape(4, *shape)).shape == (4, 5)
    assert dec(torch.randn(4, 5)).shape == (4, int(np.prod(shape)))
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in enc.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert len(convs) == 4 and all(c.kernel_size == (4, 4) and c.stride == (1, 1) for c in convs) and len(pools) == 2


def test_conv_keeps_the_image_size_at_every_layer_before_pooling():
    # 'same' padding for the even kernel: a one-pixel impulse stays where it is (up to the kernel's reach).
    conv = conv_network((1, 12, 12), 3, (16,), "relu", channels=2).features[0]
    x = torch.zeros(1, 1, 12, 12)
    assert conv(x).shape == (1, 2, 12, 12)


def test_auto_network_is_conv_for_images_on_a_gpu_and_mlp_otherwise():
    assert resolve_network("auto", (1, 32, 32), "cuda") == "conv"
    assert resolve_network("auto", (1, 32, 32), "cpu") == "mlp"
    assert resolve_network("auto", (1, 8, 8), "cuda") == "mlp"  # digits: too small to pool twice
    assert resolve_network("auto", (3,), "cuda") == "mlp"
    assert resolve_network("conv", (3,), "cpu") == "conv"


def test_build_model_records_the_network_it_chose():
    from vdae_core.pipeline.build import build_model

    ds = make_dataset(DataConfig(dataset="fourier_torus", n=40))
    m = build_model("beta_vae", {"device": "cpu"}, ds)
    assert m.config.network == "mlp"
    m = build_model("beta_vae", {"device": "cpu", "network": "conv", "conv_channels": 4}, ds)
    assert isinstance(m.encoder, ConvEncoder) and isinstance(m.decoder, ConvDecoder)


# -- the latent-angle score ---------------------------------------------------------------------------------


def test_angle_recovery_finds_a_loop_in_a_euclidean_latent_and_ignores_noise():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, TWO_PI, 300)
    E4 = MANIFOLDS.build("euclidean", dim=4)
    # A loop in the PC3-PC4 plane of a 4-D latent (the two leading PCs are a wider, unrelated ellipse).
    Z = np.stack([3 * rng.standard_normal(300), 2 * rng.standard_normal(300), np.cos(t), np.sin(t)], 1)
    out = angle_recovery(E4, Z, t[:, None], ("theta",), (True,))
    assert out["min"] > 0.98 and out["latent"]["theta"] in ("angle in the PC3–PC4 plane", "angle in the z3–z4 plane")
    # A whitened latent (diffusion coordinates: every direction has unit variance) with the loop in (z1, z2):
    # its principal components are arbitrary mixtures, so the loop is read in the codes' own plane.
    W = np.concatenate([np.sqrt(2) * np.stack([np.cos(t), np.sin(t)], 1), rng.standard_normal((300, 10))], 1)
    out = angle_recovery(MANIFOLDS.build("euclidean", dim=12), W, t[:, None], ("theta",), (True,))
    assert out["min"] > 0.98 and out["latent"]["theta"] == "angle in the z1–z2 plane"
    # A loop cut open and squeezed onto a half circle scores 0.86; the score checks order, not closure:
    # the same cut drawn as an arc of 300° still scores 0.96 (the docstring says so).
    E2 = MANIFOLDS.build("euclidean", dim=2)
    score = {deg: angle_recovery(E2, np.stack([np.cos(t * deg / 360), np.sin(t * deg / 360)], 1), t[:, None],
                                 ("t",), (True,))["min"] for deg in (180, 300)}
    assert score[180] < 0.9 and 0.95 < score[300] < 0.99


def test_angle_recovery_of_independent_codes_is_small():
    # The null the docstring states: 72 independent angles, best of 12 candidate planes, 100 draws.
    rng = np.random.default_rng(1)
    E4 = MANIFOLDS.build("euclidean", dim=4)
    worst = max(angle_recovery(E4, rng.standard_normal((72, 4)), rng.uniform(0, TWO_PI, (72, 1)), ("a",),
                               (True,))["min"] for _ in range(100))
    assert worst < 0.2


def test_angle_recovery_on_a_torus_latent_pairs_the_factors():
    rng = np.random.default_rng(2)
    truth = rng.uniform(0, TWO_PI, (200, 2))
    T = MANIFOLDS.build("flat_torus")
    swapped = -truth[:, ::-1] + [0.3, 1.0]  # factors swapped and one reflected: still a perfect recovery
    Z = np.stack([np.cos(swapped[:, 0]), np.sin(swapped[:, 0]), np.cos(swapped[:, 1]), np.sin(swapped[:, 1])], 1)
    out = angle_recovery(T, Z, truth, ("a", "b"), (True, True))
    assert out["min"] > 0.999 and out["latent"] == {"a": T.coord_names[1], "b": T.coord_names[0]}


def test_angle_recovery_refuses_what_has_no_angle():
    with pytest.raises(UserInputError, match="no periodic"):
        angle_recovery(MANIFOLDS.build("euclidean", dim=2), np.zeros((5, 2)), np.zeros((5, 1)), ("x",), (False,))
    with pytest.raises(UserInputError, match="1-D Euclidean"):
        angle_recovery(MANIFOLDS.build("euclidean", dim=1), np.zeros((5, 1)), np.zeros((5, 1)), ("a",), (True,))


# -- the CLI on images -----------------------------------------------------------------------------------------


def test_cli_writes_images_encodes_a_zip_in_file_order_and_decodes_to_pngs(tmp_path, capsys):
    import zipfile

    from PIL import Image

    from vdae_core.api import load_run
    from vdae_core.cli import main

    assert main(["data", "--dataset", "aloi", "--out", str(tmp_path / "aloi.npz")]) == 0
    with np.load(tmp_path / "aloi.npz") as z:
        assert z["images"].shape == (72, 36, 48) and z["params"].shape == (72, 1)
    run_dir = str(tmp_path / "run")
    assert main(["train", "--dataset", "fourier_torus", "--n", "120", "--model", "beta_vae", "--steps-scale", "0.01",
                 "--quiet", "--out", run_dir]) == 0
    ds = make_dataset(DataConfig(dataset="fourier_torus", n=10, seed=4)).subset(np.arange(9))
    order = [3, 0, 8, 1, 7, 2, 6, 4, 5]  # written out of order, named so that file-name order is 0..8
    with zipfile.ZipFile(tmp_path / "frames.zip", "w") as zf:
        for i in order:
            p = tmp_path / f"frame_{i:02d}.png"
            Image.fromarray(ds.images[i]).save(p)
            zf.write(p, p.name)
    codes = tmp_path / "codes.npy"
    assert main(["encode", "--run", run_dir, "--input", str(tmp_path / "frames.zip"), "--out", str(codes)]) == 0
    model = load_run(run_dir).model
    np.testing.assert_allclose(np.load(codes), model.encode(ds.X), atol=1e-6)
    out = tmp_path / "decoded"
    assert main(["decode", "--run", run_dir, "--input", str(codes), "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"{i:06d}.png" for i in range(9)]
    want = np.round(255 * np.clip(model.decode(np.load(codes)), 0, 1)).astype(np.uint8).reshape(9, 32, 32)
    got = np.stack([np.asarray(Image.open(out / f)) for f in files])
    np.testing.assert_array_equal(got, want)
    # A second decode into the same folder is refused without --overwrite, and the PNGs stay.
    assert main(["decode", "--run", run_dir, "--input", str(codes), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and len(list(out.iterdir())) == 9


# -- cluster-conditional sampling ------------------------------------------------------------------------------


def _blobs(rng, per=200):
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.standard_normal((per, 2)) for c in centres])
    return X, np.repeat(np.arange(3), per), centres


def test_class_retention_is_one_for_walks_that_stay_and_chance_for_walks_that_forget():
    rng = np.random.default_rng(0)
    X, y, centres = _blobs(rng)
    starts = np.repeat(np.arange(3), 100)
    stay = np.stack([centres[starts] + rng.standard_normal((300, 2)) for _ in range(4)])
    out = walk_class_retention(stay, starts, X, y)
    np.testing.assert_array_equal(out["per_step"], np.ones(4))
    assert out["chance"] == pytest.approx(1 / 3)
    forget = np.stack([centres[starts]] + [X[rng.integers(0, len(X), 300)] for _ in range(5)])
    out = walk_class_retention(forget, starts, X, y)
    assert out["per_step"][0] == 1.0
    # Each later step keeps the class with probability 1/3: 300 walkers, 4 binomial sds is 0.11.
    assert np.all(np.abs(out["per_step"][1:] - 1 / 3) < 0.11)


def test_class_conditional_walks_start_per_class_on_points_of_that_class():
    from vdae_core.pipeline.sampling import class_conditional_walks

    class Still:  # a "model" whose walk stays put: the starts are what we check
        def random_walk(self, x0, steps, generator):
            return np.repeat(x0[None], steps + 1, axis=0)

    rng = np.random.default_rng(1)
    X, y, _ = _blobs(rng, per=7)
    walk, labels = class_conditional_walks(Still(), X, y, per_class=5, steps=3, seed=2)
    assert walk.shape == (4, 15, 2) and np.bincount(labels).tolist() == [5, 5, 5]
    rows = [np.flatnonzero((X == p).all(1))[0] for p in walk[0]]
    np.testing.assert_array_equal(y[rows], labels)
    with pytest.raises(UserInputError, match="labels for"):
        class_conditional_walks(Still(), X, y[:-1])


# -- SpectralNet's graph on principal components --------------------------------------------------------------


def test_affinity_pca_builds_the_graph_in_principal_components_and_survives_a_save(tmp_path):
    from vdae_core.api import load_run, save_run
    from vdae_core.pipeline.build import build_model
    from vdae_core.pipeline.train import finish, start

    ds = make_dataset(DataConfig(dataset="fourier_torus", n=60, seed=0))
    m = build_model("vdae", {"device": "cpu", "affinity_pca": 8}, ds)
    m.prepare(ds.X)
    B = m.psi.affinity_basis
    assert B.shape == (8, 1024)
    np.testing.assert_allclose((B @ B.T).numpy(), np.eye(8), atol=1e-5)
    x = torch.as_tensor(ds.X[:5])
    np.testing.assert_allclose(m.psi.affinity_coords(x).numpy(), (m.psi.standardise(x) @ B.T).numpy(), atol=1e-6)
    assert build_model("vdae", {"device": "cpu"}, ds).psi.affinity_basis.numel() == 0
    tiny = {"device": "cpu", "affinity_pca": 8, "spectral_steps": 3, "vae_steps": 3, "hidden": 16, "depth": 1}
    tr = start("vdae", DataConfig(dataset="fourier_torus", n=60, seed=0), tiny, seed=0, dataset=ds)
    tr.run()
    back = load_run(save_run(finish(tr), str(tmp_path / "run")))
    np.testing.assert_array_equal(back.model.psi.affinity_basis.numpy(), tr.model.psi.affinity_basis.numpy())


def test_a_planar_loop_has_the_same_graph_on_its_two_principal_components():
    # The circle lies in a plane of R³: its first two principal components keep every distance, so the
    # SpectralNet loss is the same whether the graph is built on them or on the points.
    from vdae_core.pipeline.build import build_model

    ds = make_dataset(DataConfig(dataset="circle", n=300, seed=0))
    a = build_model("vdae", {"device": "cpu"}, ds, seed=1)
    b = build_model("vdae", {"device": "cpu", "affinity_pca": 2}, ds, seed=1)
    a.prepare(ds.X)
    b.prepare(ds.X)
    x = torch.as_tensor(ds.X[:200])
    la, lb = a.psi.batch_loss(x, 10)[0], b.psi.batch_loss(x, 10)[0]
    assert float(la.detach()) == pytest.approx(float(lb.detach()), rel=1e-4)


def test_cli_reads_a_turntable_folder_whose_file_order_is_an_angle(tmp_path):
    from PIL import Image

    from vdae_core.cli import main

    frames = tmp_path / "spin"
    frames.mkdir()
    ds = make_dataset(DataConfig(dataset="turntable", n=24, seed=0))
    for i, im in enumerate(ds.images):
        Image.fromarray(im).save(frames / f"v{i:03d}.png")
    for order, want_name, want in (("circle", "angle (file order)", TWO_PI * np.arange(24) / 24),
                                   ("line", "frame", np.arange(24.0))):
        out = tmp_path / f"{order}.npz"
        assert main(["data", "--dataset", str(frames), "--order", order, "--n", "24", "--out", str(out)]) == 0
        with np.load(out) as z:
            assert z["param_names"].tolist() == [want_name]
            np.testing.assert_allclose(z["params"][:, 0], want)


def test_colour_folders_load_as_rgb_and_grey_ones_as_grayscale_through_data_encode_and_decode(tmp_path):
    from PIL import Image

    from vdae_core.api import load_run
    from vdae_core.cli import main
    from vdae_core.data.images import images_as_points, load_image_collection

    ds = make_dataset(DataConfig(dataset="turntable_rgb", n=10, seed=1))
    col, grey = tmp_path / "col", tmp_path / "grey"
    col.mkdir()
    grey.mkdir()
    for i, im in enumerate(ds.images):
        Image.fromarray(im).save(col / f"v{i}.png")
        Image.fromarray(im).convert("L").convert("RGB").save(grey / f"v{i}.png")  # RGB file, no colour in it
    c = load_image_collection(str(col), 10, 0)
    assert c.data_shape == (3, 32, 32) and "RGB" in c.source
    np.testing.assert_array_equal(c.images, ds.images)  # exact: same size, no resampling
    g = load_image_collection(str(grey), 10, 0)
    assert g.data_shape == (1, 32, 32) and "grayscale" in g.source
    luma = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in ds.images])
    np.testing.assert_array_equal(g.images, luma)
    # A grayscale model reads a colour folder by its luma; an RGB model reads a grey folder as three equal channels.
    np.testing.assert_array_equal(images_as_points(str(col), (1, 32, 32))[0], luma.reshape(10, -1) / np.float32(255))
    X3 = images_as_points(str(grey), (3, 32, 32))[0].reshape(10, 3, 32, 32)
    assert (X3[:, 0] == X3[:, 1]).all() and (X3[:, 1] == X3[:, 2]).all()
    # The CLI end to end on colour: train, encode the folder, decode to RGB PNGs.
    run_dir = str(tmp_path / "run")
    assert main(["train", "--dataset", "turntable_rgb", "--n", "40", "--model", "beta_vae", "--steps-scale", "0.01",
                 "--quiet", "--out", run_dir]) == 0
    model = load_run(run_dir).model
    assert model.data_shape == (3, 32, 32)
    codes, out = tmp_path / "codes.npy", tmp_path / "decoded"
    assert main(["encode", "--run", run_dir, "--input", str(col), "--out", str(codes)]) == 0
    np.testing.assert_allclose(np.load(codes), model.encode(ds.X), atol=1e-6)
    assert main(["decode", "--run", run_dir, "--input", str(codes), "--out", str(out)]) == 0
    got = np.stack([np.asarray(Image.open(out / f"{i:06d}.png")) for i in range(10)])
    want = images_from_points(np.round(255 * np.clip(model.decode(np.load(codes)), 0, 1)), (3, 32, 32))
    np.testing.assert_array_equal(got, want.astype(np.uint8))

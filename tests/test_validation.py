"""Issue 12 §3 and §4: one validation layer for user values and arrays, and loaders that say what they change.

One test per class of bad input, with the files made here; each asserts the refusal and its message (a
clean `error:` line in the CLI), or the exact value a loader now produces where it used to change data
silently (16-bit images: [0, 1000, 30000, 65535] → [0, 4, 117, 255], not [0, 255, 255, 255]).
"""
import io
import zipfile

import numpy as np
import pytest

from vdae_core.cli import main
from vdae_core.data import DataConfig
from vdae_core.foundation.errors import UserInputError
from vdae_core.models.vae import BetaVAEConfig
from vdae_core.models.vdae import VDAEConfig
from vdae_core.foundation.validation import check_array


@pytest.mark.parametrize("field,value,fragment", [
    ("hidden", "abc", "must be a whole number"),
    ("hidden", 3.5, "must be a whole number"),
    ("hidden", True, "must be a whole number"),
    ("hidden", [1, 2], "must be a whole number"),
    ("hidden", {"a": 1}, "must be a whole number"),
    ("hidden", None, "needs a value"),
    ("lr", "fast", "must be a number"),
    ("lr", float("inf"), "finite"),
    ("lr", float("nan"), "finite"),
    ("decoder_input", 3, "must be a string"),
])
def test_config_values_of_the_wrong_type_are_refused_by_name(field, value, fragment):
    with pytest.raises(UserInputError, match=fragment) as e:
        VDAEConfig(**{field: value})
    assert field in str(e.value)


def test_whole_floats_become_ints_and_ints_become_floats():
    c = VDAEConfig(hidden=64.0, lr=1, vae_steps=1e3)
    assert (c.hidden, c.vae_steps) == (64, 1000) and type(c.hidden) is int and type(c.lr) is float
    assert BetaVAEConfig.from_dict({"beta": 2}).beta == 2.0


@pytest.mark.parametrize("a,fragment", [
    (np.array([[1 + 2j, 3.0]] * 30), "complex"),
    ([["a", "b"]] * 30, "not numeric"),
    ([[1.0, 2.0], [3.0]], "rectangular"),
    (np.array([[1e300, 1.0]] * 30), "float32"),
    (np.zeros(3), "2-D"),
    (np.zeros((0, 2)), "empty"),
    (np.array([[np.nan, 1.0]] * 30), "NaN"),
    (np.ones((30, 2)), "distinct"),
])
def test_check_array_refuses_each_kind_of_bad_array(a, fragment):
    with pytest.raises(UserInputError, match=fragment):
        check_array(a, "points", min_distinct=2)


def test_check_array_accepts_and_casts():
    out = check_array([[1, 2], [3, 4]], "points", width=2)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert check_array(np.array([1.0, 2.0]), "start", width=2, allow_vector=True).shape == (1, 2)
    with pytest.raises(UserInputError, match=r"expected shape \(n, 3\)"):
        check_array([[1, 2]], "codes", width=3)


def _err(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusal: one usage line and one error line, exit 2
        code = e.code
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("extra,fragment", [
    (["--steps-scale", "nan"], "--steps-scale must be a number above 0"),
    (["--steps-scale", "inf"], "--steps-scale must be a number above 0"),
    (["--steps-scale", "0"], "--steps-scale must be a number above 0"),
    (["--steps-scale", "-1"], "--steps-scale must be a number above 0"),
    (["--seed", str(2**64)], "--seed must be a whole number from 0"),
    (["--seed", "-1"], "--seed must be a whole number from 0"),
    (["--n", "2.5"], "--n must be a whole number"),
    (["--set", "hidden=abc"], "hidden must be a whole number"),
    (["--set", "lr=null"], "lr needs a value"),
    (["--set", "beta=[1,2]"], "beta must be a number"),
    (["--set", "beta=true"], "beta must be a number"),
])
def test_cli_refuses_bad_values_before_training_in_one_line(capsys, tmp_path, extra, fragment):
    code, err = _err(capsys, ["train", "--dataset", "circle", "--n", "200", "--model", "beta_vae",
                              "--out", str(tmp_path / "r"), *extra])
    assert code == 2 and fragment in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_sample_refuses_an_absurd_size_with_the_memory_it_needs(capsys, tmp_path, tiny_vdae):
    from vdae_core.pipeline.runs import save_run
    from vdae_core.pipeline.train import train_run

    run = train_run("beta_vae", DataConfig(dataset="circle", n=200), {"steps": 5}, seed=0, device="cpu")
    save_run(run, str(tmp_path / "r"))
    code, err = _err(capsys, ["sample", "--run", str(tmp_path / "r"), "--n", "1e8", "--out", str(tmp_path / "w")])
    assert code == 2 and "GiB" in err and "ask for fewer" in err
    code, err = _err(capsys, ["sample", "--run", str(tmp_path / "r"), "--start", "5000", "--out", str(tmp_path / "w")])
    assert code == 2 and "not a training point" in err
    assert run.info["cpu_threads"] >= 1  # the thread count is part of the run's recorded settings


def test_repeated_points_are_refused_before_training(tmp_path, capsys):
    np.save(tmp_path / "dup.npy", np.tile([[1.0, 2.0, 3.0]], (500, 1)))
    code, err = _err(capsys, ["train", "--dataset", str(tmp_path / "dup.npy"), "--model", "beta_vae",
                              "--out", str(tmp_path / "r")])
    assert code == 2 and "only 1 distinct points among its 500" in err


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    from PIL import Image

    from vdae_core.data.images import _decode_image

    buf = io.BytesIO()
    Image.fromarray(np.array([[0, 1000], [30000, 65535]], dtype=np.uint16)).save(buf, format="PNG")
    got = _decode_image(buf.getvalue(), "x.png")  # RGB with three equal channels
    for ch in range(3):
        np.testing.assert_array_equal(got[..., ch], [[0, 4], [117, 255]])


def test_huge_images_zip_bombs_and_folders_named_like_images(tmp_path):
    from PIL import Image

    from vdae_core.data.images import load_image_collection

    big = tmp_path / "big"
    big.mkdir()
    for i in range(2):  # 48 megapixels of 1-bit pixels: a small file, refused before decoding
        Image.new("1", (8000, 6000)).save(big / f"b{i}.png")
    with pytest.raises(UserInputError, match="megapixels"):
        load_image_collection(str(big), 10, 0)

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:  # 200 MB of zeros in a 200 kB zip
        z.writestr("a.png", b"\0" * (200 * 1024**2))
        z.writestr("b.png", b"\0" * 10)
    assert bomb.stat().st_size < 1024**2
    with pytest.raises(UserInputError, match="larger than 64 MB"):
        load_image_collection(str(bomb), 10, 0)

    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "folder.png").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(ok / f"i{i}.png")
    ds = load_image_collection(str(ok), 10, 0)
    assert ds.X.shape == (3, 64) and "skipped 1 folder(s) named like images: folder.png" in ds.source


@pytest.mark.parametrize("text,fragment", [
    ("v 0 0 0\nv 1 0 0\nv nan 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 2 3 4\n", "1 of 4 mesh vertices contain NaN"),
    ("v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n", "lie on a line"),
    ("v 0 0 0\nv 1 0 0\nv 2 1e-9 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n", "lie on a line"),
])
def test_broken_meshes_are_refused_not_silently_repaired(tmp_path, text, fragment):
    from vdae_core.data.meshes import load_mesh

    (tmp_path / "m.obj").write_text(text)
    with pytest.raises(UserInputError, match=fragment):
        load_mesh(str(tmp_path / "m.obj"))


def test_a_flat_but_two_dimensional_mesh_is_a_surface(tmp_path):
    from vdae_core.data.meshes import load_mesh

    (tmp_path / "sq.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n")
    assert load_mesh(str(tmp_path / "sq.obj")).vertices.shape == (4, 3)


def test_atomic_writes_give_ordinary_files(tmp_path):
    """Review finding: mkstemp's 0600 leaked into every file written atomically (metric caches, CLI outputs)."""
    import os

    from vdae_core.foundation.files import _UMASK, write_json_atomic

    write_json_atomic(str(tmp_path / "m.json"), {"a": 1})
    assert os.stat(tmp_path / "m.json").st_mode & 0o777 == 0o666 & ~_UMASK
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary left behind

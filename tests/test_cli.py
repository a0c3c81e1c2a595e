"""The CLI contract of DESIGN.md: a round trip in a temp dir, and one-line errors for bad input."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vdae_core.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--set", "spectral_steps=30", "--set", "vae_steps=40", "--set", "hidden=32", "--set", "depth=2",
        "--set", "spectral_batch=256", "--set", "batch_size=128"]


def cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": ROOT, "VDAE_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "vdae_core", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_round_trip(tmp_path, monkeypatch, capsys):
    """list, data, train and evaluate as separate processes (the shell contract); sample, encode and decode
    through main() in this process (the same parser and code, without three more torch imports)."""
    r = cli("list", cwd=tmp_path)
    assert r.returncode == 0 and "torus" in r.stdout and "vdae" in r.stdout and "device:" in r.stdout
    r = cli("data", "--dataset", "torus", "--n", "500", "--seed", "0", "--out", "torus.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    z = np.load(tmp_path / "torus.npz")
    assert z["X"].shape == (500, 3) and z["params"].shape == (500, 2)
    r = cli("train", "--dataset", "circle", "--n", "300", "--model", "vdae", "--seed", "0", *TINY, "--quiet",
            "--out", "runs/t1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "runs/t1")) == ["data.npz", "history.json", "run.json", "weights.pt"]
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--run", "runs/t1", "--n", "50", "--steps", "6", "--start", "3", "--out", "walk.npz"]) == 0
    walk = np.load(tmp_path / "walk.npz")["walk"]
    X = np.load(tmp_path / "runs/t1/data.npz")["X"]
    assert walk.shape == (7, 50, 3)
    np.testing.assert_array_equal(walk[0], np.repeat(X[3:4], 50, 0))  # --start I: every walker at point I
    np.save(tmp_path / "pts.npy", X[:20])
    assert main(["encode", "--run", "runs/t1", "--input", "pts.npy", "--out", "z.npy"]) == 0
    zc = np.load(tmp_path / "z.npy")
    assert zc.shape == (20, 2)
    assert main(["decode", "--run", "runs/t1", "--input", "z.npy", "--out", "x.npy"]) == 0
    assert np.load(tmp_path / "x.npy").shape == (20, 3)
    # An output name without numpy's extension: the message names the file actually written.
    capsys.readouterr()
    assert main(["decode", "--run", "runs/t1", "--input", "z.npy", "--out", "x_out"]) == 0
    assert "wrote x_out.npy" in capsys.readouterr().out and (tmp_path / "x_out.npy").exists()
    r = cli("evaluate", "--run", "runs/t1", "--n", "200", "--out", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    for key in ("gw", "gw_floor", "mmd2_h20", "mmd2_h20_floor_sd", "memorisation", "memorisation_flagged",
                "lump_top10", "coverage", "bilip_median", "bilip_mean", "bilip_scale_free_median", "trustworthiness"):
        assert key in m
    assert "fresh samples" in m["reference"]
    assert np.load(tmp_path / "m_bilip.npy").shape == (200,)


def test_every_subcommand_has_help(capsys):
    for sub in ("list", "data", "train", "sample", "encode", "decode", "evaluate", "compare"):
        with pytest.raises(SystemExit) as e:
            main([sub, "--help"])
        assert e.value.code == 0
        assert "usage" in capsys.readouterr().out


def _err(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.fixture
def bad_files(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0]] * 10))
    (tmp_path / "bad.csv").write_text("1,2\nfoo,bar\n")
    (tmp_path / "junk.ply").write_text("this is not a mesh")
    np.save(tmp_path / "few.npy", np.random.default_rng(0).normal(size=(12, 3)))
    np.save(tmp_path / "ok.npy", np.random.default_rng(0).normal(size=(100, 3)))
    return tmp_path


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--dataset", "nope", "--out", "{d}/r"], "unknown dataset 'nope'"),
    (["train", "--dataset", "circle", "--model", "gan9000", "--out", "{d}/r"], "unknown model 'gan9000'"),
    (["train", "--dataset", "{d}/missing.npy", "--out", "{d}/r"], "not found"),
    (["train", "--dataset", "{d}/bad.csv", "--out", "{d}/r"], "not numeric"),
    (["train", "--dataset", "{d}/junk.ply", "--out", "{d}/r"], "junk.ply"),
    (["train", "--dataset", "{d}/nan.npy", "--out", "{d}/r"], "NaN"),
    (["train", "--dataset", "{d}/few.npy", "--out", "{d}/r"], "at least 21 are needed"),
    (["train", "--dataset", "{d}/ok.npy", "--set", "latent_dim=200", "--out", "{d}/r"], "too large"),
    (["train", "--dataset", "circle", "--n", "100", "--device", "tpu", "--out", "{d}/r"], "device='tpu' is not one of"),
    (["train", "--dataset", "circle", "--set", "alpha=-3", "--out", "{d}/r"], "below its minimum"),
    (["train", "--dataset", "circle", "--set", "alpha", "--out", "{d}/r"], "key=value"),
    (["sample", "--run", "{d}/no_run", "--out", "{d}/w.npz"], "run folder not found"),
    (["data", "--dataset", "circle", "--out", "{d}/no/such/dir/x.npz"], "output folder does not exist"),
])
def test_bad_input_is_one_line(bad_files, capsys, argv, fragment):
    argv = [a.format(d=bad_files) for a in argv]
    code, err = _err(capsys, argv)
    assert code == 2
    assert err.startswith("error: ") and fragment in err
    assert "\n" not in err and "Traceback" not in err


def test_impossible_cuda_device(capsys, tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, err = _err(capsys, ["train", "--dataset", "circle", "--n", "100", "--device", "cuda",
                              "--out", str(tmp_path / "r")])
    assert code == 2 and "no CUDA GPU" in err

"""Run folders are written atomically, never overwritten silently, and validated on load (issue 12, part 2).

Failures are injected at each stage of a save (while writing the files, at the final rename) and the
previous run must come out bit-identical; damaged folders must give one ``error:`` line, never a
traceback or an all-NaN result.
"""
import dataclasses
import errno
import json
import os

import numpy as np
import pytest
import torch

from vdae_core.cli import main
from vdae_core.data import DataConfig
from vdae_core.foundation.errors import UserInputError
from vdae_core.pipeline.runs import load_run, save_run
from vdae_core.pipeline.train import train_run

TINY = dict(spectral_steps=5, vae_steps=5, hidden=16, depth=1, spectral_batch=128, batch_size=64, latent_dim=2)
TINY_CLI = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]


@pytest.fixture(scope="module")
def runs():
    """Two different tiny runs (seeds 0 and 1)."""
    return [train_run("vdae", DataConfig(dataset="circle", n=150, seed=s), TINY, seed=s, device="cpu") for s in (0, 1)]


def weights(path):
    return torch.load(os.path.join(path, "weights.pt"), weights_only=True)


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_save_refuses_to_overwrite_without_permission_and_replaces_with_it(runs, tmp_path):
    p = str(tmp_path / "r")
    save_run(runs[0], p)
    w0 = weights(p)
    with pytest.raises(UserInputError, match="already holds a run"):
        save_run(runs[1], p)
    assert same_weights(weights(p), w0)
    save_run(runs[1], p, overwrite=True)
    assert json.load(open(os.path.join(p, "run.json")))["seed"] == 1
    assert not same_weights(weights(p), w0)
    assert sorted(os.listdir(tmp_path)) == ["r"]  # no temporary or backup folders left behind


@pytest.mark.parametrize("stage", ["writing", "rename"])
def test_a_failed_overwrite_leaves_the_old_run_intact(runs, tmp_path, monkeypatch, stage):
    p = str(tmp_path / "r")
    save_run(runs[0], p)
    w0, meta0 = weights(p), open(os.path.join(p, "run.json")).read()
    if stage == "writing":  # the disk fills up after the weights are written
        real = np.savez_compressed

        def full(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(np, "savez_compressed", full)
    else:  # the final rename of the new folder fails (after the old one was moved aside)
        real_rename = os.rename

        def flaky(src, dst):
            if ".partial-" in str(src):
                raise OSError(errno.EIO, "Input/output error")
            return real_rename(src, dst)

        monkeypatch.setattr(os, "rename", flaky)
    with pytest.raises(UserInputError, match="nothing was changed"):
        save_run(runs[1], p, overwrite=True)
    monkeypatch.undo()
    assert same_weights(weights(p), w0) and open(os.path.join(p, "run.json")).read() == meta0
    assert sorted(os.listdir(tmp_path)) == ["r"]
    load_run(p)


def test_a_kill_mid_save_leaves_no_visible_half_run(runs, tmp_path, monkeypatch):
    """A save interrupted inside the temporary folder (as SIGKILL would leave it) is invisible to listings."""
    from vdae_core.pipeline.run_index import list_run_infos
    from vdae_core.pipeline.runs import list_runs

    p = str(tmp_path / "r")

    def killed(*a, **k):
        raise KeyboardInterrupt  # stands for the process dying here; the temp folder is cleaned up on the way out

    monkeypatch.setattr(np, "savez_compressed", killed)
    with pytest.raises(KeyboardInterrupt):
        save_run(runs[0], p)
    monkeypatch.undo()
    assert not os.path.exists(p) and os.listdir(tmp_path) == []
    # a real SIGKILL cannot clean up: its hidden temporary folder must never be listed as a run
    save_run(runs[0], p)
    os.rename(p, str(tmp_path / ".r.partial-abc"))
    assert list_runs(str(tmp_path)) == [] and list_run_infos(str(tmp_path)) == []


def test_train_checks_out_before_training(tmp_path, capsys, monkeypatch):
    """A bad --out fails in well under a second, before any training, with one error line."""
    import time

    from vdae_core.pipeline import train as train_mod

    called = []
    monkeypatch.setattr(train_mod, "train_run", lambda *a, **k: called.append(1))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    cases = [(str(tmp_path / "afile"), "is a file"), (str(tmp_path / "stuff"), "other files in it"),
             (str(tmp_path / "afile" / "r"), "is a file, not a folder")]
    for out, msg in cases:
        t = time.perf_counter()
        assert main(["train", "--dataset", "circle", "--n", "100", "--out", out, *TINY_CLI]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err and time.perf_counter() - t < 5, err
    assert (tmp_path / "stuff" / "notes.txt").read_text() == "mine" and not called

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    import tempfile

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    assert main(["train", "--dataset", "circle", "--n", "100", "--out", str(tmp_path / "new"), *TINY_CLI]) == 2
    assert "cannot write to" in capsys.readouterr().err and not called


def test_cli_train_overwrite_flag(tmp_path, capsys):
    out = str(tmp_path / "r")
    args = ["train", "--dataset", "circle", "--n", "150", "--quiet", "--out", out, *TINY_CLI]
    assert main(args) == 0
    w0 = weights(out)
    assert main(args[:-len(TINY_CLI)] + ["--seed", "1", *TINY_CLI]) == 2
    assert "pass --overwrite" in capsys.readouterr().err and same_weights(weights(out), w0)
    assert main(args + ["--seed", "1", "--overwrite"]) == 0
    assert not same_weights(weights(out), w0)


def test_file_outputs_are_checked_first(runs, tmp_path, capsys):
    run_dir = str(tmp_path / "r")
    save_run(runs[0], run_dir)
    (tmp_path / "w.npz").write_bytes(b"keep me")
    for out, msg in ((str(tmp_path) + "/", "is a folder"), (str(tmp_path / "r"), "is a folder"),
                     (str(tmp_path / "w.npz"), "already exists")):
        assert main(["sample", "--run", run_dir, "--n", "5", "--steps", "2", "--out", out]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, err
    assert (tmp_path / "w.npz").read_bytes() == b"keep me"
    assert main(["sample", "--run", run_dir, "--n", "5", "--steps", "2", "--out", str(tmp_path / "w.npz"),
                 "--overwrite"]) == 0
    assert np.load(tmp_path / "w.npz")["walk"].shape == (3, 5, 3)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".")] == []


#: Every kind of damage a run folder is tested against (also used by benchmarks/bad_inputs.py).
DAMAGES = ("no model key", "not an object", "unknown model", "wrong types", "bad config", "data of another width",
           "nan weights", "truncated weights", "missing history", "missing weights", "no run.json")


def _damage(path, how):
    """Damage the run folder ``path`` in the way ``how`` (one of :data:`DAMAGES`)."""
    meta_path = os.path.join(path, "run.json")
    meta = json.load(open(meta_path))
    if how == "no model key":
        del meta["model"]
    elif how == "not an object":
        meta = [1, 2, 3]
    elif how == "unknown model":
        meta["model"] = "gan9000"
    elif how == "wrong types":
        meta["latent_dim"] = "two"
    elif how == "bad config":
        meta["model_config"]["hidden"] = -5
    elif how == "data of another width":
        z = dict(np.load(os.path.join(path, "data.npz")))
        z["X"] = np.c_[z["X"], z["X"][:, :1]]
        np.savez_compressed(os.path.join(path, "data.npz"), **z)
    elif how == "nan weights":
        w = weights(path)
        k = next(k for k, v in w.items() if v.is_floating_point() and v.numel() > 1)
        w[k][0] = float("nan")
        torch.save(w, os.path.join(path, "weights.pt"))
    elif how == "truncated weights":
        with open(os.path.join(path, "weights.pt"), "r+b") as fh:
            fh.truncate(100)
    elif how == "missing history":
        os.remove(os.path.join(path, "history.json"))
    elif how == "missing weights":
        os.remove(os.path.join(path, "weights.pt"))
    if how == "no run.json":
        os.remove(meta_path)
        return
    with open(meta_path, "w") as fh:
        json.dump(meta, fh)


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_run_folders_are_refused_with_one_line(runs, tmp_path, capsys, how):
    p = str(tmp_path / "r")
    save_run(runs[0], p)
    _damage(p, how)
    with pytest.raises(UserInputError):
        load_run(p)
    assert main(["sample", "--run", p, "--n", "5", "--steps", "2", "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "w.npz").exists()


def test_a_run_json_that_is_not_an_object_is_not_listed(runs, tmp_path):
    """The app's run index skips such a folder (it used to crash every analysis page)."""
    from vdae_core.pipeline.run_index import list_run_infos, read_run_info

    p = str(tmp_path / "r")
    save_run(runs[0], p)
    _damage(p, "not an object")
    assert read_run_info(p) is None and list_run_infos(str(tmp_path)) == []


def test_run_labels_tell_runs_of_the_same_selection_apart_by_what_differs():
    """Issue 28: two runs of beta_vae · circle · seed 0 differ in latent size and steps; a third has the
    same settings as the second (only the time tells them apart); a run of another selection gets no
    settings in its label."""
    from vdae_core.pipeline.run_index import RunInfo, run_differences, run_labels

    def info(name, latent, steps, saved, dataset="circle", preset="Quick"):
        return RunInfo(path=f"/r/{name}", model="beta_vae", dataset=dataset, seed=0, latent_dim=latent, n=2000,
                       saved=saved, train_seconds=1.0, device="cpu", stopped_early=False, mtime=0.0,
                       settings=(("beta", "1"), ("steps", str(steps))), preset=preset)

    runs = [info("a", 2, 300, "2026-12-07 10:00:00"), info("b", 1, 600, "2026-12-07 10:05:00"),
            info("c", 1, 600, "2026-12-07 10:06:00"), info("d", 3, 900, "2026-12-07 10:07:00", dataset="torus")]
    diffs = run_differences(runs)
    assert diffs == {"/r/a": "latent_dim 2 · steps 300", "/r/b": "latent_dim 1 · steps 600",
                     "/r/c": "latent_dim 1 · steps 600", "/r/d": ""}
    labels = run_labels(runs)
    assert labels["/r/a"] == "beta_vae · circle · seed 0 · latent_dim 2 · steps 300 · 2026-12-07 10:00:00"
    assert labels["/r/d"] == "beta_vae · torus · seed 0 · 2026-12-07 10:07:00"
    assert len(set(labels.values())) == len(runs)  # every run named uniquely
    # a setting an older run does not record is no difference; the same settings in the same second get the id
    old = RunInfo(path="/r/old_9f3a", model="beta_vae", dataset="torus", seed=0, latent_dim=3, n=2000,
                  saved="2026-12-07 10:07:00", train_seconds=1.0, device="cpu", stopped_early=False, mtime=0.0,
                  settings=(("beta", "1"),), preset="Quick")
    assert run_differences(runs + [old])["/r/old_9f3a"] == run_differences(runs + [old])["/r/d"] == ""
    both = run_labels(runs + [old])                      # same saved second as d: the folders' ids decide
    assert both["/r/old_9f3a"].endswith(" · 9f3a") and both["/r/old_9f3a"] != both["/r/d"]
    twin = dataclasses.replace(runs[2], path="/r/c_b7e1")
    labels = run_labels(runs + [twin])
    assert len(set(labels.values())) == len(runs) + 1 and labels["/r/c_b7e1"].endswith(" · b7e1")
    # a preset that differs is named (before the config fields)
    runs[1] = info("b", 1, 600, "2026-12-07 10:05:00", preset="Paper")
    assert run_differences(runs)["/r/b"] == "latent_dim 1 · preset Paper · steps 600"


def test_a_saved_run_records_its_settings_and_preset(tmp_path):
    from vdae_core.api import DataConfig, save_run, train_run
    from vdae_core.pipeline.run_index import read_run_info
    from vdae_core.pipeline.train import finish, start

    trainer = start("beta_vae", DataConfig(dataset="circle", n=200, seed=0), dict(steps=3, latent_dim=1), seed=0)
    trainer.run()
    info = read_run_info(save_run(finish(trainer, preset="Quick"), str(tmp_path / "r")))
    assert info.preset == "Quick" and info.latent_dim == 1
    assert dict(info.settings)["steps"] == "3" and "latent_dim" not in dict(info.settings)
    cli = read_run_info(save_run(train_run("beta_vae", DataConfig(dataset="circle", n=200), dict(steps=3)),
                                 str(tmp_path / "s")))
    assert cli.preset == "" and "preset" not in cli.described()

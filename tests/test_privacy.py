"""One browser never sees another's uploads or the runs trained on them (issue 12, part 1).

Each ``AppTest`` is a fresh browser session with no cookie, so each gets its own owner id. Session A
uploads ``data.csv`` and trains on it; session B uploads a *different* ``data.csv``; session C uploads
nothing. B and C must never list, open or download A's run.
"""
import json
import os
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app.py")
TIMEOUT = 120


def csv_bytes(seed: int) -> bytes:
    t = np.random.default_rng(seed).uniform(0, 2 * np.pi, 80)
    X = np.c_[np.cos(t), np.sin(t), 0.1 * np.random.default_rng(seed + 1).normal(size=80)]
    return "\n".join(",".join(f"{v:.6f}" for v in row) for row in X).encode()


@pytest.fixture
def env(tmp_path, monkeypatch):
    from vdae_core.api import DataConfig, save_run, train_run

    runs, uploads = tmp_path / "runs", tmp_path / "uploads"
    run = train_run("vdae", DataConfig(dataset="circle", n=200, seed=0),
                    dict(spectral_steps=5, vae_steps=5, hidden=16, depth=1, spectral_batch=128, batch_size=64,
                         latent_dim=2), seed=0, device="cpu")
    save_run(run, str(runs / "circle_shared"))  # a shared run (no owner), e.g. made with the CLI
    monkeypatch.setenv("VDAE_RUNS_DIR", str(runs))
    monkeypatch.setenv("VDAE_UPLOADS_DIR", str(uploads))
    return runs, uploads


def session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at, page):
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at, name, content):
    goto(at, "data")
    next(r for r in at.radio if r.label == "Source").set_value("Upload a file").run()
    at.file_uploader(key="w.upload").upload(name, content, "text/csv").run()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"] == name


def train_tiny(at):
    goto(at, "train")
    at.radio(key="train.preset").set_value("defaults").run()
    for name, v in (("spectral_steps", 5), ("vae_steps", 5), ("hidden", 16), ("latent_dim", 2), ("knn", 8),
                    ("spectral_batch", 64), ("batch_size", 32), ("cov_k", 8)):
        at.number_input(key=f"cfg.vdae.defaults.{name}").set_value(v)
    at.button[-1].click()
    at.run()
    for _ in range(600):
        job = at.session_state["_job"]
        if not job.active:
            break
        time.sleep(0.1)
        at.run()
    job = at.session_state["_job"]
    assert job.status == "done", job.message
    at.run()
    return job.run_path


def all_text(at):
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error")
                     for e in getattr(at, kind))


def test_upload_runs_are_private_to_the_uploading_browser(env):
    runs, uploads = env
    a = session()
    upload(a, "data.csv", csv_bytes(0))
    a_run = train_tiny(a)
    meta = json.load(open(os.path.join(a_run, "run.json")))
    assert meta["owner"] == a.session_state["_owner"] and len(meta["data_hash"]) == 64
    assert a.session_state["run_path"] == a_run

    # B uploads a different file under the same name: it is not shown A's run as its own.
    b = session()
    assert b.session_state["_owner"] != a.session_state["_owner"]
    upload(b, "data.csv", csv_bytes(7))
    assert b.session_state["run_path"] != a_run
    goto(b, "latent")
    assert "No saved run for" in all_text(b)
    picker = next(s for s in b.sidebar.selectbox if s.label == "Active run")
    assert len(picker.options) == 2 and not any("data.csv" in str(o) for o in picker.options), picker.options

    # C (no upload): Home lists the shared run but not A's, and offers no download of A's.
    c = session()
    reopen = next(s for s in c.selectbox if s.label == "Reopen")
    assert len(reopen.options) == 1 and "circle" in reopen.options[0], reopen.options
    assert os.path.basename(a_run) not in all_text(c) + str([d.value for d in c.dataframe])
    # a forged request for A's run (as a link or a stale state would make) is refused with a message
    c.session_state["_pending_run"] = a_run
    c.run()
    assert c.session_state["run_path"] != a_run
    assert any("not available" in w.value for w in c.warning)

    # the same points under another file name are the same dataset for A: its run is found by content
    upload(a, "renamed.csv", csv_bytes(0))
    assert a.session_state["run_path"] == a_run

    # each browser's uploads sit in its own folder
    owners = sorted(os.listdir(uploads))
    assert owners == sorted({a.session_state["_owner"], b.session_state["_owner"]})


def test_rejected_uploads_are_deleted(env):
    _, uploads = env
    at = session()
    goto(at, "data")
    next(r for r in at.radio if r.label == "Source").set_value("Upload a file").run()
    at.file_uploader(key="w.upload").upload("nan.csv", b"1,2,3\n" * 20 + b"nan,1,2\n", "text/csv").run()
    assert any("NaN" in e.value for e in at.error)
    left = [f for _, _, fs in os.walk(uploads) for f in fs]
    assert left == []


def test_sweep_deletes_old_uploads_and_keeps_the_folder_under_its_cap(tmp_path, monkeypatch):
    from vdae_core.ui import uploads

    monkeypatch.setenv("VDAE_UPLOADS_DIR", str(tmp_path))
    now = time.time()
    made = {}
    for owner, up, age, size in (("a" * 32, "old", 30 * 3600, 10), ("a" * 32, "mid", 3600, 600),
                                 ("b" * 32, "new", 60, 600)):
        d = tmp_path / owner / up
        d.mkdir(parents=True)
        (d / "x.npy").write_bytes(b"0" * size)
        os.utime(d, (now - age, now - age))
        made[up] = str(d)
    deleted = uploads.sweep(now=now, max_age=24 * 3600, cap=1000)
    # the 30-hour-old upload goes for its age; then the least recently used until under 1000 bytes
    assert deleted == [made["old"], made["mid"]]
    assert os.path.isdir(made["new"])


def test_run_listing_and_zip_respect_the_owner(tmp_path):
    from vdae_core.pipeline.run_index import list_run_infos, zip_folder

    for name, owner in (("shared", None), ("mine", "a" * 32), ("theirs", "b" * 32)):
        d = tmp_path / name
        d.mkdir()
        meta = {"model": "vdae", "dataset_name": "x.csv", "seed": 0, "owner": owner, "data_hash": "f" * 64}
        (d / "run.json").write_text(json.dumps(meta))
        (d / "weights.pt").write_bytes(b"")
    names = lambda viewer: sorted(r.name for r in list_run_infos(str(tmp_path), viewer=viewer))  # noqa: E731
    assert names(None) == ["shared"]
    assert names("a" * 32) == ["mine", "shared"]
    assert names("b" * 32) == ["shared", "theirs"]
    # a symlink in a run folder never pulls outside files into the zip
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    os.symlink(secret, tmp_path / "shared" / "link.txt")
    os.symlink(tmp_path / "theirs", tmp_path / "shared" / "dirlink")
    import io
    import zipfile

    names_in_zip = zipfile.ZipFile(io.BytesIO(zip_folder(str(tmp_path / "shared")))).namelist()
    assert sorted(names_in_zip) == ["shared/run.json", "shared/weights.pt"]


def test_dataset_identity_is_its_content():
    from vdae_core.data.base import Dataset

    X = np.random.default_rng(0).normal(size=(20, 3))
    mk = lambda name, X: Dataset(name, X, np.zeros(len(X)), ("p",), (False,), 2, 2)  # noqa: E731
    assert mk("a.csv", X).content_hash == mk("b.csv", X).content_hash
    assert mk("a.csv", X).content_hash != mk("a.csv", X + 1e-3).content_hash
    assert mk("a.csv", X).content_hash != mk("a.csv", X.reshape(30, 2)).content_hash

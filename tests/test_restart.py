"""Restarts (issue 34, item 3): a training in progress when its process dies (Ctrl-C, SIGTERM, SIGKILL) never shows
as a run and is listed as interrupted afterwards, with Retrain on the Train page; a save killed at any point
leaves either the old run or the new one."""
import json
import os
import signal
import subprocess
import sys
import time

from streamlit.testing.v1 import AppTest

from vdae_core.pipeline import job_journal
from vdae_core.pipeline.runs import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app.py")
TINY = dict(spectral_steps=5, vae_steps=5, hidden=16, depth=1, spectral_batch=128, batch_size=64, latent_dim=2)

TRAIN_FOREVER = r"""
import signal, sys, time
# Ctrl-C as in a terminal: a shell starts background commands with SIGINT ignored, and a suite run from one (nohup,
# CI scripts) would hand that on to this server, which would then never see the test's Ctrl-C
signal.signal(signal.SIGINT, signal.default_int_handler)
from vdae_core.data import DataConfig
from vdae_core.pipeline import jobs
from vdae_core.pipeline.train import start
root, browser = sys.argv[1], sys.argv[2]
cfg = DataConfig(dataset="circle", n=150, seed=0)
over = dict(%(tiny)r, vae_steps=200_000, converge_tol=0.0)
tr = start("vdae", cfg, over, 0)
job = jobs.TrainingJob("vdae", over, cfg.to_dict(), 0, tr.spec.dataset, tr.trainer.model, tr.trainer, tr,
                       preset="Quick", browser=browser)
jobs.submit(job, root=root)
while job.live.steps_done < 50:
    time.sleep(0.02)
print("TRAINING", jobs.pool()._zygote.proc.pid if jobs.pool()._zygote else 0, flush=True)
time.sleep(600)
""" % {"tiny": TINY}


def _live_pids() -> set:
    """Pids of processes that run (zombies, already ended, left out)."""
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                        out.add(int(d))
            except OSError:
                pass
    return out


def _children(pid: int) -> set:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.add(int(d))
            except OSError:
                pass
    return out


SIGNALS = {"ctrl-c": signal.SIGINT, "sigterm": signal.SIGTERM, "kill": signal.SIGKILL}


def test_a_training_killed_midway_is_interrupted_never_a_run(tmp_path):
    """Three trainings, each in its own process and runs folder, stopped by Ctrl-C, SIGTERM and SIGKILL (in
    parallel, to keep the suite short)."""
    procs = {}
    for name in SIGNALS:
        os.makedirs(tmp_path / name)
        procs[name] = subprocess.Popen([sys.executable, "-c", TRAIN_FOREVER, str(tmp_path / name), "browser-1"],
                                       cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    helpers = set()  # the training zygotes and their workers: they must not outlive their server
    try:
        for name, p in procs.items():
            word, zygote = p.stdout.readline().split()
            assert word == "TRAINING", name
            helpers |= {int(zygote)} | _children(int(zygote)) if int(zygote) else set()
            os.kill(p.pid, SIGNALS[name])
            p.wait(timeout=30)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    t0 = time.time()
    while helpers & _live_pids() and time.time() - t0 < 20:
        time.sleep(0.2)
    assert not helpers & _live_pids(), "training processes outlived their server"
    for name in SIGNALS:
        root = str(tmp_path / name)
        assert [f for f in os.listdir(root) if not f.startswith(".")] == [], name  # no run, nothing half-written
        assert [f for f in os.listdir(root) if ".partial-" in f] == [], name
        found = job_journal.interrupted(root, "browser-1")
        assert len(found) == 1 and found[0]["status"] == "running" and found[0]["model_name"] == "vdae", name
        assert found[0]["overrides"]["vae_steps"] == 200_000 and found[0]["seed"] == 0
        assert job_journal.interrupted(root, "browser-2") == []  # shown to the browser that started it only


def test_train_page_lists_the_interrupted_training_and_retrains_it(tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setenv("VDAE_RUNS_DIR", root)
    owner = "b" * 32
    spec = {"model_name": "vdae", "overrides": TINY, "data_config": {"dataset": "circle", "n": 150, "seed": 0},
            "seed": 0, "preset": "Quick", "label": "vdae · circle · seed 0"}
    os.makedirs(os.path.join(root, ".jobs"))
    for rid in ("r1", "r2"):  # two trainings a dead server (a pid no process has) left behind
        job_journal.write_json_atomic(os.path.join(root, ".jobs", f"{rid}.json"),
                                      dict(spec, id=rid, browser=owner, pid=2**22 + 7, status="running",
                                           started=time.time()))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["_owner"] = owner
    at.run()
    assert any("2 of your trainings were interrupted" in w.value for w in at.warning), [w.value for w in at.warning]
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert sum("Interrupted:" in w.value for w in at.warning) == 2
    at.button(key="job.dismiss.r2").click().run()
    assert sum("Interrupted:" in w.value for w in at.warning) == 1
    at.button(key="job.retrain.r1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["_job"]
    assert (job.model_name, job.seed, job.overrides["vae_steps"], job.preset) == ("vdae", 0, 5, "Quick")
    t0 = time.time()
    while job.active and time.time() - t0 < 60:
        time.sleep(0.1)
    assert job.status == "done", job.message
    at.run()
    assert not any("Interrupted:" in w.value for w in at.warning)
    assert json.load(open(os.path.join(job.run_path, "run.json")))["seed"] == 0
    job.thread.join(timeout=30)  # its thread ends the record after the job's final state
    assert [f for f in os.listdir(os.path.join(root, ".jobs")) if f.endswith(".json")] == []
    other = AppTest.from_file(APP, default_timeout=60)  # another browser never sees someone's interrupted work
    other.run()
    assert not any("interrupted" in w.value for w in other.warning)


SAVE_AND_DIE = r"""
import os, signal, sys
from vdae_core.data import DataConfig
from vdae_core.pipeline import runs
from vdae_core.pipeline.train import train_run
path, die_at = sys.argv[1], sys.argv[2]
old, new = (train_run("vdae", DataConfig(dataset="circle", n=150, seed=s), %(tiny)r, seed=s, device="cpu")
            for s in (0, 1))
runs.save_run(old, path)
calls = {"fsync": 0, "rename": 0}
real_fsync, real_rename = runs._fsync_file, os.rename
def fsync(p):
    calls["fsync"] += 1
    if die_at == "fsync%%d" %% calls["fsync"]:
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(p)
def rename(a, b):
    calls["rename"] += 1
    if die_at == "rename%%d" %% calls["rename"]:
        os.kill(os.getpid(), signal.SIGKILL)
    real_rename(a, b)
runs._fsync_file, os.rename = fsync, rename
runs.save_run(new, path, overwrite=True)
""" % {"tiny": TINY}


def test_a_save_killed_at_any_point_leaves_the_old_run_or_the_new(tmp_path, monkeypatch):
    """Replacing seed 0's run by seed 1's, killed (SIGKILL) while writing its files (fsync2), before moving the old
    run aside (rename1) or after (rename2, the new run's rename): after recovery the folder holds one of the two,
    whole (the four cases run in parallel processes)."""
    cases = ("fsync2", "rename1", "rename2", "never")
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = {}
    for c in cases:
        os.makedirs(tmp_path / c)
        procs[c] = subprocess.Popen([sys.executable, "-c", SAVE_AND_DIE, str(tmp_path / c / "r"), c], cwd=ROOT,
                                    env=env)
    rcs = {c: p.wait(timeout=120) for c, p in procs.items()}
    assert rcs == {c: (0 if c == "never" else -signal.SIGKILL) for c in cases}
    # the next server start: everything here is older than it
    monkeypatch.setattr(job_journal, "_PROCESS_START", time.time() + 1)
    monkeypatch.setattr(job_journal, "PARTIAL_GRACE_S", -10.0)
    for c in cases:
        job_journal.recover_saves(str(tmp_path / c))
        assert os.listdir(tmp_path / c) == ["r"], c  # no temporary or moved-aside folder left
        # killed anywhere before the new run's rename, the old run is there (put back after rename1's move)
        assert load_run(str(tmp_path / c / "r")).seed == (1 if c == "never" else 0), c

"""The server's bounded training queue (issue 34, item 2): first come first served, at most ``slots`` at once, a
full queue refuses, a waiting job can be cancelled, and the expected start is list scheduling of the estimates."""
import os
import threading
import time

import pytest

from vdae_core.data import DataConfig
from vdae_core.foundation.errors import UserInputError
from vdae_core.pipeline import job_journal, jobs
from vdae_core.pipeline.job_queue import QueueFull, QueueSettings, TrainingQueue, expected_starts
from vdae_core.pipeline.train import start

TINY = dict(spectral_steps=5, vae_steps=5, hidden=16, depth=1, spectral_batch=128, batch_size=64, latent_dim=2)


def test_expected_starts_is_list_scheduling():
    # two slots free after 3 s and 5 s; waiting trainings of 4, 2 and 1 s start at 3, 5 and 7 (3 + 4 = 5 + 2)
    assert expected_starts([3.0, 5.0], [4.0, 2.0, 1.0], slots=2) == [3.0, 5.0, 7.0]
    # a free slot starts the first at once; one slot: each waits for all before it
    assert expected_starts([], [4.0, 2.0], slots=1) == [0.0, 4.0]
    assert expected_starts([6.0], [4.0, 2.0, 1.0], slots=1) == [6.0, 10.0, 12.0]
    # an unknown duration makes every later start unknown, an unknown running one every start
    assert expected_starts([3.0], [None, 2.0], slots=1) == [3.0, None]
    assert expected_starts([None], [1.0], slots=1) == [None]


def test_settings_come_from_the_cores_and_the_environment(monkeypatch):
    for name in ("VDAE_TRAIN_SLOTS", "VDAE_TRAIN_QUEUE", "VDAE_TRAIN_THREADS", "VDAE_TRAIN_IN_PROCESS"):
        monkeypatch.delenv(name, raising=False)
    assert QueueSettings.from_env(cores=2) == QueueSettings(slots=2, limit=8, threads=1)
    assert QueueSettings.from_env(cores=1) == QueueSettings(slots=1, limit=8, threads=1)
    assert QueueSettings.from_env(cores=16) == QueueSettings(slots=2, limit=8, threads=8)
    monkeypatch.setenv("VDAE_TRAIN_SLOTS", "3")
    monkeypatch.setenv("VDAE_TRAIN_QUEUE", "0")
    assert QueueSettings.from_env(cores=12) == QueueSettings(slots=3, limit=0, threads=4)
    monkeypatch.setenv("VDAE_TRAIN_SLOTS", "two")
    with pytest.raises(UserInputError, match="VDAE_TRAIN_SLOTS='two' is not a whole number"):
        QueueSettings.from_env(cores=2)
    monkeypatch.setenv("VDAE_TRAIN_SLOTS", "0")
    with pytest.raises(UserInputError, match="at least 1"):
        QueueSettings.from_env(cores=2)


def test_queue_order_limit_cancel_and_release():
    q = TrainingQueue(QueueSettings(slots=1, limit=2, threads=1))
    a, b, c, d = "a", "b", "c", "d"
    assert q.submit(a) == 0 and q.running() == [a]
    assert q.submit(b) == 1 and q.submit(c) == 2
    with pytest.raises(QueueFull, match=r"full \(1 training, 2 waiting.*about 9 s\)\. Nothing was started"):
        q.submit(d, wait_text=lambda: " (a place frees in about 9 s)")
    assert (q.position(b), q.position(c), q.position(a)) == (1, 2, None)
    assert q.cancel(b) and not q.cancel(b) and q.position(c) == 1
    assert q.submit(d) == 2  # the cancelled place is free again
    q.release(a)
    assert q.running() == [c] and q.waiting() == [d]
    assert q.wait_turn(c) and not q.wait_turn(b)  # c holds the slot; b was cancelled


def test_a_waiting_thread_starts_when_the_slot_frees():
    q = TrainingQueue(QueueSettings(slots=1, limit=4, threads=1))
    q.submit("first")
    q.submit("second")
    got = []
    t = threading.Thread(target=lambda: got.append((q.wait_turn("second", poll=5.0), time.perf_counter())))
    t.start()
    time.sleep(0.3)
    assert not got  # still waiting: the slot is taken
    t_release = time.perf_counter()
    q.release("first")
    t.join(timeout=5)
    assert got and got[0][0] and got[0][1] - t_release < 1.0  # woken by the release, not by a poll


def _job(seed: int, steps: int = 5, root=None) -> jobs.TrainingJob:
    """A tiny VDAE training; a long one (``steps`` large) never stops at convergence before the test ends it."""
    cfg = DataConfig(dataset="circle", n=150, seed=seed)
    over = dict(TINY, vae_steps=steps, converge_tol=0.0)
    training = start("vdae", cfg, over, seed)
    return jobs.TrainingJob("vdae", over, cfg.to_dict(), seed, training.spec.dataset, training.trainer.model,
                            training.trainer, training, preset="test", browser="tester")


def _records(root) -> list:
    """The journal's records (a write in progress shows as a hidden temporary file beside them)."""
    return [f for f in os.listdir(os.path.join(root, ".jobs")) if f.endswith(".json") and not f.startswith(".")]


def _wait(cond, timeout=60.0):
    t0 = time.time()
    while not cond():
        assert time.time() - t0 < timeout, "timed out"
        time.sleep(0.02)


def test_jobs_train_one_slot_at_a_time_in_order_and_save(tmp_path):
    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    js = [_job(s) for s in range(3)]
    places = [jobs.submit(j, root=str(tmp_path)) for j in js]
    assert places == [0, 1, 2]
    _wait(lambda: all(not j.active for j in js))
    assert [j.status for j in js] == ["done"] * 3, [j.message for j in js]
    # one at a time: each started after the one before it ended
    for before, after in zip(js, js[1:]):
        assert after.started >= before.finished - 1e-3
    assert sorted(os.listdir(tmp_path)) == [".jobs"] + sorted(os.path.basename(j.run_path) for j in js)
    assert _records(tmp_path) == []  # the journal forgets jobs that ended
    # ... and keeps one line per ended job: submitted, then its slot, then its end, in the queue's order
    ended = job_journal.ended(str(tmp_path))
    assert [e["status"] for e in ended] == ["done"] * 3 and [e["train_s"] for e in ended] == [j.train_seconds for j in js]
    assert all(e["submitted"] <= e["started"] <= e["ended"] for e in ended)
    assert [e["started"] for e in ended] == sorted(e["started"] for e in ended)
    assert not any("browser" in e or "owner" in e for e in ended)  # no owner id in a file every session's server shares
    # the finished durations now price a waiting job of the same kind
    assert jobs.estimate(_job(5)) == pytest.approx(sorted(j.train_seconds for j in js)[1])


def test_a_cancelled_job_never_trains_and_leaves_nothing(tmp_path):
    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    long, waiting = _job(0, steps=100_000), _job(1)
    jobs.submit(long, root=str(tmp_path))
    assert jobs.submit(waiting, root=str(tmp_path)) == 1
    assert len(_records(tmp_path)) == 2
    assert jobs.cancel(waiting) and waiting.status == "cancelled" and not jobs.cancel(waiting)
    waiting.thread.join(timeout=60)
    assert not waiting.thread.is_alive()
    assert waiting.trainer.steps_done == 0 and waiting.run_path is None
    jobs.discard(long)
    long.thread.join(timeout=60)
    assert not long.thread.is_alive()
    assert [f for f in os.listdir(tmp_path) if not f.startswith(".")] == []
    assert _records(tmp_path) == []


def test_a_full_queue_refuses_and_journals_nothing(tmp_path):
    jobs.reset_queue(QueueSettings(slots=1, limit=1, threads=2))
    long, second, third = _job(0, steps=100_000), _job(1), _job(2)
    jobs.submit(long, root=str(tmp_path))
    jobs.submit(second, root=str(tmp_path))
    with pytest.raises(QueueFull, match="training queue is full"):
        jobs.submit(third, root=str(tmp_path))
    assert third.thread is None and len(_records(tmp_path)) == 2
    for j in (second, long):
        jobs.discard(j)
        j.thread.join(timeout=60)
        assert not j.thread.is_alive()
    assert _records(tmp_path) == []


def test_the_journal_marks_only_dead_processes_as_interrupted(tmp_path):
    root = str(tmp_path)
    job_journal.write(root, "mine", browser="b1", status="running", model_name="vdae")
    assert job_journal.interrupted(root, "b1") == []  # this process is alive
    # the same record as a process that has died (a pid no process has) would have left it
    rec = job_journal._read(os.path.join(root, ".jobs", "mine.json"))
    job_journal.write_json_atomic(os.path.join(root, ".jobs", "dead.json"), dict(rec, id="dead", pid=2**22 + 7))
    found = job_journal.interrupted(root, "b1")
    assert [r["id"] for r in found] == ["dead"]
    assert job_journal.interrupted(root, "someone else") == [] and job_journal.interrupted(root, None) == []
    job_journal.remove(root, "dead")
    assert job_journal.interrupted(root, "b1") == []


def test_train_page_shows_the_place_in_the_queue_cancel_and_a_full_queue(tmp_path, monkeypatch):
    """Two browsers on a one-slot server: the second waits, sees its place and expected start, cancels; with no
    waiting places a third is told the queue is full and nothing starts."""
    from streamlit.testing.v1 import AppTest

    app = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app.py")
    monkeypatch.setenv("VDAE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VDAE_TRAIN_SLOTS", "1")
    monkeypatch.setenv("VDAE_TRAIN_QUEUE", "1")
    jobs.reset_queue()

    def browser():
        at = AppTest.from_file(app, default_timeout=60)
        at.run()
        at.switch_page("pages/train.py").run()
        at.radio(key="train.preset").set_value("defaults").run()
        for name, v in (("spectral_steps", 4), ("vae_steps", 100_000), ("hidden", 16), ("latent_dim", 3),
                        ("converge_tol", 0.0)):
            at.number_input(key=f"cfg.vdae.defaults.{name}").set_value(v)
        return at

    a = browser()
    a.button[-1].click().run()  # the form's submit button
    first = a.session_state["_job"]
    _wait(lambda: first.status == "running")
    b = browser()
    b.button[-1].click().run()
    assert not b.exception, [e.value for e in b.exception]
    waiting = b.session_state["_job"]
    assert waiting.status == "queued"
    info = " ".join(i.value for i in b.info)
    assert "place **1** in the queue (1 training at once on this server, 1 running now)" in info, info
    c = browser()
    c.button[-1].click().run()
    assert any("training queue is full (1 training, 1 waiting" in e.value for e in c.error), [e.value for e in c.error]
    assert "_job" not in c.session_state
    b.button(key="job.cancel").click().run()
    assert waiting.status == "cancelled" and any("Cancelled before it started" in i.value for i in b.info)
    jobs.discard(first)
    first.thread.join(timeout=60)
    assert not first.thread.is_alive()
    waiting.thread.join(timeout=60)
    assert not waiting.thread.is_alive()
    assert [f for f in os.listdir(tmp_path) if not f.startswith(".")] == [] and _records(tmp_path) == []


def test_a_paused_job_gives_its_slot_away_and_takes_it_back_first():
    q = TrainingQueue(QueueSettings(slots=1, limit=4, threads=1))
    q.submit("a")
    q.submit("b")
    q.submit("c")
    q.suspend("a")  # paused: b trains meanwhile
    assert q.running() == ["b"] and q.waiting() == ["c"] and not q.holds("a")
    assert not q.claim("a")  # resumed while b trains: a waits, ahead of c
    assert q.waiting() == ["a", "c"] and q.position("a") == 1
    q.release("b")
    assert q.holds("a") and q.waiting() == ["c"]
    q.suspend("a")
    q.suspend("a")  # twice is once
    assert q.running() == ["c"] and q.waiting() == []
    q.release("c")
    assert q.claim("a") and q.running() == ["a"]  # a free slot: back at once


def test_pausing_lets_the_next_training_run_and_resume_waits_for_a_slot(tmp_path):
    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    first, second = _job(0, steps=100_000), _job(1, steps=100_000)
    jobs.submit(first, root=str(tmp_path))
    assert jobs.submit(second, root=str(tmp_path)) == 1
    _wait(lambda: first.status == "running" and first.live.steps_done > 0)
    jobs.set_paused(first, True)
    _wait(lambda: second.status == "running" and second.live.steps_done > 0)  # the slot went to the waiting job
    steps_paused = first.live.steps_done
    jobs.set_paused(first, False)  # every slot is taken: first waits first in line, still paused
    assert first.status == "paused" and first.resume_pending
    assert jobs.expected_start(first)[0] == 1
    time.sleep(1.0)
    assert first.live.steps_done <= steps_paused + 50  # a slice in flight may land; no training beyond it
    jobs.discard(second)
    _wait(lambda: first.status == "running" and not first.resume_pending)  # the freed slot came back to it
    _wait(lambda: first.live.steps_done > steps_paused + 50)
    assert jobs.queue().running() == [first]
    jobs.stop(first)
    _wait(lambda: not first.active)
    assert first.status == "stopped" and os.path.isdir(first.run_path), first.message
    assert first.paused_total > 1.0  # the wait to resume counts as paused, not as training time
    second.thread.join(timeout=60)
    first.thread.join(timeout=60)
    assert _records(tmp_path) == []


def test_a_worker_rereads_a_file_replaced_since_it_last_read_it(tmp_path):
    import numpy as np

    from vdae_core.data import make_dataset
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.pipeline import train_worker

    path = tmp_path / "ring.csv"
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    np.savetxt(path, np.c_[np.cos(t), np.sin(t)], delimiter=",")
    cfg = DataConfig(dataset=str(path), n=200).to_dict()
    cache = {}
    old = train_worker._dataset({"data_config": cfg, "data_hash": make_dataset(DataConfig.from_dict(cfg)).content_hash},
                                cache)
    np.savetxt(path, np.c_[2 * np.cos(t), 2 * np.sin(t)], delimiter=",")  # the user uploads a new file, same name
    new_hash = make_dataset(DataConfig.from_dict(cfg)).content_hash
    assert new_hash != old.content_hash
    new = train_worker._dataset({"data_config": cfg, "data_hash": new_hash}, cache)  # read again, not refused
    assert new.content_hash == new_hash and np.allclose(np.abs(new.X).max(), 2 * np.abs(old.X).max(), rtol=1e-3)
    with pytest.raises(UserInputError, match="changed on disk since the training was queued"):
        train_worker._dataset({"data_config": cfg, "data_hash": old.content_hash}, cache)


def test_a_lesson_or_sweep_run_waits_for_a_slot_like_any_training(tmp_path):
    """``train_queued`` (what the app's lessons and sweeps train with) takes a slot of the same queue: with the one
    slot taken it waits, told its place; once the slot frees it trains in a worker and saves in its own folder."""
    from vdae_core.pipeline.runs import load_run

    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    long = _job(0, steps=100_000)
    jobs.submit(long, root=str(tmp_path))
    told, out = [], {}
    folder = str(tmp_path / "lesson-run")
    cfg = DataConfig(dataset="circle", n=150, seed=1).to_dict()

    def lesson():
        out["run"] = jobs.train_queued("vdae", cfg, dict(TINY, converge_tol=0.0), 1, folder,
                                       {"source": "lesson", "preset": "Lesson: test"},
                                       on_wait=lambda place, start: told.append(place))
    t = threading.Thread(target=lesson)
    t.start()
    _wait(lambda: 1 in told)  # waiting first in line behind the long training
    assert not os.path.exists(folder)
    jobs.discard(long)
    t.join(timeout=120)
    assert not t.is_alive() and out["run"].info["source"] == "lesson"
    assert load_run(folder).info["preset"] == "Lesson: test"
    # a sweep that is stopped while its next run waits leaves the queue: nothing trained, nothing saved
    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    long = _job(0, steps=100_000)
    jobs.submit(long, root=str(tmp_path))
    with pytest.raises(UserInputError, match="left the queue before it started"):
        jobs.train_queued("vdae", cfg, dict(TINY), 1, str(tmp_path / "never"), give_up=lambda: True)
    assert not os.path.exists(tmp_path / "never") and jobs.queue().waiting() == []
    jobs.discard(long)
    long.thread.join(timeout=60)


def test_the_compare_pages_sweep_trains_through_the_queue(studio_env, monkeypatch):
    from vdae_core.ui import sweeps

    jobs.reset_queue(QueueSettings(slots=1, limit=3, threads=2))
    long = _job(0, steps=100_000)
    jobs.submit(long, root=str(studio_env))
    import vdae_core.ui.identity as identity
    monkeypatch.setattr(identity, "owner_id", lambda: "sweeper")
    sw = sweeps.start(["circle"], ["beta_vae"], 1, True, 200, 10, None)
    _wait(lambda: "waiting for a training slot (place 1" in sw.current)
    assert sw.done == 0 and jobs.queue().position(jobs.queue().waiting()[0]) == 1
    jobs.discard(long)
    sw.thread.join(timeout=180)
    assert sw.status == "done" and sw.done == 1, sw.message
    from vdae_core.pipeline.runs import load_run
    assert load_run(sw.paths[0]).info["source"] == "sweep"


def test_at_most_slots_paused_jobs_give_their_slots_away_and_resumers_keep_their_order():
    q = TrainingQueue(QueueSettings(slots=1, limit=8, threads=1))
    for j in ("a", "b", "c", "d"):
        q.submit(j)
    assert q.suspend("a") and q.running() == ["b"]
    assert not q.suspend("b")  # one slot: one paused job may give its slot away (each keeps a process in memory)
    assert q.running() == ["b"] and q.suspended() == ["a"]
    q.release("b")  # c starts
    assert q.suspend("c") is False  # the cap counts a, still paused
    assert not q.claim("a") and q.waiting() == ["a", "d"]
    q.release("c")
    assert q.running() == ["a"] and q.suspended() == []
    assert q.suspend("a") and q.running() == ["d"]


def test_a_lesson_waits_out_a_full_queue_and_a_page_that_stops_waiting_leaves_no_orphan(tmp_path):
    jobs.reset_queue(QueueSettings(slots=1, limit=0, threads=2))  # no room to wait in
    long = _job(0, steps=100_000)
    jobs.submit(long, root=str(tmp_path))
    told = []

    class PageGone(Exception):  # what Streamlit raises in the script thread when the user leaves the page
        pass

    def on_wait(place, start):
        told.append(place)
        if len(told) >= 2:
            raise PageGone
    cfg = DataConfig(dataset="circle", n=150, seed=1).to_dict()
    with pytest.raises(PageGone):
        jobs.train_queued("vdae", cfg, dict(TINY), 1, str(tmp_path / "lesson"), on_wait=on_wait, poll=0.05)
    assert told[:2] == [0, 0]  # told the queue was full, not refused
    jobs.reset_queue(QueueSettings(slots=1, limit=2, threads=2))
    long2 = _job(0, steps=100_000)
    jobs.submit(long2, root=str(tmp_path))
    told.clear()
    with pytest.raises(PageGone):
        jobs.train_queued("vdae", cfg, dict(TINY), 1, str(tmp_path / "lesson"), on_wait=on_wait, poll=0.05)
    assert told == [1, 1] and jobs.queue().waiting() == []  # it waited first in line; leaving took it out
    for j in (long, long2):
        jobs.discard(j)
        j.thread.join(timeout=60)
    assert not os.path.exists(tmp_path / "lesson")

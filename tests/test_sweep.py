"""Sweeps (issue 11): the same rows in this process, in worker processes and on a local Ray instance; cached
runs are reused, an interrupted sweep resumes, and bad grids are refused before any training."""
import json
import sys

import pytest

from vdae_core.study.compare import comparison_overrides
from vdae_core.foundation.errors import UserInputError
from vdae_core.study.sweep import Job, grid, progress_bar, run_grid

NUMBERS = ("gw", "mmd2_h", "coverage", "memorisation", "bilip_median", "train_s")


def tiny_jobs(models=("beta_vae", "wgan_gp"), seeds=2):
    return grid(["circle"], list(models), seeds, overrides=lambda m, d: comparison_overrides(m, d, 0.02),
                n=lambda d: 200, n_samples=100, reps=2)


def same(a, b):
    keys = [k for k in NUMBERS if k != "train_s"]
    return [(r["model"], r["seed"], [r[k] for k in keys]) for r in a] == \
           [(r["model"], r["seed"], [r[k] for k in keys]) for r in b]


def test_grid_is_checked_before_any_training():
    with pytest.raises(ValueError, match="nope"):
        grid(["circle"], ["nope"], 1)
    with pytest.raises(UserInputError, match="seeds"):
        grid(["circle"], ["vdae"], 0)
    a, b = Job("circle", "vdae", 0), Job("circle", "vdae", 0, {"step_size": 1.0})
    assert a.key != b.key and a.key == Job("circle", "vdae", 0).key


def test_workers_give_the_rows_of_one_process_and_a_rerun_uses_the_cache(tmp_path):
    jobs = tiny_jobs()
    seen = []
    one = run_grid(jobs, str(tmp_path / "a"), workers=1, progress=lambda d, t, r: seen.append((d, t)))
    two = run_grid(jobs, str(tmp_path / "b"), workers=2)
    assert seen == [(i + 1, len(jobs)) for i in range(len(jobs))]
    assert len(one) == len(two) == 4 and same(one, two)
    again = run_grid(jobs, str(tmp_path / "a"), workers=1)
    assert all(r["cached"] for r in again) and same(one, again)
    assert "4/4 runs" in progress_bar(4, 4, again[-1]) and "cached" in progress_bar(4, 4, again[-1])


def test_an_interrupted_sweep_keeps_its_finished_runs_and_resumes(tmp_path):
    jobs = tiny_jobs(models=("beta_vae",))
    done = []
    first = run_grid(jobs, str(tmp_path), workers=1, progress=lambda d, t, r: done.append(r),
                     should_stop=lambda: bool(done))
    assert len(first) == 1 and first[0]["seed"] == 0
    rest = run_grid(jobs, str(tmp_path), workers=1)
    assert [r["cached"] for r in rest] == [True, False] and same(first, rest[:1])


@pytest.mark.slow  # 15 s to start a local Ray; the optional engine, beside the default paths tested here
def test_ray_gives_the_rows_of_the_local_path(tmp_path):
    pytest.importorskip("ray")
    jobs = tiny_jobs(models=("beta_vae",))
    local = run_grid(jobs, str(tmp_path / "local"), workers=1)
    on_ray = run_grid(jobs, str(tmp_path / "ray"), ray_address="local")
    assert same(local, on_ray)


def test_missing_ray_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UserInputError, match="pip install"):
        run_grid(tiny_jobs(models=("beta_vae",), seeds=1), str(tmp_path), ray_address="local")


def test_cli_compare_writes_markdown_csv_and_json(tmp_path):
    from vdae_core.cli import main

    out = tmp_path / "t.md"
    main(["compare", "--datasets", "circle", "--models", "beta_vae", "--seeds", "1", "--steps-scale", "0.02",
          "--n", "100", "--n-points", "200", "--reps", "2", "--workers", "1", "--out", str(out)])
    md = out.read_text()
    assert "| circle | beta_vae | 1 |" in md and "[paper 46.1 ± 9.7]" in md and "wall time" in md
    assert (tmp_path / "t.csv").read_text().startswith("dataset,model,seed")
    assert json.loads((tmp_path / "t.json").read_text())["rows"][0]["model"] == "beta_vae"
    assert (tmp_path / "t.runs").is_dir()


def test_job_key_changes_when_a_models_default_changes(monkeypatch):
    """A cached run trained under an old default is not reused after the default changes."""
    from vdae_core.foundation.registry import MODELS

    cls = MODELS.get("beta_vae").config_class
    before = Job("circle", "beta_vae", 0).key
    assert Job("circle", "beta_vae", 0).key == before                    # stable
    original = cls.to_dict
    monkeypatch.setattr(cls, "to_dict", lambda self: {**original(self), "beta": 2.0})
    assert Job("circle", "beta_vae", 0).key != before


def test_a_sweep_row_is_what_the_compare_page_reads_and_floors_are_shared_on_disk(tmp_path):
    """With 5 floor draws (the page's), a sweep's evaluation is stored where the Compare page looks for it
    (eval points, k = 10, the run's seed), and the floors land in the cache's shared floor folder."""
    import os

    from vdae_core.study.evaluation_cache import read_cached_evaluation
    from vdae_core.study.sweep import FLOOR_FOLDER

    jobs = grid(["circle"], ["beta_vae"], 1, overrides=lambda m, d: comparison_overrides(m, d, 0.02),
                n=lambda d: 200, n_samples=100, reps=5)
    row, = run_grid(jobs, str(tmp_path), workers=1)
    page = read_cached_evaluation(row["path"], 100, 10, row["seed"])
    assert page is not None and page["gw"] == row["gw"] and page["coverage_floor"] == row["coverage_floor"]
    assert any(f.endswith(".json") for f in os.listdir(tmp_path / FLOOR_FOLDER))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_killing_a_sweep_stops_its_worker_processes(tmp_path):
    """A killed `compare` must not leave its workers training to the end of their job."""
    import os
    import signal
    import subprocess
    import time

    script = ("import sys\nfrom vdae_core.study.sweep import grid, run_grid\n"
              "jobs = grid(['circle'], ['wgan_gp'], 2, overrides=lambda m, d: {'steps': 200000}, n=lambda d: 200,"
              " n_samples=100, reps=2)\nrun_grid(jobs, sys.argv[1], workers=2)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=root,
                              env={**os.environ, "PYTHONPATH": root})

    def workers():
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat_fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if int(stat_fields[1]) == parent.pid and b"spawn_main" in cmd:
                out.append(int(pid))
        return out

    try:
        deadline = time.time() + 90
        while len(workers()) < 2 and time.time() < deadline:
            time.sleep(0.5)
        pids = workers()
        assert len(pids) == 2, "the sweep did not start its two workers"
        time.sleep(3)  # inside their jobs now
    finally:  # a failed assertion must not leave the sweep training 200,000 steps beside the rest of the suite
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    def running(pid):
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.time() + 20
    alive = pids
    while alive and time.time() < deadline:
        time.sleep(0.5)
        alive = [p for p in pids if running(p)]
    assert not alive, f"workers {alive} outlived the killed sweep"


def test_a_models_seeds_train_together_and_give_the_rows_of_one_by_one(tmp_path):
    """With ``batch_seeds`` the grid trains wgan_gp's two seeds as one unit (``seed_batch``), beta_vae's one by one;
    on two workers the group trains, then its seeds are evaluated as separate jobs. Every seed's row matches the
    one-by-one grid's to float rounding, and each seed is an ordinary run folder."""
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.sweep import seed_groups

    assert seed_groups(tiny_jobs(), batch_seeds=True) == [[0], [1], [2, 3]]  # beta_vae's seeds alone, wgan_gp's together
    assert seed_groups(tiny_jobs(), batch_seeds=False) == [[0], [1], [2], [3]]
    jobs = tiny_jobs(models=("wgan_gp",))
    together = run_grid(jobs, str(tmp_path / "a"), workers=2, batch_seeds=True)
    alone = run_grid(jobs, str(tmp_path / "b"), workers=1)
    for t, a in zip(together, alone):
        assert (t["model"], t["seed"]) == (a["model"], a["seed"])
        for k in ("gw", "mmd2_h", "coverage", "memorisation", "bilip_median"):
            assert t[k] == pytest.approx(a[k], rel=1e-3, abs=1e-6), (t["model"], t["seed"], k)
    assert [load_run(r["path"]).info.get("seed_batch") for r in together] == [2, 2]
    assert [load_run(r["path"]).info.get("seed_batch") for r in alone] == [None, None]

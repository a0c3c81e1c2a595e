"""Every page of the Streamlit app through streamlit.testing.v1.AppTest (in-process, no browser).

A tiny VDAE run is trained once into a temporary runs folder (``VDAE_RUNS_DIR``) so the analysis pages
have something to show; training through the UI runs in the server's background thread for the
browser's job, and the tests poll it.
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
PAGES = ["data", "train", "latent", "walks", "bilipschitz", "audit", "map_audit", "compare"]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    from vdae_core.api import DataConfig, save_run, train_run

    root = tmp_path_factory.mktemp("runs")
    run = train_run("vdae", DataConfig(dataset="torus", n=400, seed=0),
                    dict(spectral_steps=15, vae_steps=20, hidden=32, depth=2, spectral_batch=256, batch_size=128,
                         latent_dim=3), seed=0, device="cpu")
    save_run(run, str(root / "torus_vdae_s0_fixture"))
    return root


@pytest.fixture
def env(runs_dir, monkeypatch):
    monkeypatch.setenv("VDAE_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("VDAE_DEMO_STEPS_SCALE", "0.02")
    return runs_dir


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest):
    out = []
    for kind in ("markdown", "caption", "info", "error", "success", "warning", "title", "subheader"):
        out += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(out)


def source(at: AppTest):
    return next(r for r in at.radio if r.label == "Source")


def runs_in(folder) -> list:
    """The run folders in a runs root, sorted (hidden entries are the studio's own: journal, caches)."""
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


def train_until_done(at: AppTest, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = at.session_state["_job"] if "_job" in at.session_state else None
        if job is not None and not job.active:
            at.run()  # the page picks up the finished job
            assert not at.exception, [e.value for e in at.exception]
            return
        time.sleep(0.1)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    raise AssertionError("training did not finish")


def test_home(env):
    at = app()
    assert at.title[0].value == "VDAE Studio"
    labels = [b.label for b in at.button]
    assert "Try it: torus + VDAE" in labels and "Open" in labels
    assert "Device in use" in texts(at)
    assert any(d.label == "Download run (zip)" for d in at.get("download_button"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(env, page):
    at = goto(app(), page)
    assert not at.error, [e.value for e in at.error]
    widgets = {"data": lambda: [s.label for s in at.selectbox] + [n.label for n in at.number_input],
               "train": lambda: [s.label for s in at.selectbox] + [b.label for b in at.button],
               "latent": lambda: [m.label for m in at.multiselect] + [b.label for b in at.button],
               "walks": lambda: [n.label for n in at.number_input] + [s.label for s in at.slider],
               "bilipschitz": lambda: [r.label for r in at.radio] + [s.label for s in at.slider],
               "audit": lambda: [r.label for r in at.radio] + [s.label for s in at.select_slider],
               "map_audit": lambda: [b.label for b in at.button],
               "compare": lambda: [m.label for m in at.multiselect] + [b.label for b in at.button]}[page]()
    expected = {"data": ["Dataset", "Points n", "Seed"], "train": ["Model", "Start training"],
                "latent": ["Latent coordinates", "Compute"], "walks": ["Start vertex", "walkers", "steps", "trail"],
                "bilipschitz": ["Version", "neighbours k"], "audit": ["Homology up to", "points per cloud"],
                "map_audit": ["Audit", "Try it: circle"],
                "compare": ["Datasets", "Models"]}[page]
    for w in expected:
        assert w in widgets, (w, widgets)
    if page not in ("train", "map_audit"):  # every view offers its figures as HTML (the map page once it has a map)
        assert any("HTML" in d.label for d in at.get("download_button")) or page == "compare"


def test_try_it_trains_through_the_stepwise_api_and_saves_a_run(env):
    before = set(runs_in(env))
    at = app()
    at.button(key="home.try").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["_job"]
    assert job.model_name == "vdae" and job.dataset.name == "torus"
    train_until_done(at)
    job = at.session_state["_job"]
    assert job.status == "done", job.message
    new = set(runs_in(env)) - before
    assert len(new) == 1
    job.thread.join(timeout=30)  # its thread ends the record after the job's final state
    assert [f for f in os.listdir(os.path.join(env, ".jobs")) if f.endswith(".json")] == []  # it forgets an ended one
    at.run()
    assert at.session_state["run_path"] == os.path.join(str(env), new.pop())
    assert "It is now the active run" in texts(at)
    # the history reached the UI: every phase that ran has records (the live preset runs no SpectralNet steps)
    assert set(job.live.records) == {"diffusion fit", "decoder fit", "variational"}


def test_train_form_with_pause_and_stop(env):
    at = goto(app(), "train")
    at.radio(key="train.preset").set_value("defaults").run()
    # A variational phase far longer than the test waits: the job is still running when Pause is pressed on
    # any machine (with 400 steps a fast CI machine finished the whole job before the click).
    for name, v in (("spectral_steps", 4), ("vae_steps", 100_000), ("hidden", 16), ("latent_dim", 3)):
        at.number_input(key=f"cfg.vdae.defaults.{name}").set_value(v)
    at.button[-1].click()  # the form's submit button
    at.run()
    assert "_job" in at.session_state, texts(at)
    job = at.session_state["_job"]
    # diffusion fit 200 + SpectralNet 4 + decoder fit 100 + variational 100,000 (its cap)
    assert job.model.config.hidden == 16 and job.trainer.total_steps == 100_304
    at.button(key="job.pause").click().run()
    assert at.session_state["_job"].status == "paused"
    # the worker pauses after the slice it is in (a quarter second): wait until the steps stand still
    t0, steps = time.time(), -1
    while job.live.steps_done != steps and time.time() - t0 < 30:
        steps = job.live.steps_done
        time.sleep(0.8)
    time.sleep(0.8)
    at.run()
    assert job.live.steps_done == steps  # paused: no progress
    at.button(key="job.stop2").click().run()
    train_until_done(at)
    from vdae_core.api import load_run

    assert job.status == "stopped" and job.live.stopped_early and load_run(job.run_path).history.stopped_early
    assert job.run_path and os.path.exists(os.path.join(job.run_path, "weights.pt"))


def test_app_training_gives_the_same_weights_as_the_library_for_its_seed(env):
    """The seed on the Train page seeds the initialisation too: the app's model equals train_run's."""
    import torch

    from vdae_core.api import DataConfig, train_run

    at = goto(app(), "train")
    next(n for n in at.number_input if n.label == "Seed").set_value(3).run()
    at.radio(key="train.preset").set_value("defaults").run()
    for name, v in (("spectral_steps", 4), ("vae_steps", 30), ("hidden", 16), ("latent_dim", 3)):
        at.number_input(key=f"cfg.vdae.defaults.{name}").set_value(v)
    at.button[-1].click()
    at.run()
    train_until_done(at)
    job = at.session_state["_job"]
    assert job.status == "done" and job.seed == 3, job.message
    # the same numbers for a seed at the same CPU thread count (the queue gives each training its share of cores)
    from vdae_core.api import load_run

    trained = load_run(job.run_path)
    threads, trained = trained.info["cpu_threads"], trained.model
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ref = train_run(job.model_name, DataConfig(**job.data_config), job.overrides, seed=3, device="cpu").model
    finally:
        torch.set_num_threads(before)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, trained.state_dict()[k]), k


def test_failed_training_keeps_the_previous_run(env, monkeypatch):
    from vdae_core.foundation.errors import TrainingDiverged
    from vdae_core.pipeline import jobs
    from vdae_core.training.trainer import Trainer

    monkeypatch.setenv("VDAE_TRAIN_IN_PROCESS", "1")  # the patched trainer below is this process's
    jobs.reset_queue()

    at = app()
    previous = at.session_state["run_path"]
    assert previous
    n_runs = len(runs_in(env))

    def boom(self, *a, **k):
        raise TrainingDiverged("training diverged: loss became NaN/inf (test)")

    monkeypatch.setattr(Trainer, "advance", boom)
    at.button(key="home.try").click().run()
    train_until_done(at)
    assert at.session_state["_job"].status == "failed"
    assert any("diverged" in e.value for e in at.error)
    assert at.session_state["run_path"] == previous and len(runs_in(env)) == n_runs


def test_two_sessions_do_not_share_a_training(env):
    a = app()
    a.button(key="home.try").click().run()
    assert "_job" in a.session_state
    b = goto(app(), "train")
    assert "_job" not in b.session_state
    assert not any("Training vdae" in s.value for s in b.subheader)
    a.session_state["_job"].status = "discarded"  # end a's job quietly (its thread stops)


PLY_NO_FACES = b"""ply
format ascii 1.0
element vertex 3
property float x
property float y
property float z
end_header
0 0 0
1 0 0
0 1 0
"""


@pytest.mark.parametrize("name,content,message", [
    ("points.xyz", b"1 2 3\n", "unsupported file type"),
    ("empty.npy", b"", "empty"),
    ("corrupt.npy", b"this is not a numpy file", "could not read"),
    ("nan.csv", b"x,y,z\n" + b"1,2,3\n" * 20 + b"nan,1,2\n", "NaN"),
    ("flat.ply", PLY_NO_FACES, "no triangle faces"),
    ("cloud.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no triangle faces"),
    ("few.csv", b"1,2,3\n4,5,6\n", "at least 21"),
    ("bad.zip", b"PK\x03\x04 broken", "not a folder or a zip"),
])
def test_bad_upload_shows_an_error_and_keeps_the_session(env, name, content, message):
    at = goto(app(), "data")
    before = dict(dataset=at.session_state["dataset"], n=at.session_state["n"])
    source(at).set_value("Upload a file").run()
    at.file_uploader(key="w.upload").upload(name, content).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert message.lower() in errors.lower(), errors
    assert "unchanged" in errors
    assert at.session_state["dataset"] == before["dataset"] and at.session_state["n"] == before["n"]
    assert not at.session_state["upload_path"]


def test_good_upload_becomes_the_dataset(env):
    at = goto(app(), "data")
    source(at).set_value("Upload a file").run()
    X = np.random.default_rng(0).normal(size=(60, 3))
    csv = "\n".join(",".join(f"{v:.5f}" for v in row) for row in X).encode()
    at.file_uploader(key="w.upload").upload("mine.csv", csv, "text/csv").run()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"] == "mine.csv"
    assert "Loaded **mine.csv**" in texts(at) or any("60" in str(m.value) for m in at.metric)


def test_too_many_points_for_the_exact_diffusion_map(env):
    at = app()
    at.session_state["n"] = 6000
    goto(at, "data")
    assert "exact diffusion map is shown for up to" in texts(at)
    assert not at.error


def test_data_page_explores_the_diffusion_map(env):
    """Any pair of eigenvectors at a diffusion time t, the spectrum with the latent D marked, and one point's
    t-step random walk drawn on the data."""
    import json

    from vdae_core.api import DataConfig, make_dataset

    at = app()
    at.session_state["n"] = 600
    goto(at, "data")
    at.multiselect(key="data.dims").set_value([0, 3]).run()
    at.select_slider(key="data.t").set_value(5).run()
    at.number_input(key="data.point").set_value(7).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    dm = next(f for f in figs if f["layout"].get("xaxis", {}).get("title", {}).get("text", "").startswith("μ₁⁵φ₁"))
    assert dm["layout"]["yaxis"]["title"]["text"].startswith("μ₄⁵φ₄")  # 2-D: the picked pair, scaled by μᵗ
    spectrum = next(f for f in figs
                    if f["layout"].get("xaxis", {}).get("title", {}).get("text") == "eigenvector index i")
    D = make_dataset(DataConfig(dataset="torus", n=600)).latent_dim_choice().dim
    assert [s["x0"] for s in spectrum["layout"]["shapes"]] == [D + 0.5]
    walk = next(f for f in figs if f["data"][0].get("marker", {}).get("colorbar", {}).get("title", {}).get("text")
                == "P⁵[7, j]")
    assert walk["data"][1]["name"] == "start"
    assert "Row 7 of P⁵" in texts(at) and f"D = {D}" in texts(at)


def test_query_params_reproduce_a_view(env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "sphere"
    at.query_params["model"] = "vdae"
    at.query_params["seed"] = "3"
    at.run()
    assert (at.session_state["dataset"], at.session_state["model"], at.session_state["seed"]) == ("sphere", "vdae", 3)
    goto(at, "latent")
    assert "No saved run for **vdae · sphere · seed 3**" in texts(at)
    at2 = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at2.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0"})
    at2.run()
    goto(at2, "latent")
    assert "Run **vdae · torus · seed 0" in texts(at2)


def test_walk_start_and_compare_evaluation(env):
    at = goto(app(), "walks")
    next(n for n in at.number_input if n.label == "Start vertex").set_value(17).run()
    assert not at.exception and not at.error
    assert at.session_state["walk.starts"][at.session_state["run_path"]] == 17
    goto(at, "compare")
    at.select_slider(key="cmp.n").set_value(250).run()
    at.button(key="cmp.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe) >= 2  # mean ± std table and per-run table
    assert "Mean ± std over seeds (floor)" in texts(at)
    table = at.dataframe[0].value
    assert "(floor " in str(table["memorisation (higher is better)"].iloc[0])
    assert "(floor " in str(table["GW (lower is better)"].iloc[0])
    assert table["GW (paper)"].iloc[0] == "4.9 ± 0.5"  # the VDAE paper's Table 1, torus
    assert any(d.label == "Table (Markdown)" for d in at.get("download_button"))


def test_compare_page_runs_a_sweep_in_the_background_and_tables_it(env):
    """Start a one-run sweep from the page: it trains in a thread, is saved as an ordinary run, evaluated with
    the page's settings, and joins the tables (beside the fixture's VDAE run); the best cell gets a ★."""
    from vdae_core.ui import sweeps

    at = goto(app(), "compare")
    at.multiselect(key="cmp.sweep.datasets").set_value(["torus"]).run()
    at.multiselect(key="cmp.sweep.models").set_value(["beta_vae"]).run()
    at.number_input(key="cmp.sweep.seeds").set_value(1).run()
    at.select_slider(key="cmp.n").set_value(250).run()
    at.button(key="cmp.sweep.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    sweep = next(iter(sweeps._SWEEPS.values()))
    sweep.thread.join(timeout=120)
    assert sweep.status == "done" and sweep.done == 1, sweep.message
    at.run()
    if not at.button(key="cmp.go").disabled:  # evaluate the fixture's run too (unless an earlier test did)
        at.button(key="cmp.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert set(table["model"]) == {"beta_vae", "vdae"}
    assert table.astype(str).apply(lambda col: col.str.contains("★")).any().any()


def test_unknown_dataset_in_the_link_falls_back_with_a_warning(env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "no_such_data"
    at.run()
    goto(at, "data")
    assert at.session_state["dataset"] == "torus"
    assert any("Unknown dataset `no_such_data`" in w.value for w in at.warning)


def test_widgets_follow_programmatic_changes(env):
    """Selecting a run (as the sidebar picker or a finished training does) re-draws the widgets showing the
    selection with the run's values, even on the page that is on screen."""
    at = goto(app(), "data")
    run_path = at.session_state["run_path"]
    points = lambda: next(n for n in at.number_input if n.label == "Points n")  # noqa: E731
    points().set_value(999).run()
    assert at.session_state["n"] == 999 and points().value == 999
    gen = at.session_state["_gen"] if "_gen" in at.session_state else 0
    at.session_state["_pending_run"] = run_path
    at.run()
    from vdae_core.pipeline.run_index import read_run_info

    n_run = read_run_info(run_path).n
    assert at.session_state["n"] == n_run and points().value == n_run != 999
    assert at.session_state["_gen"] > gen


def test_sidebar_run_picker_follows_the_selection(env):
    at = goto(app(), "data")
    picker = lambda: next(s for s in at.sidebar.selectbox if s.label == "Active run")  # noqa: E731
    run_path = at.session_state["run_path"]
    assert picker().value == run_path
    next(s for s in at.selectbox if s.label == "Dataset").set_value("sphere").run()
    assert at.session_state["dataset"] == "sphere" and picker().value is None  # no sphere run: none selected
    picker().set_value(run_path).run()  # picking the torus run selects its dataset again
    assert at.session_state["dataset"] == "torus" and picker().value == run_path
    assert next(s for s in at.selectbox if s.label == "Dataset").value == "torus"


def test_walks_page_reports_distance_to_the_true_manifold(tmp_path, monkeypatch):
    """A dataset without a mesh: the walk caption gives the walkers' distance to the data and, where the
    manifold is known in closed form, to the manifold itself."""
    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("vdae", DataConfig(dataset="circle", n=300, seed=0),
                    dict(spectral_steps=15, vae_steps=20, hidden=32, depth=2, spectral_batch=256, batch_size=128),
                    seed=0, device="cpu")
    save_run(run, str(tmp_path / "circle_vdae_s0"))
    monkeypatch.setenv("VDAE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VDAE_DEMO_STEPS_SCALE", "0.02")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["_pending_run"] = str(tmp_path / "circle_vdae_s0")
    at.run()
    goto(at, "walks")
    assert not at.exception, [e.value for e in at.exception]
    cap = next(c.value for c in at.caption if "data spacings" in c.value)
    assert "to the true manifold" in cap


def test_training_belongs_to_the_server_a_reload_reattaches(env):
    """A reload (a new session of the same browser, i.e. the same owner cookie) finds the running job with
    its curves; the job goes on with no tab watching and its run is saved and becomes active on return."""
    before = set(runs_in(env))
    a = goto(app(), "train")
    owner = a.session_state["_owner"]
    a.radio(key="train.preset").set_value("defaults").run()
    # converge_tol 0 and a variational phase far longer than the test waits, so the job is still running when
    # the reloaded tab stops it on any machine (with the convergence rule, or 3,000 steps on a fast machine,
    # it could end first and the test then saw "done")
    for name, v in (("spectral_steps", 4), ("vae_steps", 100_000), ("hidden", 16), ("latent_dim", 3),
                    ("converge_tol", 0.0)):
        a.number_input(key=f"cfg.vdae.defaults.{name}").set_value(v)
    a.button[-1].click()
    a.run()
    job = a.session_state["_job"]
    assert job.active
    del a  # the tab is closed: nothing drives the job any more
    time.sleep(1.0)
    steps = job.live.steps_done
    assert steps > 0  # the server kept training without a page
    b = AppTest.from_file(APP, default_timeout=TIMEOUT)
    b.session_state["_owner"] = owner  # the reloaded tab: same browser cookie
    b.run()
    goto(b, "train")
    assert b.session_state["_job"] is job
    assert any(s.value.startswith("Training vdae") for s in b.subheader), [s.value for s in b.subheader]
    assert len(b.get("plotly_chart")) >= 1  # the live loss curves
    c = goto(app(), "train")  # another browser sees nothing of it
    assert "_job" not in c.session_state
    b.button(key="job.stop").click().run()
    train_until_done(b)
    assert job.status == "stopped" and len(set(runs_in(env)) - before) == 1
    assert b.session_state["run_path"] == job.run_path


def test_paper_preset_fills_the_train_form_with_the_papers_settings(env):
    at = goto(app(), "train")
    at.radio(key="train.preset").set_value("paper").run()
    assert not at.exception
    assert at.number_input(key="cfg.vdae.paper.hidden").value == 512
    assert at.number_input(key="cfg.vdae.paper.depth").value == 1
    assert any("Paper preset — VDAE paper" in c.value for c in at.caption)


def _pending_app(tmp_path, monkeypatch, run_name):
    monkeypatch.setenv("VDAE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VDAE_DEMO_STEPS_SCALE", "0.02")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["_pending_run"] = str(tmp_path / run_name)
    at.run()
    return at


def test_latent_page_scores_the_loop_of_a_turntable_beside_its_floor(tmp_path, monkeypatch):
    """Issue 13: on an image set with a true angle, the Latent page shows |ρ| and the permutation floor."""
    from vdae_core.api import DataConfig, save_run, train_run
    from vdae_core.metrics.angle_recovery import angle_recovery

    run = train_run("vdae", DataConfig(dataset="aloi", n=72), dict(spectral_steps=60, vae_steps=10, hidden=32,
                                                                     depth=2), seed=0, device="cpu")
    save_run(run, str(tmp_path / "aloi_vdae"))
    at = goto(_pending_app(tmp_path, monkeypatch, "aloi_vdae"), "latent")
    metrics = {m.label: m.value for m in at.metric}
    score = angle_recovery(run.model.latent_space, run.model.encode(run.dataset.X), run.dataset.params,
                           run.dataset.param_names, run.dataset.periodic)["min"]
    assert metrics["|ρ| latent angle vs true angle"] == f"{score:.3f}"
    assert float(metrics["floor (no relation)"]) < 0.3
    assert "300°" in texts(at)


def test_colour_image_runs_draw_their_thumbnails_grid_and_filmstrip_in_colour(tmp_path, monkeypatch):
    """Issue 13: an RGB image set goes through the Latent and Walks pages (thumbnails, decoded mosaic, filmstrip)."""
    import base64
    import json

    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("beta_vae", DataConfig(dataset="turntable_rgb", n=40), dict(steps=5, latent_dim=2, hidden=32),
                    seed=0, device="cpu")
    save_run(run, str(tmp_path / "rgb_beta"))
    at = goto(_pending_app(tmp_path, monkeypatch, "rgb_beta"), "latent")
    assert not at.exception
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    mosaic = next(f for f in figs if f["layout"].get("title", {}).get("text", "").startswith("decoded images"))
    z = mosaic["data"][0]["z"]  # plotly's binary array: base64 bytes, dtype and shape
    z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(
        [int(v) for v in z["shape"].split(",")])
    assert z.ndim == 3 and z.shape[2] == 3 and np.ptp(z.astype(int), axis=2).max() > 0  # colour, not grey
    thumbs = next(f for f in figs if f["layout"].get("images"))
    assert thumbs["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    at = goto(at, "walks")
    assert not at.exception
    assert any("walkers (rows) step by step" in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
               for c in at.get("plotly_chart"))


@pytest.mark.slow  # ~20 s; the page itself renders in the default suite (test_every_page_renders[audit])
def test_audit_page_finds_the_tear_of_a_circle_laid_on_a_line(tmp_path, monkeypatch):
    """Issue 14: the Audit page's persistence summary, tear counts and prior holes for a 1-D latent on the circle."""
    from vdae_core.api import DataConfig, save_run, train_run
    from vdae_core.metrics.tears import tears_and_folds

    run = train_run("beta_vae", DataConfig(dataset="circle", n=500), dict(steps=400, latent_dim=1), seed=0,
                    device="cpu")
    save_run(run, str(tmp_path / "line"))
    at = goto(_pending_app(tmp_path, monkeypatch, "line"), "audit")
    assert "1 loop found in the data" in texts(at)
    want = tears_and_folds(run.dataset.X, run.model.encode(run.dataset.X)).summary()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["torn edges"] == str(want["torn_edges"]) and want["torn_edges"] > 0
    # The prior-hole map shows the library's numbers for the saved run.
    from vdae_core.api import load_run
    from vdae_core.study.topology import prior_hole_report
    holes = prior_hole_report(load_run(str(tmp_path / "line")))[0]
    assert metrics["prior codes in a hole"] == f"{holes['hole_share']:.1%}"
    assert metrics["decoded off the data"] == f"{holes['off_share']:.1%}"


def test_walks_page_shows_whether_walkers_keep_their_class(tmp_path, monkeypatch):
    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("vdae", DataConfig(dataset="digits", n=400), dict(spectral_steps=20, vae_steps=10, hidden=32,
                                                                        depth=2), seed=0, device="cpu")
    save_run(run, str(tmp_path / "digits_vdae"))
    at = goto(_pending_app(tmp_path, monkeypatch, "digits_vdae"), "walks")
    assert "Do walkers stay in their class?" in texts(at)
    cap = next(c.value for c in at.caption if "carry their start's label" in c.value)
    assert "chance: 10%" in cap


def test_an_uploaded_turntable_can_declare_its_file_order_a_circle(env, tmp_path):
    import io
    import zipfile

    from PIL import Image

    from vdae_core.api import DataConfig, make_dataset

    ds = make_dataset(DataConfig(dataset="turntable", n=24, seed=0))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, im in enumerate(ds.images[np.argsort(ds.params[:, 0])]):
            b = io.BytesIO()
            Image.fromarray(im).save(b, format="PNG")
            zf.writestr(f"view_{i:02d}.png", b.getvalue())
    at = goto(app(), "data")
    source(at).set_value("Upload a file").run()
    at.file_uploader(key="w.upload").upload("spin.zip", buf.getvalue(), "application/zip").run()
    at.run()
    order = next(r for r in at.radio if r.label.startswith("What is the order of the files"))
    assert order.value == "line"
    order.set_value("circle").run()
    assert not at.exception and at.session_state["order"] == "circle"
    colour = next(s for s in at.selectbox if s.label == "Colour by (ground truth)")
    assert "angle (file order)" in colour.options


def test_latent_page_says_why_a_line_latent_has_no_loop_score(tmp_path, monkeypatch):
    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("beta_vae", DataConfig(dataset="circle", n=200), {"latent_dim": 1, "steps": 20}, seed=0,
                    device="cpu")
    save_run(run, str(tmp_path / "line"))
    at = goto(_pending_app(tmp_path, monkeypatch, "line"), "latent")
    assert any("No loop score" in c.value and "1-D Euclidean" in c.value for c in at.caption)


def test_audit_page_measures_seed_stability_of_the_saved_seeds(tmp_path, monkeypatch):
    """Issue 14, part 4 in the app: with one seed saved the page says how to get more; with two it reads both at
    the same fresh points and shows the library's numbers (tiny runs: this checks the wiring, not the result)."""
    from vdae_core.api import DataConfig, save_run, train_run
    from vdae_core.study.stability import stability_of_paths

    for seed in (0, 1):
        run = train_run("beta_vae", DataConfig(dataset="circle", n=200, seed=seed), dict(steps=30, latent_dim=1),
                        seed=seed, device="cpu")
        save_run(run, str(tmp_path / f"s{seed}"))
        if seed == 0:
            at = goto(_pending_app(tmp_path, monkeypatch, "s0"), "audit")
            assert not at.exception
            assert any("stability needs at least 2 seeds" in i.value for i in at.info)
    at = goto(_pending_app(tmp_path, monkeypatch, "s0"), "audit")
    assert at.multiselect(key="audit.stab_seeds").value == [0, 1]
    at.toggle(key="audit.stab_on").set_value(True).run()
    assert not at.exception
    want = stability_of_paths([str(tmp_path / "s0"), str(tmp_path / "s1")]).summary()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["points torn by every seed"] == str(want["points_torn_by_every_seed"])
    assert metrics["median CV of bi-Lipschitz"] == f"{want['bilip_cv_median']:.2f}"


def test_compare_leaves_a_run_that_stopped_early_out_of_its_means_unless_asked(env, tmp_path):
    """Issue 15: a half-trained run is marked and left out of Compare's means by default; the toggle includes it."""
    import json
    import shutil

    def torus_vdae(p):  # the page below is filtered to torus + vdae: copy such a run (folder order is arbitrary)
        meta = json.loads((p / "run.json").read_text()) if (p / "run.json").exists() else {}
        return meta.get("model") == "vdae" and meta.get("data_config", {}).get("dataset") == "torus"

    src = next(p for p in sorted(env.iterdir()) if torus_vdae(p))
    half = env / "stopped_copy"
    shutil.copytree(src, half)
    meta = json.loads((half / "run.json").read_text())
    meta["seed"] = 7
    meta.setdefault("info", {})["stopped_early"] = True
    (half / "run.json").write_text(json.dumps(meta))
    try:
        at = goto(app(), "compare")
        at.multiselect(key="cmp.datasets").set_value(["torus"]).run()
        at.multiselect(key="cmp.models").set_value(["vdae"]).run()
        at.select_slider(key="cmp.n").set_value(250).run()
        toggle = at.toggle(key="cmp.stopped")
        assert toggle.label.startswith("Include ") and toggle.label.endswith(" run(s) that stopped early")
        assert int(toggle.label.split()[1]) >= 1 and toggle.value is False  # ours, and any other test's
        if not at.button(key="cmp.go").disabled:  # another test may have evaluated these runs already
            at.button(key="cmp.go").click().run()
        per_run = at.dataframe[-1].value
        assert 7 not in set(per_run["seed"]) and set(per_run["finished"]) == {"yes"}
        runs_before = int(at.dataframe[0].value["runs"].sum())
        at.toggle(key="cmp.stopped").set_value(True).run()
        if not at.button(key="cmp.go").disabled:
            at.button(key="cmp.go").click().run()
        assert not at.exception
        per_run = at.dataframe[-1].value
        assert "stopped early" in set(per_run.loc[per_run["seed"] == 7, "finished"])
        assert int(at.dataframe[0].value["runs"].sum()) > runs_before  # now averaged in, on purpose
    finally:
        shutil.rmtree(half)


def test_a_link_reopens_the_same_run_and_walk_view_in_a_fresh_session(env):
    """Issue 15: the URL carries the run's id (its folder name) and the walk view; a fresh session given that link
    opens the same run with the same start, walkers, steps and seed. A link to a run that is not here says so."""
    at = goto(app(), "walks")
    run_name = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    assert (env / run_name / "run.json").exists()  # the id of the run the page shows (the newest torus VDAE)
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0", "run": run_name, "start": "17",
                               "walkers": "50", "steps": "5", "walk_seed": "3"})
    fresh.run()
    goto(fresh, "walks")
    assert not fresh.exception and not fresh.warning
    path = fresh.session_state["run_path"]
    assert path.endswith(run_name) and fresh.session_state["walk.starts"][path] == 17
    assert (fresh.slider(key="walks.n").value, fresh.slider(key="walks.steps").value) == (50, 5)
    assert fresh.number_input(key="walks.seed").value == 3
    fresh.slider(key="walks.steps").set_value(6).run()  # the view's settings stay after the link was read
    assert fresh.session_state["walk.starts"][path] == 17 and fresh.slider(key="walks.n").value == 50
    gone = AppTest.from_file(APP, default_timeout=TIMEOUT)
    gone.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0", "run": "no_such_run"})
    gone.run()
    assert any("no_such_run" in w.value and "not on this server" in w.value for w in gone.warning)


def test_train_page_states_the_points_training_will_see_and_the_live_presets_cost(env):
    """An image set smaller than the n asked for shows its own size (ALOI: 72 views, n asked 2,000), and the
    VDAE's Live preset shows its measured time and quality beside the defaults' (issues 15 and 16)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"dataset": "aloi", "model": "vdae", "n": "2000"})
    at.run()
    goto(at, "train")
    assert "n = 72 " in texts(at) and "n = 2,000" not in texts(at)
    options = at.radio(key="train.preset").options  # one short preset, named Quick, for every model (issue 33)
    assert options[0].startswith("Quick") and not any(o.startswith("Live") for o in options)
    at.radio(key="train.preset").set_value("quick").run()
    assert "Quick preset: the same model trained for fewer steps" in texts(at)
    table = at.dataframe[0].value
    assert set(table["settings"]) == {"defaults", "quick"} and {"circle", "sphere", "torus"} <= set(table["dataset"])


def test_the_timer_counts_wall_time_without_the_pauses(monkeypatch):
    """The progress line's timer is wall time since the start, less the time spent paused (issue 15)."""
    from vdae_core.ui import jobs

    clock = [1000.0]
    monkeypatch.setattr(jobs.time, "time", lambda: clock[0])
    job = jobs.TrainingJob("vdae", {}, {}, 0, dataset=None, model=None, trainer=None, started=clock[0])
    clock[0] += 10
    assert job.wall_seconds() == 10
    jobs.set_paused(job, True)
    clock[0] += 30                      # paused: the timer stands still
    assert job.wall_seconds() == 10
    jobs.set_paused(job, False)
    clock[0] += 5
    assert job.wall_seconds() == 15
    job.finished = clock[0]
    clock[0] += 100                     # finished: the timer stops
    assert job.wall_seconds() == 15


def test_latent_page_inspects_a_clicked_point_with_its_neighbours_and_decoded_image(tmp_path, monkeypatch):
    """Issue 15: the point inspector (a click on the 2-D latent view stores the point; here set directly)."""
    from vdae_core.study.analysis import inspect_point
    from vdae_core.api import DataConfig, save_run, train_run

    run = train_run("beta_vae", DataConfig(dataset="turntable_rgb", n=40), dict(steps=5, latent_dim=2, hidden=32),
                    seed=0, device="cpu")
    save_run(run, str(tmp_path / "rgb_beta"))
    at = goto(_pending_app(tmp_path, monkeypatch, "rgb_beta"), "latent")
    assert "click one (2-D view) to inspect it" in texts(at)
    at.session_state["latent.inspect"] = (str(tmp_path / "rgb_beta"), 5)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Point 5" in texts(at)
    want = inspect_point(run.model, run.dataset.X, run.model.encode(run.dataset.X), 5, k=10)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["data neighbours kept among the codes"] == f"{int(round(want.shared * 10))} of 10"
    assert metrics["reconstruction error"] == f"{want.reconstruction_error:.2f} spacings"
    captions = [im.caption for el in at.get("image") for im in el.proto.imgs]
    assert "point 5" in captions and "decoded from its code" in captions   # the image and its reconstruction
    at.button(key="latent.inspect.close").click().run()
    assert "Point 5" not in texts(at)


def _run_line(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Run **"))


def test_a_second_training_of_the_same_dataset_model_and_seed_is_what_every_page_shows(tmp_path, monkeypatch):
    """Issue 28: train beta_vae on the circle with seed 0 twice (latent 2, then 1): every page names and
    shows the second run (its folder and its 1-D latent); picking the first in the sidebar brings every
    page back to it. The picker tells the two apart by what differs (latent_dim) and by time."""
    monkeypatch.setenv("VDAE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VDAE_DEMO_STEPS_SCALE", "0.02")
    at = goto(app(), "data")
    next(s for s in at.selectbox if s.label == "Dataset").set_value("circle").run()
    goto(at, "train")
    next(s for s in at.selectbox if s.label == "Model").set_value("beta_vae").run()
    paths = []
    for dim in (2, 1):
        at.number_input(key="cfg.beta_vae.quick.latent_dim").set_value(dim)  # a form field: sent on submit
        at.button[-1].click()
        at.run()
        train_until_done(at)
        job = at.session_state["_job"]
        assert job.status == "done" and job.model.latent_dim == dim, job.message
        paths.append(job.run_path)
        time.sleep(1.05)  # the runs' saved times differ by a second at least
    first, second = paths
    assert runs_in(tmp_path) == sorted(os.path.basename(p) for p in paths)

    def shows(path: str, dim: int) -> None:
        name = os.path.basename(path)
        for page in ("latent", "walks", "bilipschitz", "audit"):
            goto(at, page)
            assert at.session_state["run_path"] == path, page
            line = _run_line(at)
            assert name in line and f"latent_dim {dim}" in line, (page, line)
        goto(at, "latent")
        assert ("R¹" if dim == 1 else "R²") in _run_line(at)
        picker = next(s for s in at.sidebar.selectbox if s.label == "Active run")
        assert picker.value == path
        caption = " ".join(c.value for c in at.sidebar.caption)
        assert name in caption and f"latent_dim {dim}" in caption

    shows(second, 1)
    picker = next(s for s in at.sidebar.selectbox if s.label == "Active run")
    opts = picker.options  # labels as the browser shows them
    assert any("latent_dim 1" in o for o in opts) and any("latent_dim 2" in o for o in opts), opts
    assert all("preset Quick" not in o for o in opts)  # the same preset: not what tells them apart
    picker.set_value(first).run()
    assert not at.exception, [e.value for e in at.exception]
    shows(first, 2)


def _npy_bytes(X) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, X)
    return buf.getvalue()


def test_compare_judges_an_uploaded_sample_file_against_a_built_in_dataset(env, tmp_path, monkeypatch):
    """Issue 31: samples from any model, uploaded on the Compare page, are judged by the protocol against a fresh
    sample of the law; a ring a fifth too small is flagged and all off the data; a file of the wrong width is a
    one-line error and the page goes on."""
    monkeypatch.setenv("VDAE_UPLOADS_DIR", str(tmp_path / "uploads"))
    from vdae_core.data import DataConfig, make_dataset

    ring = 0.8 * make_dataset(DataConfig(dataset="circle", n=400, seed=3)).X  # the circle's own embedding, shrunk
    at = goto(app(), "compare")
    at.file_uploader(key="cmp.byo.file").upload("ring.npy", _npy_bytes(ring)).run()
    at.selectbox(key="cmp.byo.dataset").set_value("circle").run()
    at.button(key="cmp.byo.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "floor (exact samples)" in d.value.columns)
    row = dict(zip(table["metric"], table["value"]))
    assert row["off the data (lower is better)"] == "1 ⚑" and "⚑" in row["MMD² (h/20) (lower is better)"]
    said = dict(zip(table["metric"], table["verdict"]))  # the plain line agrees with the flag
    assert said["off the data (lower is better)"].endswith("some samples land well away from the data")
    assert all(v.startswith("inside the noise floor") == ("⚑" not in row[m]) for m, v in said.items())
    assert any("ring.npy: 400 points judged" in c.value for c in at.caption)
    flat = np.random.default_rng(0).normal(size=(50, 2))
    at.file_uploader(key="cmp.byo.file").upload("flat.npy", _npy_bytes(flat)).run()
    at.button(key="cmp.byo.go").click().run()
    assert not at.exception and any(f"expected shape (n, {ring.shape[1]})" in e.value for e in at.error)


def test_audit_any_map_page_reads_uploaded_points_and_codes(env):
    """A circle and its angle uploaded as files: the page shows the torn edges the CLI finds, the codes' lost
    loop, and a bad codes file gets one line while the shown audit stays."""
    from vdae_core.study.map_audit import map_audit

    at = goto(app(), "map_audit")
    at.button(key="map.example").click().run()
    assert not at.exception, [e.value for e in at.exception]
    t = np.sort(np.random.default_rng(3).uniform(0, 2 * np.pi, 300))
    X = np.stack([np.cos(t), np.sin(t), 0.1 * np.sin(3 * t)], 1)
    at.file_uploader(key="map.points").upload("x.npy", _npy_bytes(X))
    at.file_uploader(key="map.codes").upload("z.npy", _npy_bytes(t[:, None]))
    at.run()
    at.button(key="map.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    torn = map_audit(X, t[:, None])[0]["tears_folds"]["torn_edges"]
    metrics = {m.label: m.value for m in at.metric}
    assert torn > 0 and metrics["torn edges"] == str(torn)
    body = texts(at)
    assert "x.npy → z.npy" in body and "tears" in body and "(1, 0)" in body
    at.file_uploader(key="map.codes").upload("bad.npy", _npy_bytes(t[:-4, None]))
    at.run()
    at.button(key="map.go").click().run()
    assert not at.exception
    assert any("296 codes" in e.value for e in at.error), [e.value for e in at.error]
    assert "x.npy → z.npy" in texts(at)  # the previous audit is still shown


def test_every_page_reads_an_encoder_only_learner(runs_dir, monkeypatch, tmp_path):
    """An Isomap run (no decoder, no samples): every page opens it; those that need a decoder or samples say
    why in a sentence instead of failing, and the audit shows its codes' topology."""
    import shutil

    from vdae_core.api import DataConfig, save_run, train_run

    root = tmp_path / "runs"
    shutil.copytree(runs_dir, root)
    save_run(train_run("isomap", DataConfig(dataset="torus", n=400, seed=0), {}, seed=0, device="cpu"),
             str(root / "torus_isomap_s0"))
    monkeypatch.setenv("VDAE_RUNS_DIR", str(root))
    for page in ("latent", "walks", "bilipschitz", "audit", "compare"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params.update({"dataset": "torus", "model": "isomap", "seed": "0"})
        at.run()
        goto(at, page)
        assert not at.error, (page, [e.value for e in at.error])
        body = texts(at)
        if page == "walks":
            assert "Isomap has no decoder" in body
        if page == "latent":  # no generated points to embed; the inspector compares neighbourhoods only
            assert "Isomap generates no new points" in body
            at.session_state["latent.inspect"] = (at.session_state["run_path"], 3)
            at.run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            assert any(m.value == "— (no decoder)" for m in at.metric)
        if page == "audit":
            assert "latent codes" in body and "generates no new points" in body
        if page == "compare":  # the maps table: the learner's row beside the VDAE fixture's, no sample metrics
            at.toggle(key="cmp.maps").set_value(True).run()
            assert not at.exception, [e.value for e in at.exception]
            df = at.dataframe[-1].value
            assert {"isomap", "vdae"} <= set(df["model"]) and {"torn edges", "RTD", "Betti codes (data)"} <= set(df)


def test_audit_any_map_page_takes_a_torchscript_model_and_refuses_a_pickle(env, tmp_path):
    import io

    import torch

    class Double(torch.nn.Module):
        def forward(self, x):
            return 2.0 * x

        @torch.jit.export
        def encode(self, x):
            return 2.0 * x

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Double()), buf)
    t = np.sort(np.random.default_rng(4).uniform(0, 2 * np.pi, 300))
    X = np.stack([np.cos(t), np.sin(t)], 1)
    at = goto(app(), "map_audit")
    at.file_uploader(key="map.points").upload("x.npy", _npy_bytes(X))
    at.file_uploader(key="map.codes").upload("double.pt", buf.getvalue())
    at.run()
    at.button(key="map.go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["torn edges"] == "0" and "x.npy → double.pt" in texts(at)  # a similarity tears nothing
    pickled = io.BytesIO()
    torch.save({"weights": torch.ones(3)}, pickled, _use_new_zipfile_serialization=False)  # a plain pickle
    at.file_uploader(key="map.codes").upload("model.pt", pickled.getvalue())
    at.run()
    at.button(key="map.go").click().run()
    assert not at.exception
    assert any("never unpickles" in e.value for e in at.error), [e.value for e in at.error]
    assert "x.npy → double.pt" in texts(at)


def test_uploaded_codes_open_as_a_private_run_the_latent_page_reads(env):
    """The map page's "Open as a run": an encoder-only run of the uploaded codes, owned by this browser (another
    browser does not list it), whose codes of the training points are the uploaded ones."""
    from vdae_core.pipeline.runs import load_run

    t = np.sort(np.random.default_rng(7).uniform(0, 2 * np.pi, 250))
    X = np.stack([np.cos(t), np.sin(t), 0.2 * np.cos(2 * t)], 1)
    at = goto(app(), "map_audit")
    at.file_uploader(key="map.points").upload("pts.npy", _npy_bytes(X))
    at.file_uploader(key="map.codes").upload("angle.npy", _npy_bytes(t))  # a vector: one column
    at.run()
    at.button(key="map.go").click().run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="map.open").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    train_until_done(at)
    job = at.session_state["_job"]
    assert job.status == "done", job.message
    run = load_run(job.run_path)
    assert run.owner and run.model.name == "imported_codes"
    Xt = run.dataset.X
    rows = [int(np.argmin(np.linalg.norm(X - x, axis=1))) for x in Xt]
    np.testing.assert_allclose(run.model.encode(Xt)[:, 0], t[rows], rtol=1e-5)
    at.run()
    assert at.session_state["run_path"] == job.run_path  # the active run
    goto(at, "latent")
    assert not at.error, [e.value for e in at.error]
    assert "imported codes" in texts(at) or "imported_codes" in texts(at)
    from vdae_core.pipeline.run_index import list_run_infos

    mine = [i.path for i in list_run_infos(str(env), viewer=run.owner)]
    theirs = [i.path for i in list_run_infos(str(env), viewer="another-browser")]
    assert job.run_path in mine and job.run_path not in theirs


# -- issue 33 (item 2): two runs side by side on the Latent, Random walks, Bi-Lipschitz and Topology audit pages --
@pytest.fixture(scope="module")
def pair_runs(runs_dir, tmp_path_factory):
    """The fixture's torus VDAE (latent R³) beside a β-VAE (R³) on the same 400 torus points, a β-VAE on the circle
    (other data) and an Isomap (no decoder, no prior) on the same torus."""
    import shutil

    from vdae_core.api import DataConfig, save_run, train_run

    root = tmp_path_factory.mktemp("pair_runs")
    shutil.copytree(runs_dir / "torus_vdae_s0_fixture", root / "torus_vdae_s0_fixture")
    torus = DataConfig(dataset="torus", n=400, seed=0)
    save_run(train_run("beta_vae", torus, dict(steps=20, latent_dim=3, hidden=32), seed=0, device="cpu"),
             str(root / "torus_beta_s0"))
    save_run(train_run("beta_vae", DataConfig(dataset="circle", n=300, seed=0), dict(steps=20, latent_dim=2,
                                                                                      hidden=32), seed=0, device="cpu"),
             str(root / "circle_beta_s0"))
    save_run(train_run("isomap", torus, {}, seed=0, device="cpu"), str(root / "torus_isomap_s0"))
    return root


def _compare_app(root, monkeypatch, page: str, other: str) -> AppTest:
    """A fresh session on the fixture's torus VDAE whose link compares it with the run folder ``other``."""
    monkeypatch.setenv("VDAE_RUNS_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0", "run": "torus_vdae_s0_fixture",
                            "compare": other})
    at.run()
    goto(at, page)
    assert not at.error, [e.value for e in at.error]
    assert next(t for t in at.toggle if t.label == "Compare with another run").value
    return at


def _charts(at: AppTest) -> dict:
    """The page's plotly figures by widget key (the end of the element id), as JSON."""
    import json

    return {c.proto.id.split("-", 5)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _metrics(at: AppTest, label: str) -> list:
    return [m.value for m in at.metric if m.label == label]


def test_latent_page_shows_two_runs_side_by_side_on_one_colour_scale(pair_runs, monkeypatch):
    at = _compare_app(pair_runs, monkeypatch, "latent", "torus_beta_s0")
    body = texts(at)
    assert "**A** · Run **vdae · torus · seed 0" in body and "**B** · Run **beta_vae · torus · seed 0" in body
    assert "B is on other data" not in body
    at.selectbox(key="latent.colour").set_value("phi").run()
    charts = _charts(at)
    assert {"latent.scatter", "latent.scatter.b"} <= set(charts)
    a, b = (charts[k]["data"][0]["marker"] for k in ("latent.scatter", "latent.scatter.b"))
    assert (a["cmin"], a["cmax"]) == (b["cmin"], b["cmax"])          # one colour scale for both runs
    assert "One colour scale for both runs." in texts(at)
    assert len(_metrics(at, "floor (no relation)")) == 2              # both runs' loop scores
    # both in 3-D: one figure, one scene per run, cameras linked (an embedded plotly.js figure)
    at.radio(key="latent.mode").set_value("3D").run()
    assert not at.exception, [e.value for e in at.exception]
    frame_html = at.get("iframe")[0].proto.srcdoc
    # plotly writes "·" as it is (orjson) or as \u00b7 (the json module): the titles in either spelling
    for title in ("A: vdae · torus · seed 0", "B: beta_vae · torus · seed 0"):
        assert title in frame_html or json.dumps(title)[1:-1] in frame_html, title
    assert "scene2" in frame_html and "plotly_relayout" in frame_html
    # B on other data is said so
    at = _compare_app(pair_runs, monkeypatch, "latent", "circle_beta_s0")
    assert any("B is on other data" in i.value and "circle" in i.value for i in at.info)


def test_walks_page_walks_both_runs_with_one_camera_and_one_convergence_figure(pair_runs, monkeypatch):
    at = _compare_app(pair_runs, monkeypatch, "walks", "torus_beta_s0")
    frames = at.get("iframe")
    assert len(frames) == 1  # the same mesh: ONE figure, a scene per learned walk and the shared true walk
    html = frames[0].proto.srcdoc
    assert "A: learned walk (model)" in html and "B: learned walk (model)" in html
    assert "true diffusion walk on the mesh graph" in html and "plotly_relayout" in html  # linked cameras
    charts = _charts(at)
    assert {"walks.burst", "walks.burst.b", "walks.tv"} <= set(charts)
    names = [t["name"] for t in charts["walks.tv"]["data"]]
    assert sum(n.startswith("A · learned walk") for n in names) == 1 and \
        sum(n.startswith("B · learned walk") for n in names) == 1
    assert names.count("true walk (exact)") == 1  # the same true walk, drawn once
    assert "The true walk is the same for both runs" in texts(at)
    # a run without a decoder says why it does not walk, and A still walks
    at = _compare_app(pair_runs, monkeypatch, "walks", "torus_isomap_s0")
    assert any(i.value.startswith("**B** · Isomap has no decoder") for i in at.info)
    assert "walks.tv" in _charts(at) and len(at.get("iframe")) == 1
    # other data: each run in its own column, its own figures, the same y-range
    at = _compare_app(pair_runs, monkeypatch, "walks", "circle_beta_s0")
    charts = _charts(at)
    assert {"walks.tv", "walks.tv.b", "walks.anim.b"} <= set(charts)
    assert charts["walks.tv"]["layout"]["yaxis"]["range"] == charts["walks.tv.b"]["layout"]["yaxis"]["range"]


def test_bilipschitz_page_draws_both_runs_on_one_colour_range(pair_runs, monkeypatch):
    from vdae_core.api import load_run
    from vdae_core.study.analysis import per_point_bilipschitz
    from vdae_core.viz.bilip import colour_limits

    at = _compare_app(pair_runs, monkeypatch, "bilipschitz", "circle_beta_s0")
    assert any("B is on other data" in i.value for i in at.info)
    limits, medians = [], []
    for name in ("torus_vdae_s0_fixture", "circle_beta_s0"):
        run = load_run(str(pair_runs / name))
        res = per_point_bilipschitz(run.model, run.dataset.X, k=10, n_points=1500, seed=0)
        limits.append(colour_limits(res.scale_free)[1])
        medians.append(f"{res.summary('scale_free')['median']:.3g}")
    assert _metrics(at, "median K") == medians  # both runs' headline numbers, A then B
    assert len(_metrics(at, "infinite K")) == 2
    charts = _charts(at)
    heatmaps = ["bilip.data", "bilip.data.b", "bilip.latent", "bilip.latent.b"]
    assert set(heatmaps) <= set(charts) and {"bilip.hist", "bilip.hist.b"} <= set(charts)
    for key in heatmaps:  # ONE colour range on all four views: the larger of the two runs' own limits
        points = next(t for t in charts[key]["data"] if t.get("marker", {}).get("colorscale"))
        assert points["marker"]["cmax"] == pytest.approx(max(limits)), key
    ha, hb = charts["bilip.hist"], charts["bilip.hist.b"]
    assert ha["data"][0]["xbins"] == hb["data"][0]["xbins"]
    assert ha["layout"]["xaxis"]["range"] == hb["layout"]["xaxis"]["range"]


def test_audit_page_shows_both_runs_headline_numbers_in_two_columns(pair_runs, monkeypatch):
    at = _compare_app(pair_runs, monkeypatch, "audit", "torus_beta_s0")
    for label in ("loops in the data", "loops in the codes", "loops in the samples", "torn edges", "points at a tear",
                  "prior codes in a hole", "decoded off the data"):
        assert len(_metrics(at, label)) == 2, label
    assert _metrics(at, "loops in the data")[0] == _metrics(at, "loops in the data")[1]  # the same data
    charts = _charts(at)
    for key in ("audit.persistence", "audit.holes", "audit.tears"):
        assert {key, f"{key}.b"} <= set(charts), key
    assert len(at.dataframe) >= 2  # both runs' distance tables
    # a run without an encoder or prior (Isomap): that column says so, the other shows its numbers
    at = _compare_app(pair_runs, monkeypatch, "audit", "torus_isomap_s0")
    assert any("Isomap draws no latent codes of its own to decode" in i.value for i in at.info)
    assert len(_metrics(at, "prior codes in a hole")) == 1 and len(_metrics(at, "torn edges")) == 2


def test_the_comparison_follows_the_user_across_pages_and_into_the_link(pair_runs, monkeypatch):
    """Turned on on one page, the comparison (and the run picked) holds on the next; the URL carries the other run
    (``compare=<folder>``) and loses it when turned off; a link to a run that is not here says so."""
    monkeypatch.setenv("VDAE_RUNS_DIR", str(pair_runs))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0", "run": "torus_vdae_s0_fixture"})
    at.run()
    goto(at, "bilipschitz")
    assert "compare" not in at.query_params and len(_metrics(at, "median K")) == 1
    next(t for t in at.toggle if t.label == "Compare with another run").set_value(True).run()
    picker = next(s for s in at.selectbox if s.label == "the other run (B)")
    assert str(pair_runs / "torus_vdae_s0_fixture") not in picker.options  # the active run is A, not a choice
    picker.set_value(str(pair_runs / "torus_isomap_s0")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["compare"] in ("torus_isomap_s0", ["torus_isomap_s0"])
    goto(at, "audit")
    assert next(t for t in at.toggle if t.label == "Compare with another run").value
    assert next(s for s in at.selectbox if s.label == "the other run (B)").value == str(pair_runs / "torus_isomap_s0")
    next(t for t in at.toggle if t.label == "Compare with another run").set_value(False).run()
    assert "compare" not in at.query_params and len(_metrics(at, "torn edges")) == 1
    gone = AppTest.from_file(APP, default_timeout=TIMEOUT)
    gone.query_params.update({"dataset": "torus", "model": "vdae", "seed": "0", "compare": "no_such_run"})
    gone.run()
    goto(gone, "latent")
    assert any("no_such_run" in w.value and "not on this server" in w.value for w in gone.warning)


def test_headline_numbers_carry_verdicts_and_the_sidebar_a_glossary(env):
    """Issue 33 (item 4): the audit's prior holes and the bi-Lipschitz median carry a verdict in words, the audit's
    distance table a verdict column, and every page's sidebar the glossary."""
    at = goto(app(), "audit")
    assert "**Verdict:**" in texts(at) and ("holes" in texts(at))
    assert "verdict" in at.dataframe[0].value.columns
    assert any(e.label == "Glossary" for e in at.sidebar.expander)
    at = goto(app(), "bilipschitz")
    assert any(str(m.value).startswith("**Verdict:** median K") for m in at.markdown)

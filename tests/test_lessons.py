"""The Lessons (issue 33, item 1): registry, one training path, cache, measured answers, handout, CLI."""
import copy
import json
import os

import numpy as np
import pytest

from vdae_core.foundation.registry import DATASETS, LESSONS, MODELS
from vdae_core.lessons import get_lesson, lessons, run_lesson
from vdae_core.lessons.base import LessonRun, cache_path, is_ready, run_folder
from vdae_core.lessons.handout import handout_html, inline_markdown
from vdae_core.lessons.measures import correlation_ratio

SCALE = 0.1  # training lengths × 0.1: the lessons' shapes in seconds (the slow tests run them at full length)
PAGES = {"data", "latent", "walks", "bilipschitz", "audit"}


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    """Every lesson run once into one runs root (shared runs are trained once)."""
    root = str(tmp_path_factory.mktemp("lesson_runs"))
    return root, {L.key: run_lesson(L, root=root, scale=SCALE) for L in lessons()}


def test_seven_lessons_registered_in_order_with_everything_a_lesson_needs():
    ls = lessons()
    assert len(ls) >= 7
    assert [LESSONS.tags(L.key)["order"] for L in ls] == sorted(LESSONS.tags(L.key)["order"] for L in ls)
    for L in ls:
        assert L.title and L.intro and L.question.endswith("?") and L.runs, L.key
        assert L.open_page in PAGES and L.open_role in {r.role for r in L.runs}, L.key
        assert len({r.role for r in L.runs}) == len(L.runs)
        for r in L.runs:  # built-in data and registered models only: lesson runs are shared on the server
            assert r.data["dataset"] in DATASETS.names() and r.model in MODELS.names(), (L.key, r)
    with pytest.raises(Exception, match="unknown lesson"):
        get_lesson("no_such_lesson")


def test_run_digest_names_model_data_settings_and_seed():
    a = LessonRun("a", "A", "beta_vae", {"dataset": "circle", "n": 1000}, {"latent_dim": 1})
    assert a.digest() == LessonRun("b", "other label", "beta_vae", {"n": 1000, "dataset": "circle"},
                                   {"latent_dim": 1}).digest()
    for other in (LessonRun("a", "A", "beta_vae", {"dataset": "circle", "n": 1000}, {"latent_dim": 2}),
                  LessonRun("a", "A", "beta_vae", {"dataset": "circle", "n": 999}, {"latent_dim": 1}),
                  LessonRun("a", "A", "beta_vae", {"dataset": "circle", "n": 1000}, {"latent_dim": 1}, seed=1),
                  LessonRun("a", "A", "svae", {"dataset": "circle", "n": 1000})):
        assert other.digest() != a.digest()
    assert a.digest(0.5) != a.digest(1.0)  # a shorter training is another run


def test_every_lesson_trains_measures_and_draws(computed):
    root, results = computed
    for L in lessons():
        res = results[L.key]
        assert set(res.runs) == {r.role for r in L.runs}
        for path in res.runs.values():
            assert os.path.isfile(os.path.join(path, "run.json")) and os.path.dirname(path) == root
        assert len(res.figure.data) >= 1
        json.dumps(res.numbers)  # plain JSON, as cached
        assert set(res.numbers["train_seconds"]) == {r.role for r in L.runs}
        assert is_ready(L, root, SCALE) and not is_ready(L, root + "_elsewhere", SCALE)


def test_runs_shared_between_lessons_are_trained_once(computed):
    root, results = computed
    tears, holes = results["gaussian_tears"], results["prior_holes"]
    assert tears.runs["plane_latent"] == holes.runs["plane_latent"]  # the same 2-D β-VAE on the same circle
    folders = [f for f in os.listdir(root) if f.startswith("lesson-")]
    assert len(folders) == len({p for r in results.values() for p in r.runs.values()})


def test_second_call_reads_the_cache_with_the_same_numbers_and_figure(computed):
    root, results = computed
    for L in lessons():
        again = run_lesson(L, root=root, scale=SCALE)
        assert again.cached and not results[L.key].cached
        assert again.numbers == results[L.key].numbers
        assert len(again.figure.data) == len(results[L.key].figure.data)


def test_a_corrupt_cache_is_measured_again(computed):
    root, _ = computed
    L = get_lesson("decoder_stretch")
    path = cache_path(root, L, SCALE)
    with open(path, "w") as fh:
        fh.write("{not json")
    res = run_lesson(L, root=root, scale=SCALE)
    assert not res.cached and json.load(open(path))["numbers"] == res.numbers


def test_answers_are_written_from_the_numbers(computed):
    """Each answer quotes its measured numbers, and other numbers give another answer (nothing typed in)."""
    _, results = computed

    def bump(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v + 7
        if isinstance(v, float):
            return v * 0.37 + 0.011
        if isinstance(v, list):
            return [bump(x) for x in v]
        if isinstance(v, dict):
            return {k: bump(x) for k, x in v.items()}
        return v

    for L in lessons():
        n = results[L.key].numbers
        text = L.answer(n)
        assert len(text) > 100
        assert text != L.answer(bump(copy.deepcopy(n))), L.key


def test_gaussian_tears_answer_quotes_its_tear_counts(computed):
    _, results = computed
    n = results["gaussian_tears"].numbers
    text = get_lesson("gaussian_tears").answer(n)
    for role in ("line_latent", "plane_latent", "loop_latent"):
        assert f"{n[role]['torn_edges']} of {n[role]['data_edges']} neighbour edges torn" in text
    assert n["data_loops"] == 1 and n["line_latent"]["loops"] == 0  # a 1-D Gaussian latent has no loop to keep


def test_correlation_ratio_sees_any_function_of_the_parameter():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, 3000)
    assert correlation_ratio(np.cos(2 * t), t) > 0.98  # a harmonic: no correlation coefficient sees it
    assert abs(np.corrcoef(np.cos(2 * t), t)[0, 1]) < 0.1
    assert correlation_ratio(3 * t + 1, t) > 0.99
    assert correlation_ratio(rng.normal(size=3000), t) < 0.03  # unrelated: about bins / n = 0.01
    assert correlation_ratio(np.ones(10), np.arange(10.0)) == 0.0


def test_handout_is_one_offline_page_with_every_lesson(computed):
    _, results = computed
    done = [(L, results[L.key]) for L in lessons()]
    page = handout_html(done)
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page and "Plotly.newPlot" in page
    assert page.count("<details>") == len(done) and page.count('class="fig"') == len(done)
    for L, res in done:
        assert L.title in page and inline_markdown(L.answer(res.numbers)) in page
    import re

    figs = [json.loads(f) for f in re.findall(r'FIGS\["lesson-fig-\d+"\]=(.*?);</script>', page)]
    assert len(figs) == len(done)
    types = {t["type"] for f in figs for t in f["data"]}
    assert "scattergl" not in types and "scatter" in types  # 2-D as SVG: WebGL contexts are kept for 3-D scenes


def test_inline_markdown_escapes_and_formats():
    html = inline_markdown("**bold** and *it* `c`\n\n- one <script>\n- two")
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<code>c</code>" in html
    assert "<ul><li>one &lt;script&gt;</li><li>two</li></ul>" in html and "<script>" not in html


def test_lessons_cli_writes_the_handout(computed, tmp_path, capsys):
    from vdae_core.cli import main

    root, _ = computed
    out = tmp_path / "h.html"
    assert main(["lessons", "--only", "gaussian_tears,prior_holes", "--runs", root, "--steps-scale", str(SCALE),
                 "--out", str(out)]) == 0
    page = out.read_text()
    assert "Why a Gaussian latent tears a circle" in page and "Holes in the prior" in page
    assert "Pictures have shape too" not in page
    assert main(["lessons", "--only", "gaussian_tears", "--runs", root, "--out", str(out)]) == 2  # exists
    assert "already exists" in capsys.readouterr().err
    assert main(["lessons", "--only", "nope", "--runs", root, "--out", str(tmp_path / "x.html")]) == 2


def test_a_failed_training_is_one_clear_error_and_leaves_no_folder(tmp_path, monkeypatch):
    """A training that raises (diverged, out of memory, a bug) reaches the page as one UserInputError naming the run,
    and no run folder or cache is left; data that is not built in is refused before anything is made."""
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.lessons.base import Lesson
    from vdae_core.pipeline import train

    def boom(*a, **k):
        raise RuntimeError("the loss diverged")

    monkeypatch.setattr(train, "train_run", boom)
    lesson = get_lesson("decoder_stretch")
    with pytest.raises(UserInputError, match="training β-VAE, 2-D Gaussian latent failed .RuntimeError: the loss"):
        run_lesson(lesson, root=str(tmp_path), scale=SCALE)
    assert not [f for f in os.listdir(tmp_path) if f.startswith("lesson-")]
    assert not os.path.exists(os.path.join(tmp_path, ".lessons"))

    class Bad(Lesson):
        key, title = "bad", "bad"
        runs = (LessonRun("x", "x", "beta_vae", {"dataset": "mine.npy", "n": 10}),)

    with pytest.raises(UserInputError, match="built-in data only"):
        run_lesson(Bad(), root=str(tmp_path))


def test_answers_follow_the_branch_their_numbers_call_for(computed):
    """Synthetic numbers on each side of a lesson's thresholds: the words agree with the numbers."""
    _, results = computed
    tears = copy.deepcopy(results["gaussian_tears"].numbers)
    tears["plane_latent"].update(loops=0, torn_edges=0, hole_share=0.0, hole_floor=[0.0, 0.0], off_share=0.0,
                           off_floor=[0.0, 0.0], off_in_holes=None)
    text = get_lesson("gaussian_tears").answer(tears)
    assert "does not close it" in text and "a hole took its place" not in text and "no holes that matter" in text
    holes = copy.deepcopy(results["prior_holes"].numbers)
    holes["walker"].update(hole_share=0.3, hole_floor=[0.0, 0.0], off_share=0.4, off_floor=[0.0, 0.01],
                         off_in_holes=0.9)
    text = get_lesson("prior_holes").answer(holes)
    assert "40% of its samples land off the data" in text and "even a code in a hole decodes onto" not in text
    walk = copy.deepcopy(results["walk_on_manifold"].numbers)
    walk["projected"]["off_surface_mean"], walk["raw"]["off_surface_mean"] = 0.60, 0.62
    assert "about as close to the surface (0.60 against 0.62" in get_lesson("walk_on_manifold").answer(walk)
    stretch = copy.deepcopy(results["decoder_stretch"].numbers)
    stretch["flat_latent"]["sf_median"], stretch["round_latent"]["sf_median"] = 1.20, 1.19
    assert "does not stretch less" in get_lesson("decoder_stretch").answer(stretch)

"""The Lessons page through AppTest: pick, run, answer, link, open in the studio, handout."""
import os

import pytest
from streamlit.testing.v1 import AppTest

from vdae_core.lessons import lessons

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app.py")


@pytest.fixture
def env(studio_env):
    return studio_env


def lessons_page(query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if query:
        at.query_params.update(query)
    at.run()
    at.switch_page("pages/lessons.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_lesson_runs_on_one_click_then_answers_from_its_numbers_and_opens_in_the_studio(env):
    at = lessons_page()
    assert at.title[0].value == "Lessons"
    assert at.selectbox(key="lessons.pick").options[0].startswith("1. Diffusion maps")
    assert len(at.selectbox(key="lessons.pick").options) == len(lessons()) >= 7
    at.selectbox(key="lessons.pick").set_value("gaussian_tears").run()
    assert [b.label for b in at.button][:1] == ["Run this lesson"]
    assert not [f for f in os.listdir(env) if f.startswith("lesson-")]  # nothing trains before the click
    at.button(key="lessons.run.gaussian_tears").click().run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len([f for f in os.listdir(env) if f.startswith("lesson-")]) == 3
    answer = next(e for e in at.expander if e.label.startswith("Answer"))
    text = "\n".join(str(m.value) for m in answer.markdown)
    assert "neighbour edges torn" in text and "loop" in text
    assert any("Question." in str(i.value) for i in at.info)
    assert at.query_params["lesson"] == ["gaussian_tears"] or at.query_params["lesson"] == "gaussian_tears"
    handout = next(d for d in at.get("download_button") if d.label.startswith("Handout"))
    assert "1 of" in handout.label
    at.button(key="lessons.open.gaussian_tears").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["run_path"].startswith(str(env)) and at.session_state["model"] == "beta_vae"


def test_a_link_opens_its_lesson_and_a_computed_lesson_opens_without_a_click(env):
    from vdae_core.lessons import get_lesson, run_lesson
    from vdae_core.ui.jobs import demo_scale

    run_lesson(get_lesson("decoder_stretch"), root=str(env), scale=demo_scale())  # someone ran it before
    at = lessons_page({"lesson": "decoder_stretch"})
    assert at.selectbox(key="lessons.pick").value == "decoder_stretch"
    assert not any(b.label == "Run this lesson" for b in at.button)
    assert any(e.label.startswith("Answer") for e in at.expander)
    assert any("Read from the lesson cache" in str(c.value) for c in at.caption)

"""Presentation mode and the Train page's first screen (issue 33, item 5), through AppTest."""
import os

import pytest
from streamlit.testing.v1 import AppTest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app.py")


@pytest.fixture
def env(studio_env):
    return studio_env


def _styled(at) -> bool:
    return any("stHeader" in str(m.value) and "padding-top" in str(m.value) for m in at.markdown)


def test_a_link_turns_it_on_it_follows_the_user_and_the_toggle_turns_it_off(env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"present": "1"})
    at.run()
    assert at.session_state["present"] and _styled(at)
    at.switch_page("pages/lessons.py").run()  # a page change keeps it (the URL then gets present=1 back)
    assert not at.exception and at.session_state["present"] and _styled(at)
    assert at.query_params["present"] in ("1", ["1"])
    # explanations fold away: the lesson's idea is in an expander, not on the first screen
    assert any(e.label == "The idea" for e in at.expander)
    at.toggle(key="present.toggle").set_value(False).run()
    assert not at.session_state["present"] and not _styled(at) and "present" not in at.query_params
    assert not any(e.label == "The idea" for e in at.expander)
    at.switch_page("pages/data.py").run()
    assert not at.session_state["present"]


def test_train_form_shows_the_essential_settings_first_and_one_quick_preset(env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"dataset": "circle", "model": "vdae"})
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.radio(key="train.preset").value == "quick"
    advanced = next(e for e in at.expander if e.label == "Advanced")
    inside = {w.key for w in advanced.number_input} | {w.key for w in advanced.selectbox}
    prefix = "cfg.vdae.quick."
    for name in ("latent_dim", "knn", "step_size", "vae_steps", "hidden"):
        assert prefix + name not in inside and at.number_input(key=prefix + name) is not None
    assert prefix + "spectral_fit_steps" in inside and prefix + "decoder_input" in inside

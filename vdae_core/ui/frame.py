"""The frame every page is drawn in: owner cookie, session state, URL, sidebar; and the header of the
pages that analyse a saved run.

Import order (no cycles): ``nav`` and ``widgets`` are leaves; ``state`` uses ``identity`` and ``cache``;
``jobs`` uses ``state`` and ``widgets``; ``sidebar`` uses ``jobs``, ``state`` and ``widgets``; this
module uses all of them, and pages use this module.
"""
from __future__ import annotations

import streamlit as st

from vdae_core.foundation.errors import UserInputError
from vdae_core.ui import cache, identity, nav, presentation, sidebar, state, widgets


def begin() -> None:
    """First thing of every script run, before any widget: owner cookie, session defaults, a pending run."""
    identity.remember_browser()
    state.init()
    presentation.init()
    state.apply_pending()


def finish(page_name: str) -> None:
    """After routing: the URL (dataset/model/seed) and the sidebar."""
    state.sync_query_params()
    sidebar.render(show_job=page_name != "train")
    presentation.apply()


def draw_frame(page_name: str) -> None:
    """The whole frame, for a page that runs without app.py (see :func:`ensure_routed`)."""
    begin()
    finish(page_name)


def ensure_routed(name: str) -> None:
    """Call first in every page file: makes sure the page runs inside app.py's frame (state, URL, sidebar).

    ``app.py`` marks the runs it routes. A page can also run on its own: a fresh server opened directly on a
    page URL runs the page file alone (Streamlit's legacy ``pages/`` mode, until some session has run
    ``st.navigation``), and so does ``AppTest`` for every page of an app with a ``pages/`` folder. The first
    case hands over to app.py, which routes back here with the same query parameters; otherwise the frame
    is drawn here.
    """
    ss = st.session_state
    if ss.get("_framed"):
        return
    if not nav.PAGES:
        ss["_goto"] = (name, st.query_params.to_dict())
        st.switch_page("app.py")
    draw_frame(name)


def no_run_notice() -> None:
    """What analysis pages show when there is no saved run for the current selection."""
    ss = st.session_state
    st.info(f"No saved run for **{ss['model']} · {ss['dataset']} · seed {ss['seed']}** yet. Train one on the "
            "Train page (or press *Try it* on Home), or pick a saved run in the sidebar.", icon=":material/info:")
    c1, c2 = st.columns(2)
    c1.page_link(nav.page("train"), label="Go to Train", icon=":material/model_training:")
    c2.page_link(nav.page("home"), label="Home: try it", icon=":material/home:")


def analysis_page(name: str, title: str, loading: str = "Loading the run…"):
    """Header shared by the pages that analyse a saved run: route, title, flashes, the active run.

    Returns ``(info, run, run_line)``, ``run_line`` the page's "Run **label** (`folder`)" (the label tells the
    run from others of the same selection: :func:`state.run_label`); stops the page with a notice when the
    selection has no saved run.
    """
    ensure_routed(name)
    st.title(title)
    state.show_flashes()
    infos = state.saved_runs()
    info = state.active_run(infos)
    state.sync_query_params()  # the run just chosen for the selection goes into the link now
    if info is None:
        no_run_notice()
        st.stop()
    try:
        with st.spinner(loading):
            run = cache.load_run(info.path)
    except UserInputError as e:
        widgets.error_box(e, "this run cannot be shown")
        st.caption("Pick another run in the sidebar, or train this one again.")
        st.stop()
    return info, run, f"Run **{state.run_label(info, infos)}** (`{info.name}`)"

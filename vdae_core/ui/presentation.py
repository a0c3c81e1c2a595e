"""Presentation mode (issue 33, item 5): the studio on a projector.

A toggle in the sidebar (and ``?present=1`` in a link) that, on every page, removes the top margin and the
app's header bar, enlarges the text and the figures' fonts, and folds each page's explanations into an
"About this view" expander, so that the page's main figure is on screen at 1280×720 without scrolling
(checked in Chromium by ``tests/test_e2e_browser.py``).
"""
from __future__ import annotations

import streamlit as st

KEY = "present"  # the URL parameter, and the plain session key that holds the mode (not a widget's key: a
#                  widget drawn on every page is still another widget on each page, and its state would be
#                  dropped when the page changes)
WIDGET = "present.toggle"
#: Plotly font size of figures in presentation mode (the studio's figures otherwise use plotly's 12).
FIGURE_FONT = 15

_CSS = """
<style>
header[data-testid="stHeader"] { display: none; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 0.6rem !important; padding-bottom: 1rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.12rem; }
[data-testid="stMain"] h1 { font-size: 2.0rem; padding: 0 0 0.2rem 0; }
[data-testid="stSidebar"] { min-width: 320px; }
</style>
"""


def init() -> None:
    """Take ``?present=…`` from a link (before the toggle is drawn). Each value of the parameter is read once:
    the toggle writes it back while on and removes it when off, and a fresh server's first run can see the
    address without its parameters (the hand-over to app.py, :func:`vdae_core.ui.frame.ensure_routed`), so it is
    read when it shows up, not only on the session's first run."""
    ss = st.session_state
    url = st.query_params.get(KEY)
    if url is not None and ss.get("_present_url") != url:
        ss["_present_url"] = url
        ss[KEY] = url in ("1", "true", "yes")


def active() -> bool:
    """Whether this session is in presentation mode."""
    return bool(st.session_state.get(KEY, False))


def _switched() -> None:
    st.session_state[KEY] = bool(st.session_state.get(WIDGET))


def toggle() -> None:
    """The sidebar's switch; keeps ``present=1`` in the page's link while on."""
    st.toggle("Presentation mode", value=active(), key=WIDGET, on_change=_switched,
              help="For a projector: no top margin, larger text and figure fonts, and each page's explanations "
                   "folded away so its main figure is on screen at 1280×720. Shared links keep it (present=1).")
    if active():
        st.query_params[KEY] = "1"
        st.session_state["_present_url"] = "1"
    elif KEY in st.query_params:
        del st.query_params[KEY]
        st.session_state.pop("_present_url", None)


def apply() -> None:
    """The page's styling in presentation mode (call once per script run, after the toggle)."""
    if active():
        st.markdown(_CSS, unsafe_allow_html=True)


def explain(text: str, label: str = "About this view", caption: bool = False) -> None:
    """A page's explanation (markdown): shown as it is (as a caption with ``caption``), or folded into an
    expander in presentation mode."""
    if active():
        with st.expander(label, icon=":material/info:"):
            st.markdown(text)
    elif caption:
        st.caption(text)
    else:
        st.markdown(text)


def style_figure(fig):
    """Larger fonts for a figure in presentation mode (the figure is returned unchanged otherwise)."""
    if active():
        import plotly.graph_objects as go

        fig = go.Figure(fig).update_layout(font={"size": FIGURE_FONT})
    return fig

"""The app's pages, registered by ``app.py`` on every run so pages can link to each other."""
from __future__ import annotations

from typing import Dict

#: url_path -> StreamlitPage, filled by app.py before the current page runs.
PAGES: Dict[str, object] = {}


def page(name: str):
    """The StreamlitPage for ``name`` (``home``, ``data``, ``train``, ``latent``, ``walks``, ``bilipschitz``,
    ``compare``), or the page file path when app.py has not registered the pages (e.g. a page run alone)."""
    return PAGES.get(name) or ("app.py" if name == "home" else f"pages/{name}.py")


def link(name: str, label: str, icon: str | None = None) -> None:
    import streamlit as st

    st.page_link(page(name), label=label, icon=icon)


def ensure_routed(name: str) -> None:
    """Call first in every page file: makes sure the page runs inside app.py's frame (state, URL, sidebar).

    ``app.py`` marks the runs it routes. A page can also run on its own: a fresh server opened directly on a
    page URL runs the page file alone (Streamlit's legacy ``pages/`` mode, until some session has run
    ``st.navigation``), and so does ``AppTest`` for every page of an app with a ``pages/`` folder. The first
    case hands over to app.py, which routes back here with the same query parameters; otherwise the frame
    is drawn here.
    """
    import streamlit as st

    ss = st.session_state
    if ss.get("_framed"):
        return
    if not PAGES:
        ss["_goto"] = (name, st.query_params.to_dict())
        st.switch_page("app.py")
    from . import identity, sidebar, state

    identity.remember_browser()
    state.init()
    state.apply_pending()
    state.sync_query_params()
    sidebar.render(show_job=name != "train")

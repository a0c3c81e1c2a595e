"""The app's pages, registered by ``app.py`` on every run so pages can link to each other (no other ui import)."""
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

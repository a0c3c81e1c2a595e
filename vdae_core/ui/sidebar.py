"""The sidebar shown on every page: the current selection, the active run picker and the training job."""
from __future__ import annotations

import zlib

import streamlit as st

from . import jobs, state
from .widgets import run_zip_button


def _picker_key(active) -> str:
    """A new picker whenever the active run changes (an on-screen widget keeps its own value otherwise)."""
    return f"{state.wkey('run')}.{zlib.crc32((active.path if active else '-').encode())}"


def _on_pick(key: str) -> None:
    path = st.session_state.get(key)
    if path:
        state.select_run(path)


def render(show_job: bool = True) -> None:
    ss = st.session_state
    infos = state.saved_runs()
    active = state.active_run(infos)
    with st.sidebar:
        st.markdown(f"**Selection** · `{ss['dataset']}` · `{ss['model']}` · seed `{ss['seed']}`",
                    help="Dataset, model and seed are in the page URL: copy it to share this view.")
        if infos:
            paths = [None] + [r.path for r in infos]
            labels = {r.path: r.label for r in infos}
            idx = paths.index(active.path) if active is not None else 0
            key = _picker_key(active)
            st.selectbox("Active run", paths, index=idx, key=key, on_change=_on_pick, args=(key,),
                         format_func=lambda p: "— none for this selection —" if p is None else labels[p],
                         help="The saved run the Latent, Random walks and Bi-Lipschitz pages show. Choosing one "
                              "also selects its dataset, model and seed.")
            if active is not None:
                run_zip_button(active.path, "sidebar")
        else:
            st.caption("No saved runs yet: train one (Home → Try it, or the Train page).")
        job = jobs.get_job()
        if job is not None and (job.active or job.status == "failed" or show_job):
            st.divider()
            if show_job:
                jobs.render(detailed=False)
            else:
                st.caption("Training progress: on this page.")

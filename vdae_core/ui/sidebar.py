"""The sidebar shown on every page: the current selection, the active run picker and the training job."""
from __future__ import annotations

import zlib

import streamlit as st

from vdae_core.ui import jobs, presentation, state
from vdae_core.ui.widgets import run_zip_button


def _picker_key(active) -> str:
    """A new picker whenever the active run changes (an on-screen widget keeps its own value otherwise)."""
    return f"{state.wkey('run')}.{zlib.crc32((active.path if active else '-').encode())}"


def _on_pick(key: str) -> None:
    # Only the picker drawn in the last run counts. The browser can keep an earlier picker (the active run
    # changed since, so its key did) and send its old value with the next click anywhere: applying it
    # switched every page back to the previous run (issue 28, reproduced in Chromium).
    if key != st.session_state.get("_picker_key"):
        return
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
            labels = state.run_labels(infos)
            idx = paths.index(active.path) if active is not None else 0
            key = _picker_key(active)
            ss["_picker_key"] = key
            st.selectbox("Active run", paths, index=idx, key=key, on_change=_on_pick, args=(key,),
                         format_func=lambda p: "— none for this selection —" if p is None else labels[p],
                         help="The saved run the Latent, Random walks and Bi-Lipschitz pages show. Choosing one "
                              "also selects its dataset, model and seed. Runs of the same dataset, model and "
                              "seed are told apart by the settings that differ, then by the time saved.")
            if active is not None:
                # the whole name (the box above cuts long ones), with the folder: the run's id in links
                st.caption(f"{labels[active.path]} · `{active.name}`")
                run_zip_button(active.path, "sidebar")
        else:
            st.caption("No saved runs yet: train one (Home → Try it, or the Train page).")
        presentation.toggle()
        with st.expander("Glossary", icon=":material/menu_book:"):
            from vdae_core.study.verdicts import GLOSSARY

            st.markdown("\n".join(f"- **{term}**: {text}" for term, text in sorted(GLOSSARY.items(),
                                                                                   key=lambda kv: kv[0].lower())))
        job = jobs.get_job()
        if job is not None and (job.active or job.status == "failed" or show_job):
            st.divider()
            if show_job:
                jobs.render(detailed=False)
            else:
                st.caption("Training progress: on this page.")

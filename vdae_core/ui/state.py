"""Session state: the current dataset/model/seed (mirrored in the URL) and the active run.

Canonical values live in plain session-state keys (never widget keys, which Streamlit deletes when a
page that owns the widget is not shown). Widgets use keys from :func:`wkey` (``w.<field>.<generation>``)
and copy into the canonical keys in their ``on_change`` callbacks (:func:`from_widget`). A programmatic
change (picking a run, a link, an upload) bumps the generation, so every widget showing the selection is
created afresh with the new value: a widget on screen keeps its own value in the browser, so deleting its
key would not update it.

URL query parameters ``dataset``, ``model``, ``seed`` and ``run`` (the run folder's name, its stable id) are read
once when a session starts and written back on every run, so a copied link reopens the same run — or says that
it is not on this server. Pages add their view's state (:func:`url_value`, :func:`widget_start`,
:func:`show_view_in_url`: the walks' start, walkers, steps and walk seed), read once from a pasted link.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import streamlit as st

from vdae_core.pipeline.run_index import RunInfo, find_runs, list_run_infos, read_run_info, run_labels, runs_root

DEFAULT_DATASET = "torus"
DEFAULT_MODEL = "vdae"
DEFAULT_N = 2000


def _int(v: Any, default: int, lo: int = 0, hi: int = 2 ** 31 - 1) -> int:
    try:
        return max(lo, min(hi, int(str(v))))
    except (TypeError, ValueError):
        return default


def init() -> None:
    """Set the session's defaults (once), taking ``dataset``, ``model``, ``seed`` from the URL."""
    ss = st.session_state
    if ss.get("_init"):
        return
    goto = ss.get("_goto")
    qp = goto[1] if goto else st.query_params.to_dict()
    ss["_init"] = True
    ss["dataset"] = str(qp.get("dataset") or DEFAULT_DATASET)
    ss["model"] = str(qp.get("model") or DEFAULT_MODEL)
    ss["seed"] = _int(qp.get("seed"), 0)
    ss["n"] = _int(qp.get("n"), DEFAULT_N, 10, 200_000)
    ss["noise"] = 0.0
    ss["order"] = "line"  # what the file order of an uploaded image set means (DataConfig.order)
    ss["upload_path"] = None  # the file behind an uploaded dataset (this session only)
    ss["run_path"] = None
    ss["messages"] = []
    ss["_url_view"] = {k: v for k, v in qp.items() if k not in ("dataset", "model", "seed", "n", "run")}
    name = str(qp.get("run") or "")
    if name and not goto:
        _request_run_by_name(name)


def _request_run_by_name(name: str) -> None:
    """Select the run a link names (a folder directly under the runs root), or say why it cannot be shown."""
    path = os.path.join(runs_root(), name)
    if os.path.basename(name) != name or name.startswith(".") or not os.path.isfile(os.path.join(path, "run.json")):
        flash("warning", f"The run **{name}** in this link is not on this server (it was deleted, or the link comes "
                         "from another studio); showing the link's dataset, model and seed instead.")
        return
    request_run(path)  # select_run checks that this browser may see it, and says so if not


def url_value(param: str, cast, default, lo=None, hi=None):
    """The link's ``param`` the first time this session asks (cast and clipped to [lo, hi]); ``default`` when
    the link has none, or an unreadable one (said so in a message)."""
    pending = st.session_state.get("_url_view") or {}
    if param not in pending:
        return default
    raw = pending.pop(param)
    try:
        v = cast(raw)
    except (TypeError, ValueError):
        flash("warning", f"The link's {param}={raw!r} is not valid here: using {default!r}.")
        return default
    if lo is not None:
        v = max(lo, v)
    if hi is not None:
        v = min(hi, v)
    return v


def widget_start(key: str, param: str, cast, default, lo=None, hi=None) -> Dict[str, Any]:
    """Keyword arguments for a view widget with ``key``: its value from the link (once), else none when the
    session already holds one (a default beside a session value makes Streamlit warn), else ``default``."""
    ss = st.session_state
    pending = ss.get("_url_view") or {}
    if param in pending:
        ss[key] = url_value(param, cast, ss.get(key, default), lo, hi)
        return {}
    return {} if key in ss else {"value": default}


def show_view_in_url(**params) -> None:
    """Write a page's view settings into the URL (only those that changed)."""
    for k, v in params.items():
        if st.query_params.get(k) != str(v):
            st.query_params[k] = str(v)


def sync_query_params() -> None:
    """Write the current dataset/model/seed into the URL (only when they changed)."""
    ss = st.session_state
    want = {"dataset": str(ss["dataset"]), "model": str(ss["model"]), "seed": str(ss["seed"])}
    have = {k: st.query_params.get(k) for k in want}
    if have != want:
        for k, v in want.items():
            st.query_params[k] = v
    # the run's id only while it is the run of the selection (else a link would reopen a run the page left)
    info = read_run_info(ss["run_path"]) if ss.get("run_path") else None
    run = (os.path.basename(info.path) if info is not None and (info.dataset, info.model, info.seed) ==
           (ss["dataset"], ss["model"], int(ss["seed"])) and not upload_active() else None)
    if run and st.query_params.get("run") != run:
        st.query_params["run"] = run
    elif not run and "run" in st.query_params:
        del st.query_params["run"]


def selection() -> Dict[str, Any]:
    ss = st.session_state
    return {"dataset": ss["dataset"], "model": ss["model"], "seed": int(ss["seed"]), "n": int(ss["n"]),
            "noise": float(ss["noise"]), "order": str(ss.get("order", "line")),
            "upload_path": ss.get("upload_path")}


def wkey(field: str) -> str:
    """The widget key showing ``field`` in this generation (see the module docstring)."""
    return f"w.{field}.{st.session_state.get('_gen', 0)}"


def set_selection(_from_widget: bool = False, **kw: Any) -> None:
    """Change dataset/model/seed/n/noise/upload_path; unless the change came from the widget showing it,
    start a new widget generation so that every widget shows the new values."""
    ss = st.session_state
    changed = [k for k, v in kw.items() if ss.get(k) != v]
    for k in changed:
        ss[k] = kw[k]
    if changed and not _from_widget:
        ss["_gen"] = ss.get("_gen", 0) + 1


def from_widget(field: str, cast=None):
    """An ``on_change`` callback copying the widget :func:`wkey` (``field``) into the canonical ``field``.

    A widget of an earlier generation is ignored: the browser can still hold one and send its old value
    with the next interaction (seen in Chromium after a rerun started from a fragment), which would undo
    the programmatic change that replaced it.
    """
    key = wkey(field)

    def cb() -> None:
        if key != wkey(field):
            return
        v = st.session_state.get(key)
        if v is None:
            return
        set_selection(_from_widget=True, **{field: cast(v) if cast else v})

    return cb


def request_run(path: str) -> None:
    """Select a run at the start of the next script run (safe from inside a page or fragment)."""
    st.session_state["_pending_run"] = path


def apply_pending() -> None:
    """Apply a :func:`request_run` (app.py calls this before drawing anything)."""
    path = st.session_state.pop("_pending_run", None)
    if path:
        select_run(path)


def upload_active() -> bool:
    """Whether the current dataset is this session's uploaded file."""
    ss = st.session_state
    path = ss.get("upload_path")
    return bool(path) and os.path.basename(path) == ss["dataset"] and os.path.exists(path)


def data_config_dict() -> Dict[str, Any]:
    """The DataConfig (as a dict) of the current selection: a registered name or the uploaded file."""
    s = selection()
    src = s["upload_path"] if upload_active() else s["dataset"]
    return {"dataset": src, "n": s["n"], "seed": s["seed"], "noise": s["noise"], "order": s["order"]}


# -- runs ------------------------------------------------------------------------------------------
def saved_runs() -> List[RunInfo]:
    """The saved runs this browser may see: shared runs and its own private ones (see ``identity``)."""
    from vdae_core.ui.identity import owner_id

    return list_run_infos(runs_root(), viewer=owner_id())


def select_run(path: str) -> None:
    """Make ``path`` the active run and take its dataset/model/seed as the current selection.

    A run that is not there, or that belongs to another browser, is not selected (a message says so).
    """
    from vdae_core.ui.identity import owner_id

    info = read_run_info(path)
    if info is None or not info.visible_to(owner_id()):
        flash("warning", "That run is not available: it was deleted, or it was trained on another user's upload.")
        return
    st.session_state["run_path"] = info.path
    kw = dict(dataset=info.dataset, model=info.model, seed=info.seed)
    if info.n:
        kw["n"] = info.n
    set_selection(**kw)
    st.session_state["_gen"] = st.session_state.get("_gen", 0) + 1  # the run picker shows the new run


def run_label(info: RunInfo, infos: Optional[List[RunInfo]] = None) -> str:
    """The run's name on every page: model, dataset, seed, what sets it apart from runs sharing them (e.g.
    ``latent_dim 1 · preset Quick``) and the time it was saved (see :func:`vdae_core.pipeline.run_index.run_labels`)."""
    infos = saved_runs() if infos is None else infos
    if all(r.path != info.path for r in infos):
        infos = infos + [info]
    return run_labels(infos)[info.path]


def active_run(infos: Optional[List[RunInfo]] = None) -> Optional[RunInfo]:
    """The run the analysis pages show: the selected one if it matches dataset/model/seed, else the newest
    saved run that does, else None."""
    ss = st.session_state
    infos = saved_runs() if infos is None else infos
    s = selection()
    if upload_active():  # an upload is identified by its points, never by its file name
        from vdae_core.ui import cache

        try:
            digest = cache.dataset(data_config_dict()).content_hash
        except ValueError:  # the upload no longer reads (deleted after its age limit)
            return None
        matches = find_runs(infos, model=s["model"], seed=s["seed"], data_hash=digest)
    else:
        matches = find_runs(infos, s["dataset"], s["model"], s["seed"])
    cur = ss.get("run_path")
    for r in matches:
        if r.path == cur:
            return r
    if matches:
        ss["run_path"] = matches[0].path
        return matches[0]
    return None


def flash(kind: str, text: str) -> None:
    """Queue a message shown at the top of the next page run (survives st.rerun/switch_page)."""
    st.session_state.setdefault("messages", []).append((kind, text))


def show_flashes() -> None:
    msgs = st.session_state.get("messages") or []
    st.session_state["messages"] = []
    for kind, text in msgs:
        getattr(st, kind, st.info)(text)

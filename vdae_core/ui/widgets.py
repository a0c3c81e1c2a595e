"""Figures with an HTML download, tables with a CSV download, run folders as zips."""
from __future__ import annotations

import os
import re
from typing import Any, Optional

import streamlit as st

PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def _fname(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "figure"


def figure(fig, key: str, filename: str, on_select: Any = "ignore", selection_mode=("points", "box", "lasso"),
           post_script: Optional[str] = None, download: bool = True):
    """Show a plotly figure and, under it, a download of the same figure as standalone HTML.

    The HTML is built only when the button is clicked (deferred data). With ``on_select`` other than
    "ignore" the selection state is returned (as from ``st.plotly_chart``).
    """
    from vdae_core.ui.presentation import style_figure

    kw = {}
    if on_select != "ignore":
        kw.update(on_select=on_select, selection_mode=selection_mode)
    out = st.plotly_chart(style_figure(fig), key=key, config=PLOTLY_CONFIG, width="stretch", **kw)
    if download:
        from vdae_core.viz.export import figure_html

        title = _fname(filename)
        st.download_button("Download figure (HTML)", data=lambda: figure_html(fig, title, post_script),
                           file_name=f"{title}.html", mime="text/html", key=f"dl.{key}", on_click="ignore",
                           icon=":material/download:", type="tertiary")
    return out


#: Where the app serves its own copy of plotly.js (``static/`` beside app.py; Streamlit's static file serving).
STATIC_PLOTLY = "plotly.min.js"


def static_plotly_url() -> Optional[str]:
    """The URL path of plotly.js served by this app, copied once from the installed plotly package into
    ``static/`` (gitignored); ``None`` when static serving is off or the copy cannot be made."""
    import shutil

    import plotly

    from vdae_core.foundation.files import write_atomic

    if not st.get_option("server.enableStaticServing"):
        return None
    src = os.path.join(os.path.dirname(plotly.__file__), "package_data", STATIC_PLOTLY)
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "static")
    dst = os.path.join(folder, STATIC_PLOTLY)
    try:
        if not os.path.isfile(dst) or os.path.getsize(dst) != os.path.getsize(src):
            os.makedirs(folder, exist_ok=True)
            with open(src, "rb") as fh_src:
                write_atomic(dst, lambda fh: shutil.copyfileobj(fh_src, fh))
    except OSError:
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return ("/" + base if base else "") + f"/app/static/{STATIC_PLOTLY}"


def linked_figure(fig, key: str, filename: str, camera_key: str = "", download: bool = True):
    """Show a figure of several 3-D scenes whose cameras move together (drag one, the others follow), in an
    embedded frame running plotly.js with :data:`~vdae_core.viz.export.LINKED_CAMERAS_JS`; the camera is kept
    in the browser's session storage under ``key`` and ``camera_key`` (hashed: e.g. the run and the up axis, so
    another run or another up axis starts from its own default view), so a redraw (a rerun) keeps it. Below it,
    the same figure as standalone HTML, cameras linked too."""
    import hashlib

    import plotly.graph_objects as go
    import streamlit.components.v1 as components

    from vdae_core.viz.export import embedded_figure_html, figure_html, linked_cameras_script

    store = "vdae." + hashlib.sha1(f"{key}|{camera_key}".encode()).hexdigest()[:16]
    # Streamlit's chart styles its figures in the browser; a figure drawn by plotly.js itself gets the same
    # font here (plotly's default is larger, and its buttons would cover the panel titles).
    from vdae_core.ui.presentation import FIGURE_FONT, active

    fig = go.Figure(fig).update_layout(font={"family": '"Source Sans Pro", "Source Sans 3", sans-serif',
                                             "size": FIGURE_FONT if active() else 12, "color": "#31333f"})
    components.html(embedded_figure_html(fig, static_plotly_url(), linked_cameras_script(store)),
                    height=int(fig.layout.height or 600) + 16, scrolling=False)
    if download:
        title = _fname(filename)
        st.download_button("Download figure (HTML)",
                           data=lambda: figure_html(fig, title, linked_cameras_script(None)),
                           file_name=f"{title}.html", mime="text/html", key=f"dl.{key}", on_click="ignore",
                           icon=":material/download:", type="tertiary")


def table(df, key: str, filename: str, hide_index: bool = True, height: Optional[int] = None,
          column_config: Optional[dict] = None):
    """Show a DataFrame and a CSV download of it."""
    args = {"hide_index": hide_index, "width": "stretch", "column_config": column_config}
    if height is not None:
        args["height"] = height
    st.dataframe(df, **args)
    st.download_button("Download table (CSV)", data=df.to_csv(index=not hide_index).encode("utf-8"),
                       file_name=f"{_fname(filename)}.csv", mime="text/csv", key=f"dl.{key}", on_click="ignore",
                       icon=":material/download:", type="tertiary")


def run_zip_button(path: str, key: str, label: str = "Download run (zip)"):
    """A download of the run folder as a zip (built on click); nothing for a run this browser may not see."""
    from vdae_core.pipeline.run_index import read_run_info, zip_folder
    from vdae_core.ui.identity import owner_id

    info = read_run_info(path)
    if info is None or not info.visible_to(owner_id()):
        return
    name = os.path.basename(path.rstrip(os.sep))
    st.download_button(label, data=lambda: zip_folder(path), file_name=f"{name}.zip", mime="application/zip",
                       key=f"zip.{key}", on_click="ignore", icon=":material/folder_zip:")


def error_box(err: BaseException, what: str = "") -> None:
    """A user-facing error in the page (one line, no traceback)."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{err}", icon=":material/error:")


def angle_score(score: dict, n: int) -> None:
    """The latent-angle score of :func:`vdae_core.metrics.angle_recovery.angle_recovery` with its floor."""
    cols = st.columns(len(score["per_angle"]) + 1)
    for col, (name, r) in zip(cols, score["per_angle"].items()):
        col.metric(f"|ρ| latent angle vs true {name}", f"{r:.3f}",
                   help=f"Fisher–Lee circular correlation between the true {name} and the latent angle that fits it "
                        f"best ({score['latent'][name]}), after the best rotation and reflection: 1 = the loop is "
                        "found and ordered; near the floor = no relation.")
    cols[-1].metric("floor (no relation)", f"{score['floor']:.3f}",
                    help=f"95th percentile of the score over 20 random pairings of the {n:,} codes with the true "
                         "angles: what a latent unrelated to the truth gets.")
    from vdae_core.study.verdicts import angle_verdict

    best = max(score["per_angle"].values()) if score["per_angle"] else float("nan")
    st.markdown(f"**Verdict:** {angle_verdict(best, score['floor'])}.")
    st.caption("The score checks that the latent angle runs with the true one; a loop torn at one point and laid "
               "out as an arc of 300° still scores 0.96, so look at the plot above for the tear.")



def live_preset_table(config_class) -> None:
    """The live preset's measured times and quality beside the defaults' (nothing when none were measured)."""
    import pandas as pd

    from vdae_core.foundation.preset_costs import live_cost_rows

    measured = config_class.live_measured()
    if not measured:
        st.caption("Quick preset: short training; its cost in quality has not been measured for this model.")
        return
    st.caption(f"Quick preset: the same model trained for fewer steps. Measured on {measured.get('machine', '?')} "
               f"({measured.get('date', '?')}, means over seeds; `benchmarks/bench_presets.py`):")
    df = pd.DataFrame(live_cost_rows(measured))
    if "settings" in df:  # the measured file says "live"; the page calls the preset Quick (one name for all models)
        df["settings"] = df["settings"].replace({"live": "quick"})
    table(df, "train.live_cost", "live_preset_cost")

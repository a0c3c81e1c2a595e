"""Bi-Lipschitz: where the decoder stretches, squeezes or folds, point by point."""
import numpy as np
import pandas as pd
import streamlit as st

from vdae_core.study.analysis import latent_plane, worst_points
from vdae_core.foundation.errors import UserInputError
from vdae_core.ui import cache, frame, widgets
from vdae_core.viz.bilip import (POST_SCRIPT_LINKED_HOVER, bilip_data_figure, bilip_histogram, bilip_latent_figure,
                                 bilip_linked_figure, colour_limits)
from vdae_core.viz.common import up_axis
from vdae_core.viz.export import figure_html

ss = st.session_state
info, run, run_line = frame.analysis_page("bilipschitz", "Bi-Lipschitz")
ds = run.dataset
st.caption(run_line)
st.markdown(
    "For each point, K is the smallest constant with 1/K ≤ d_X(f(z), f(z′)) / d_Z(z, z′) ≤ K over its k "
    "nearest "
    "latent neighbours z′ (f the decoder): 1 is a perfect isometry, large values mean stretching or squeezing, "
    "∞ means two codes decode to the same point (a fold).")
c = st.columns([2, 1, 1, 1])
kind = c[0].radio("Version", ["scale-free", "raw"], horizontal=True, key="bilip.kind",
                  help="Scale-free (default): ratios divided by their median first, so models whose latents have "
                       "different scales compare fairly. Raw: the paper's definition, ratios as they are.")
k = c[1].slider("neighbours k", 2, 50, 10, key="bilip.k")
n_pts = c[2].select_slider("points", [250, 500, 1000, 1500, 2000, 3000, 5000], 1500, key="bilip.n")
n_worst = c[3].slider("worst shown", 0, 50, 10, key="bilip.worst")
st.caption("**Scale-free** K divides every ratio by the median ratio first, so only *uneven* distortion counts (a "
           "uniform scaling scores 1). **Raw** K (the paper's bilip_k) also counts a global change of scale (a map "
           "that doubles every distance scores 2): a latent of another size than the data, which any decoder absorbs, "
           "then looks like distortion, so raw K cannot compare models whose latents differ in scale.")

try:
    with st.spinner(f"Encoding, decoding and comparing {n_pts} points with their {k} latent neighbours…"):
        res = cache.bilip(info.path, k, n_pts, 0)
except UserInputError as e:
    widgets.error_box(e)
    st.stop()
vals = res.raw if kind == "raw" else res.scale_free
label = f"K ({kind})"
summ = res.summary("raw" if kind == "raw" else "scale_free")
m = st.columns(4)
m[0].metric("median K", f"{summ['median']:.3g}")
m[1].metric("mean K (finite)", f"{summ['mean']:.3g}")
m[2].metric("max K", f"{summ['max']:.3g}")
m[3].metric("infinite K", f"{summ['n_inf']} of {summ['n']}")

worst = worst_points(vals, n_worst) if n_worst else np.array([], dtype=int)
Xs = res.points
if res.generated:
    st.info(run.model.lacks("has_encoder", "K is measured on the generator over noise-space neighbours (generated "
                                          "points, coloured by K; the table gives each one's nearest data point)."),
            icon=":material/info:")
proj = cache.display_projection(info.path)
X3 = proj(Xs, pad3=True)
Z2, _ = latent_plane(run.model, res.z)
cmax = colour_limits(vals)[1]
sel_key = f"bilip.sel.{info.path}.{kind}.{k}.{n_pts}"
selected = ss.get(sel_key, [])

left, right = st.columns(2, gap="medium")
with right:
    lat = bilip_latent_figure(Z2, vals, label, cmax, worst, selected)
    state_ = widgets.figure(lat, "bilip.latent", f"{info.name}_bilip_latent_{kind}", on_select="rerun")
    pts = [p["point_index"] for p in ((state_ or {}).get("selection") or {}).get("points", [])
           if p.get("curve_number", 0) == 0]
    if pts != selected and (pts or selected):
        ss[sel_key] = pts
        st.rerun()
    st.caption("Click, box- or lasso-select codes here: the same points are ringed in blue on the data.")
with left:
    mesh = (ds.mesh.vertices, ds.mesh.faces) if ds.mesh is not None and ds.ambient_dim == 3 else None
    widgets.figure(bilip_data_figure(X3, vals, label, cmax, worst, selected, proj.axis_names + ["0"] * (3 - len(
        proj.axis_names)), mesh=mesh, up=up_axis(ds.name)), "bilip.data", f"{info.name}_bilip_data_{kind}")
    st.caption("Same colour scale on both views (log scale, capped at the 99th percentile). Black rings: the worst "
               "points.")

widgets.figure(bilip_histogram(vals, label), "bilip.hist", f"{info.name}_bilip_hist_{kind}")

rows = worst
if len(selected):
    rows = np.unique(np.concatenate([rows, np.asarray(selected, dtype=int)]))
    rows = rows[worst_points(vals[rows], len(rows))]
if len(rows):
    st.subheader("Worst and selected points")
    tab = pd.DataFrame({("nearest data index" if res.generated else "data index"): res.idx[rows], "K raw": res.raw[rows], "K scale-free": res.scale_free[rows],
                        **{n: ds.params[res.idx[rows], j] for j, n in enumerate(ds.param_names)},
                        "selected": [int(r) in set(selected) for r in rows]})
    widgets.table(tab, "bilip.worst", f"{info.name}_bilip_worst")

st.subheader("Linked hover")
st.caption("Both views in one figure where hovering a point in either view marks the same point in the other. It "
           "carries its own copy of plotly.js (about 5 MB), so it loads on request; the download works offline.")
linked = st.toggle("Show the linked view", key="bilip.linked_view")


def linked_html() -> str:
    return figure_html(bilip_linked_figure(X3, Z2, vals, label, worst), f"{info.name} bi-Lipschitz",
                       POST_SCRIPT_LINKED_HOVER)


html = None
if linked:
    html = linked_html()
    st.iframe(html, height=560)
st.download_button("Download linked figure (HTML)", key="bilip.linked",
                   data=html if html is not None else linked_html,  # built on click when not shown
                   file_name=f"{info.name}_bilip_linked_{kind}.html", mime="text/html", on_click="ignore",
                   icon=":material/download:")

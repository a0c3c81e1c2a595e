"""Bi-Lipschitz: where the decoder stretches, squeezes or folds, point by point."""
import numpy as np
import pandas as pd
import streamlit as st

from vdae_core.study.analysis import latent_plane, worst_points
from vdae_core.foundation.errors import UserInputError
from vdae_core.study.verdicts import distortion_verdict
from vdae_core.ui import cache, compare_runs, frame, presentation, widgets
from vdae_core.viz.bilip import (POST_SCRIPT_LINKED_HOVER, bilip_data_figure, bilip_histogram, bilip_latent_figure,
                                 bilip_linked_figure)
from vdae_core.viz.common import up_axis
from vdae_core.viz.export import figure_html
from vdae_core.viz.side_by_side import share_histogram_axes, shared_bilip_cmax

ss = st.session_state
info, run, run_line = frame.analysis_page("bilipschitz", "Bi-Lipschitz")
ds = run.dataset
pair = compare_runs.sides(info, run, compare_runs.pick("bilipschitz", info))
if len(pair) == 1:
    st.caption(run_line)
compare_runs.header(pair)
presentation.explain(
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
presentation.explain("**Scale-free** K divides every ratio by the median ratio first, so only *uneven* distortion "
                     "counts (a uniform scaling scores 1). **Raw** K (the paper's bilip_k) also counts a global change "
                     "of scale (a map that doubles every distance scores 2): a latent of another size than the data, "
                     "which any decoder absorbs, then looks like distortion, so raw K cannot compare models whose "
                     "latents differ in scale.", "Scale-free or raw?", caption=True)

label = f"K ({kind})"
summary_kind = "raw" if kind == "raw" else "scale_free"


def measure(side):
    """The side's constants and what the page draws of them; for the other run the error when it cannot be
    measured (its column says why; the active run's stops the page, as without a comparison)."""
    try:
        with st.spinner(f"Encoding, decoding and comparing {n_pts} points with their {k} latent neighbours…"):
            res = cache.bilip(side.path, k, n_pts, 0)
    except UserInputError as e:
        if side.tag == compare_runs.TAGS[0]:
            widgets.error_box(e)
            st.stop()
        return e
    vals = res.raw if kind == "raw" else res.scale_free
    Z2, _ = latent_plane(side.run.model, res.z)
    sel_key = f"bilip.sel.{side.path}.{kind}.{k}.{n_pts}"
    return dict(res=res, vals=vals, summ=res.summary(summary_kind), proj=cache.display_projection(side.path),
                worst=worst_points(vals, n_worst) if n_worst else np.array([], dtype=int), Z2=Z2,
                sel_key=sel_key, selected=ss.get(sel_key, []))


views = {side.tag: measure(side) for side in pair}
ok = [side for side in pair if isinstance(views[side.tag], dict)]
ok_tags = {side.tag for side in ok}
# one colour range for every heatmap on the page: both runs' (the larger of their own limits)
cmax = shared_bilip_cmax([views[s.tag]["vals"] for s in ok])
per_row = compare_runs.per_row(pair, 4, 2)
for side, col in compare_runs.columns(pair):
    with col:
        v = views[side.tag]
        if not isinstance(v, dict):
            widgets.error_box(v, "this run's bi-Lipschitz constants")
            continue
        summ = v["summ"]
        compare_runs.metric_grid([("median K", f"{summ['median']:.3g}", None),
                                  ("mean K (finite)", f"{summ['mean']:.3g}", None),
                                  ("max K", f"{summ['max']:.3g}", None),
                                  ("infinite K", f"{summ['n_inf']} of {summ['n']}", None)], per_row)
        st.markdown("**Verdict:** " + distortion_verdict(summ["median"], kind != "raw") + ".")
        if v["res"].generated:
            st.info(side.run.model.lacks("has_encoder", "K is measured on the generator over noise-space neighbours "
                                                        "(generated points, coloured by K; the table gives each "
                                                        "one's nearest data point)."), icon=":material/info:")


def latent_view(side):
    """The side's heatmap on the latent; a click, box or lasso there rings the same points on its data view."""
    v = views[side.tag]
    lat = bilip_latent_figure(v["Z2"], v["vals"], label, cmax, v["worst"], v["selected"])
    state_ = widgets.figure(lat, side.key("bilip.latent"), f"{side.info.name}_bilip_latent_{kind}",
                            on_select="rerun")
    pts = [p["point_index"] for p in ((state_ or {}).get("selection") or {}).get("points", [])
           if p.get("curve_number", 0) == 0]
    if pts != v["selected"] and (pts or v["selected"]):
        ss[v["sel_key"]] = pts
        st.rerun()
    st.caption("Click, box- or lasso-select codes here: the same points are ringed in blue on the data.")


def data_view(side):
    v = views[side.tag]
    d = side.run.dataset
    proj = v["proj"]
    mesh = (d.mesh.vertices, d.mesh.faces) if d.mesh is not None and d.ambient_dim == 3 else None
    widgets.figure(bilip_data_figure(proj(v["res"].points, pad3=True), v["vals"], label, cmax, v["worst"],
                                     v["selected"], proj.axis_names + ["0"] * (3 - len(proj.axis_names)), mesh=mesh,
                                     up=up_axis(d.name)), side.key("bilip.data"), f"{side.info.name}_bilip_data_{kind}")
    if len(ok) == 1:
        st.caption(SCALE)


SCALE = ("Same colour scale on both views (log scale, capped at the 99th percentile). Black rings: the worst "
         "points.")


if len(pair) == 1:
    left, right = st.columns(2, gap="medium")
    with right:
        latent_view(pair[0])
    with left:
        data_view(pair[0])
else:  # a row of data views, then a row of latent views, A left and B right
    for draw in (data_view, latent_view):
        for side, col in compare_runs.columns(pair, heading=False):
            if side.tag in ok_tags:
                with col:
                    draw(side)
    st.caption("One colour scale on all four views, both runs (log scale, capped at the 99th percentile of the run "
               "that reaches higher, so neither is drawn more saturated than alone). Black rings: the worst points.")

hists = {s.tag: bilip_histogram(views[s.tag]["vals"], label) for s in ok}
if len(ok) > 1:
    share_histogram_axes(list(hists.values()), [views[s.tag]["vals"] for s in ok])
for side, col in compare_runs.columns(ok, heading=False):
    with col:
        widgets.figure(hists[side.tag], side.key("bilip.hist"), f"{side.info.name}_bilip_hist_{kind}")
if len(ok) > 1:
    st.caption("Both histograms on the same bins and axes.")

# the active run's table and linked view
A = views[compare_runs.TAGS[0]]
res, vals, worst, selected = (A[f] for f in ("res", "vals", "worst", "selected"))
X3 = A["proj"](res.points, pad3=True)
Z2 = A["Z2"]

rows = worst
if len(selected):
    rows = np.unique(np.concatenate([rows, np.asarray(selected, dtype=int)]))
    rows = rows[worst_points(vals[rows], len(rows))]
if len(rows):
    st.subheader("Worst and selected points" + (" of A" if len(pair) > 1 else ""))
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

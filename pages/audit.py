"""Topology audit: the holes of the data, the latent codes and the samples (persistent homology), with floors."""
import json

import numpy as np
import pandas as pd
import streamlit as st

from vdae_core.errors import UserInputError
from vdae_core.ui import cache, frame, widgets
from vdae_core.viz.topology import distance_rows, persistence_figure, tears_figure

info, run = frame.analysis_page("audit", "Topology audit")
ds = run.dataset
st.caption(f"Run **{info.label}**")
st.markdown(
    "**Persistent homology** grows a ball around every point and records when components merge, loops close and "
    "voids fill. A bar that lives long is a real feature of the shape (a circle has one long loop); short bars "
    "are sampling noise. Below: the data, the model's latent codes and its samples, side by side — a model that "
    "respects the topology keeps the data's long bars in all three.")
c = st.columns([1, 1, 2])
maxdim = c[0].radio("Homology up to", [1, 2], horizontal=True, key="audit.maxdim",
                    format_func=lambda d: {1: "H1 (loops)", 2: "H2 (voids, slower)"}[d])
max_points = c[1].select_slider("points per cloud", [150, 200, 300, 400, 600], 400 if maxdim == 1 else 200,
                                key=f"audit.points{maxdim}",
                                help="Larger clouds are replaced by a farthest-point subsample of this size (its "
                                     "cover radius is shown). Time grows about as the cube.")
c[2].caption("A bar counts as a feature when it lives longer than τ: 4 (components) or 2 (loops, voids) times "
             "the typical gap between neighbouring points of that cloud (the 90th percentile of its minimum "
             "spanning tree's edges), so each cloud is judged on its own scale.")
try:
    with st.spinner(f"Persistent homology of data, codes and samples (H0–H{maxdim}, {max_points} points each)…"):
        rep = cache.topology(info.path, maxdim, max_points)
except UserInputError as e:
    widgets.error_box(e)
    st.stop()

for line in rep["summary"]:
    st.markdown(f"- {line}")
st.caption(f"Data = {rep['reference']}." + (f" {rep['latent_note']}." if rep["latent_note"] else ""))
widgets.figure(persistence_figure(rep), "audit.persistence", f"{info.name}_persistence")
sub = [f"{name}: {c['n_used']} of {c['n_points']} points (cover radius {c['cover_radius']:.3g})"
       for name, c in rep["clouds"].items() if c and c["n_used"] < c["n_points"]]
if sub:
    st.caption("Subsampled by farthest points (seed 0): " + "; ".join(sub) + ". The diagram of a subsample is "
               "within twice its cover radius (bottleneck) of the whole cloud's.")
st.subheader("Do the samples have the data's holes?")
st.markdown("The bottleneck distance is the largest mismatch between two diagrams (a missing loop costs half its "
            "life); the Wasserstein distance adds all mismatches up. The **floor** is the same distance between "
            "the data and other samples of the data's own law: a model at its floor is as close as a second "
            "sample of the data would be.")
widgets.table(pd.DataFrame(distance_rows(rep)), "audit.distances", f"{info.name}_topology_distances")
st.download_button("Download the report (JSON)", json.dumps(rep, indent=1).encode(), f"{info.name}_topology.json",
                   "application/json", key="audit.json", icon=":material/download:")
st.caption("The same from a terminal: `python -m vdae_core topology --run RUN_FOLDER --out topo.json`.")

st.header("Tears and folds")
st.markdown("A **tear**: two neighbours in the data whose codes lie far apart — the encoder cut the data between "
            "them (red, on the data). A **fold**: two neighbours in the latent whose data points lie far apart — the "
            "encoder glued distant parts together (orange, on the latent). *Far* means longer than a number of "
            "typical edges, so a map that shrinks or stretches everything evenly shows neither.")
c = st.columns(2)
k = c[0].slider("neighbours k", 3, 30, 10, key="audit.k")
factor = c[1].slider("typical edges that make a tear", 3.0, 30.0, 10.0, 1.0, key="audit.factor",
                     help="An edge is torn (folded) when its length in the latent (data) exceeds this many times "
                          "the median over all edges.")
if not run.model.has_encoder:
    st.info(run.model.lacks("has_encoder", "tears and folds are read off the codes of the data, and it has none."))
    st.stop()
try:
    with st.spinner("Two kNN graphs and their edge lengths…"):
        summary, tf = cache.tears(info.path, k, factor)
except UserInputError as e:
    widgets.error_box(e)
    st.stop()
m = st.columns(4)
m[0].metric("torn edges", f"{summary['torn_edges']}", help=f"of {summary['data_edges']} data-neighbour edges")
m[1].metric("points at a tear", f"{summary['points_at_a_tear']}", help=f"of {summary['n_points']} points")
m[2].metric("folded edges", f"{summary['folded_edges']}", help=f"of {summary['latent_edges']} latent-neighbour edges")
m[3].metric("longest edge (× typical)", f"{summary['max_stretch']:.1f}",
            help="The longest data-neighbour edge in the latent, in typical latent edges (the median).")
proj = cache.display_projection(info.path)
Z = cache.latent_codes(info.path)
X3 = proj(ds.X[tf.idx])
Zs = Z.reshape(len(Z), -1)[tf.idx]
one_d = Zs.shape[1] < 2
widgets.figure(tears_figure(X3, np.c_[Zs[:, 0], np.zeros(len(Zs))] if one_d else Zs[:, :2], tf.torn, tf.folded,
                            latent_names=("z1", "(a 1-D latent)") if one_d else ("z1", "z2")),
               "audit.tears", f"{info.name}_tears_folds")
st.caption(f"{summary['n_points']} training points" + (" (a seeded random subset)" if summary["n_points"] < ds.n else "")
           + f"; the latent panel shows its first two coordinates. A continuous map with a continuous inverse has "
             f"neither; a circle on a line must tear once. The same from a terminal: `python -m vdae_core audit --run "
             f"RUN_FOLDER --out audit.json`. Seed stability (is a tear the model family's or one run's?) is a terminal command "
             f"for now: `python -m vdae_core stability --dataset D --model M --seeds 5 --out DIR`. Not built yet: the "
             f"prior-hole map.")

"""Topology audit: the holes of the data, the latent codes and the samples (persistent homology), with floors."""
import json

import numpy as np
import pandas as pd
import streamlit as st

from vdae_core.foundation.errors import UserInputError
from vdae_core.study.analysis import latent_plane
from vdae_core.study.stability import stability_candidates
from vdae_core.study.verdicts import hole_verdict, with_distance_verdicts
from vdae_core.ui import cache, compare_runs, frame, presentation, state, widgets
from vdae_core.viz.images import images_from_points, montage_figure
from vdae_core.viz.topology import (distance_rows, persistence_figure, prior_holes_figure, stability_figure,
                                    tears_figure)

info, run, run_line = frame.analysis_page("audit", "Topology audit")
ds = run.dataset
pair = compare_runs.sides(info, run, compare_runs.pick("audit", info))
if len(pair) == 1:
    st.caption(run_line)
compare_runs.header(pair)
presentation.explain(
    "**Persistent homology** grows a ball around every point and records when components merge, loops close and "
    "voids fill. A bar that lives long is a real feature of the shape (a circle has one long loop); short bars "
    "are sampling noise. Below: the data, the model's latent codes and its samples, side by side — a model that "
    "respects the topology keeps the data's long bars in all three.")
c = st.columns([1, 1, 2])
maxdim = c[0].radio("Homology up to", [1, 2], horizontal=True, key="audit.maxdim",
                    format_func=lambda d: {1: "H1 (loops)", 2: "H2 (voids, slower)"}[d])
max_points = c[1].select_slider("points per cloud", [150, 200, 300, 400, 600], 400 if maxdim == 1 else 200,
                                key=f"audit.points{maxdim}",
                                help="Clouds are replaced by a farthest-point subsample of at most this size, fewer "
                                     "once every point is within 1% of the median distance of a kept one (a curve "
                                     "needs ~250); its cover radius is shown. Time grows about as the cube.")
with c[2]:
    presentation.explain("A bar counts as a feature when it lives longer than τ: 4 (components) or 2 (loops, voids) "
                         "times the typical gap between neighbouring points of that cloud (the 90th percentile of "
                         "its minimum spanning tree's edges), so each cloud is judged on its own scale.",
                         "When is a bar a feature?", caption=True)


def topology_of(side):
    """The side's topology report; for the other run the error when it cannot be computed (the active run's
    stops the page, as without a comparison)."""
    try:
        with st.spinner(f"Persistent homology of data, codes and samples (H0–H{maxdim}, {max_points} points each)"
                        + (f" of {side.tag}" if len(pair) > 1 else "") + "…"):
            return cache.topology(side.path, maxdim, max_points)
    except UserInputError as e:
        if side.tag == compare_runs.TAGS[0]:
            widgets.error_box(e)
            st.stop()
        return e


def loops(rep, key: str) -> str:
    cloud = rep["clouds"].get(key)
    return "—" if not cloud or len(cloud["betti"]) < 2 else str(cloud["betti"][1])


def persistence_text(side, rep) -> None:
    """The side's numbers: (two runs) its loops in data, codes and samples; its summary lines, what its data is and
    how its clouds were subsampled."""
    if len(pair) > 1:
        compare_runs.metric_grid([(f"loops in the {what}", loops(rep, key), None) for key, what in
                                  (("data", "data"), ("latent", "codes"), ("samples", "samples"))], 3)
    for line in rep["summary"]:
        st.markdown(f"- {line}")
    sub = [f"{name}: {c['n_used']} of {c['n_points']} points (cover radius {c['cover_radius']:.3g})"
           for name, c in rep["clouds"].items() if c and c["n_used"] < c["n_points"]]
    presentation.explain(f"Data = {rep['reference']}." + (f" {rep['latent_note']}." if rep["latent_note"] else "")
                         + (" Subsampled by farthest points (seed 0): " + "; ".join(sub) + ". The diagram of a "
                            "subsample is within twice its cover radius (bottleneck) of the whole cloud's."
                            if sub else ""), "Which points", caption=True)


def distances(side, rep) -> None:
    if rep["distances"] is None:
        if len(pair) > 1:
            st.caption("No samples: no distances.")
        return
    widgets.table(pd.DataFrame(distance_rows(with_distance_verdicts(rep))), side.key("audit.distances"),
                  f"{side.info.name}_topology_distances")


DISTANCES = ("The bottleneck distance is the largest mismatch between two diagrams (a missing loop costs half its "
             "life); the Wasserstein distance adds all mismatches up. The **floor** is the same distance between the "
             "data and other samples of the data's own law: a model at its floor is as close as a second sample of "
             "the data would be.")
reps = {side.tag: topology_of(side) for side in pair}


def numbers_then_figures(of, numbers, figures, what: str) -> None:
    """One run: its numbers, then its figures. Two runs: the numbers side by side in two columns, then each run's
    figures across the page (two panels and a colour bar need the width), headed by the run."""
    got = {}
    for side, col in compare_runs.columns(pair):
        with col:
            got[side.tag] = of(side)
            if got[side.tag] is not None:
                numbers(side, got[side.tag])
    for side in pair:
        if got[side.tag] is not None:
            if len(pair) > 1:
                st.markdown(f"**{side.tag}** · {side.label}: {what}")
            figures(side, got[side.tag])


def topology_or_error(side):
    rep = reps[side.tag]
    if isinstance(rep, dict):
        return rep
    widgets.error_box(rep, "this run's topology")
    return None


def persistence_diagrams(side, rep) -> None:
    widgets.figure(persistence_figure(rep), side.key("audit.persistence"), f"{side.info.name}_persistence")


numbers_then_figures(topology_or_error, persistence_text, persistence_diagrams, "persistence diagrams and barcodes")
if any(isinstance(r, dict) and r["distances"] is not None for r in reps.values()):
    st.subheader("Do the samples have the data's holes?")
    st.markdown(DISTANCES)
    for side, col in compare_runs.columns(pair):
        with col:
            if isinstance(reps[side.tag], dict):
                distances(side, reps[side.tag])
rep = reps[compare_runs.TAGS[0]]
st.download_button("Download the report (JSON)" + (" of A" if len(pair) > 1 else ""),
                   json.dumps(rep, indent=1).encode(), f"{info.name}_topology.json", "application/json",
                   key="audit.json", icon=":material/download:")
st.caption("The same from a terminal: `python -m vdae_core topology --run RUN_FOLDER --out topo.json`.")

st.header("Prior holes")
st.markdown("A generative model samples by decoding codes drawn from its **prior**. Where the prior puts codes that "
            "no training point was encoded near — a **hole** — the decoder was never taught anything, and its "
            "samples there often land off the data. Left: prior codes coloured by how dense the data's codes are "
            "there relative to the prior (red: less than a tenth — a hole). Right: the same codes decoded, same "
            "colours, beside held-out data (grey); big points decode beyond one data spacing.")


def holes_of(side):
    """The side's prior-hole report, or ``None`` after saying why there is none."""
    m = side.run.model
    if not (m.has_encoder and m.has_prior):
        st.info(m.lacks("has_encoder" if not m.has_encoder else "has_prior",
                        "the hole map compares the codes the model samples from with the codes of the data."))
        return None
    try:
        with st.spinner("Density ratio of prior codes and data codes, and distances of the decoded codes…"):
            return cache.prior_holes(side.path)
    except UserInputError as e:
        widgets.error_box(e)
        return None


def holes_numbers(side, h) -> None:
    hs = h[0]
    hf, of = hs["hole_share_floor"], hs["off_share_floor"]
    inside = hs["off_share_in_holes"]
    compare_runs.metric_grid([
        ("prior codes in a hole", f"{hs['hole_share']:.1%}",
         f"Data's density below {hs['hole_ratio']:g} of the prior's. Floor {hf[0]:.1%} ± {hf[1]:.1%}: the same with "
         "a second prior draw in place of the data's codes (a perfect match)."),
        ("decoded off the data", f"{hs['off_share']:.1%}",
         f"Farther than {hs['t_spacings']:g} data spacing from held-out data. Floor {of[0]:.1%} ± {of[1]:.1%}: fresh "
         "samples of the data itself."),
        ("of the hole codes, decoded off", "—" if inside is None else f"{inside:.1%}",
         "A hole matters when its codes decode off the data; VDAE's decoder projects its walk's codes back onto the "
         "data's codes, so its holes decode on the data.")], 3)
    st.markdown("**Verdict:** " + hole_verdict(hs["hole_share"], hf[0], hs["off_share"], of[0], of[1], inside) + ".")
    st.caption(f"Floors: holes {hf[0]:.1%} ± {hf[1]:.1%}, off the data {of[0]:.1%} ± {of[1]:.1%}. Prior: "
               f"{hs['prior']}; {hs['n_prior']} codes against the codes of {hs['n_data_codes']} training "
               f"points. Density ratio by k = {hs['k']} nearest neighbours in {hs['dim']} dimension"
               f"{'s' * (hs['dim'] != 1)} (k = the cube root of the sample size, within 5–30); a data spacing "
               f"= the median distance from a held-out point to its 10th neighbour ({hs['spacing']:.3g}). "
               f"Data = {hs['reference']}.")


def holes_figures(side, h) -> None:
    hs, ph, Zd2, Zp2, Xs, Rh, names = h
    proj = cache.display_projection(side.path)
    widgets.figure(prior_holes_figure(Zd2, Zp2, ph.log_ratio, proj(Rh), proj(Xs), ph.off, hs["t_spacings"],
                                      hs["hole_ratio"], latent_names=names),
                   side.key("audit.holes"), f"{side.info.name}_prior_holes")
    shape = side.run.model.data_shape
    if len(shape) > 1:
        worst = np.argsort(-ph.off)[:20]
        imgs = np.clip(images_from_points(Xs[worst], shape), 0, 1)
        widgets.figure(montage_figure(imgs, ncols=10, title="the 20 decoded prior codes farthest from the data"),
                       side.key("audit.holes_images"), f"{side.info.name}_prior_holes_images")


numbers_then_figures(holes_of, holes_numbers, holes_figures, "prior codes and their decodings")


def tears_section():
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
    numbers_then_figures(lambda side: tears_of(side, k, factor), tears_numbers, tears_figures,
                         "torn and folded edges")
    st.caption("The same from a terminal, with the prior holes: `python -m vdae_core audit --run RUN_FOLDER --out "
               "audit.json`.")


def tears_of(side, k: int, factor: float):
    """The side's tears and folds and its RTD, or ``None`` after saying why there are none."""
    m = side.run.model
    if not m.has_encoder:
        st.info(m.lacks("has_encoder", "tears and folds are read off the codes of the data, and it has none."))
        return None
    try:
        with st.spinner("Two kNN graphs and their edge lengths…"):
            summary, tf = cache.tears(side.path, k, factor)
    except UserInputError as e:
        widgets.error_box(e)
        return None
    try:
        with st.spinner("Representation Topology Divergence of the codes…"):
            r = cache.rtd(side.path)
    except UserInputError as e:
        widgets.error_box(e, "RTD")
        r = None
    return summary, tf, r


def tears_numbers(side, t) -> None:
    summary, _, r = t
    compare_runs.metric_grid([
        ("torn edges", f"{summary['torn_edges']}", f"of {summary['data_edges']} data-neighbour edges"),
        ("points at a tear", f"{summary['points_at_a_tear']}", f"of {summary['n_points']} points"),
        ("folded edges", f"{summary['folded_edges']}", f"of {summary['latent_edges']} latent-neighbour edges"),
        ("longest edge (× typical)", f"{summary['max_stretch']:.1f}",
         "The longest data-neighbour edge in the latent, in typical latent edges (the median)."),
        ("RTD codes vs data", "—" if r is None else f"{r['value']:.3g}",
         "Representation Topology Divergence (Barannikov et al. 2022): 0 when the codes' clusters and loops appear "
         "at the same scales as the data's; it grows with each one the codes make or lose. "
         + ("" if r is None else f"Mean of {r['trials']} batches of {r['batch']} pairs."))],
        compare_runs.per_row(pair, 5, 3))
    st.caption(f"{summary['n_points']} training points"
               + (" (a seeded random subset)" if summary["n_points"] < side.run.dataset.n else "")
               + "; the latent panel shows two coordinates of the codes (both when there are two, else the latent's "
                 "intrinsic coordinates or two principal axes). A continuous map with a continuous inverse has "
                 "neither; a circle on a line must tear once.")


def tears_figures(side, t) -> None:
    _, tf, _ = t
    proj = cache.display_projection(side.path)
    Z = cache.latent_codes(side.path)
    Zs, names = latent_plane(side.run.model, Z[tf.idx])
    widgets.figure(tears_figure(proj(side.run.dataset.X[tf.idx]), Zs, tf.torn, tf.folded, latent_names=names),
                   side.key("audit.tears"), f"{side.info.name}_tears_folds")


def stability_section():
    st.header("Seed stability")
    st.markdown("Is a tear a property of the model family or of one unlucky run? The same model trained on the same "
                "data with other seeds, every run read at the same fresh points: per point, how much the "
                "bi-Lipschitz constant varies over the seeds (coefficient of variation) and how many seeds tear "
                "there. A tear every seed makes is the family's; one seed's tear is luck.")
    if not run.model.has_encoder:
        st.info(run.model.lacks("has_encoder", "its per-point maps are read at the codes of common points."))
        return
    cands = stability_candidates(state.saved_runs(), info)
    seeds = [c.seed for c in cands]
    if len(cands) < 2:
        st.info(f"This model on this data (latent dimension {info.latent_dim}, {info.n} points) is saved with seed"
                f"{'s' * (len(seeds) != 1)} {', '.join(map(str, seeds)) or 'none'} only: stability needs at least 2 "
                f"seeds. Train seeds 0–4 on the **Compare** page (this dataset, this model, 5 seeds); its runs use "
                f"the comparison's settings, so they join this run's group when it was trained with them. From a "
                f"terminal: `python -m vdae_core stability --dataset {info.dataset} --model {info.model} --seeds 5 "
                f"--out DIR`.")
        return
    chosen = st.multiselect("seeds to compare", seeds, default=seeds[:5], key="audit.stab_seeds",
                            help="Runs of this model on this dataset with the same latent dimension and number of "
                                 "points (the newest per seed; runs stopped early are left out).")
    if len(chosen) < 2 or not st.toggle(f"Measure the stability of {len(chosen)} seeds", key="audit.stab_on",
                                        help="About 2 s per seed, then cached."):
        return
    try:
        with st.spinner(f"Reading {len(chosen)} runs at the same 1,000 fresh points…"):
            stab = cache.stability([c.path for c in cands if c.seed in chosen])
    except UserInputError as e:
        widgets.error_box(e)
        return
    s = stab.summary()
    m = st.columns(3)
    m[0].metric("points torn by every seed", s["points_torn_by_every_seed"], help=f"of {s['n_points']} common points")
    m[1].metric("points torn by some seeds", s["points_torn_by_some_seeds"])
    m[2].metric("median CV of bi-Lipschitz", f"{s['bilip_cv_median']:.2f}",
                help=f"90th percentile {s['bilip_cv_p90']:.2f}; 0 = every seed distorts each point alike.")
    proj = cache.display_projection(info.path)
    widgets.figure(stability_figure(proj(stab.points), stab.bilip_cv, stab.tear_share,
                                    f"{run.model.title} on {info.dataset}, seeds {', '.join(map(str, s['seeds']))}"),
                   "audit.stability", f"{info.name}_stability")
    rows = [{"seed": sd, "points at a tear": t} for sd, t in zip(s["seeds"], s["torn_points_per_seed"])]
    for key, v in s["metrics"].items():
        for row, val in zip(rows, v["values"]):
            row[key] = val
    widgets.table(pd.DataFrame(rows), "audit.stability_table", f"{info.name}_stability")
    if not s["metrics"]:
        st.caption("The evaluation metrics' spread appears here once every chosen run has been evaluated on the "
                   "Compare page (1,000 samples, k = 10).")


tears_section()
if len(pair) > 1:
    st.caption("Seed stability below is about the active run, **A**.")
stability_section()

"""Audit any map: upload points and their codes from any method; tears, folds, distortion and topology."""
import json
import os

import numpy as np
import pandas as pd
import streamlit as st

from vdae_core.foundation.errors import UserInputError
from vdae_core.models.scripted import MODEL_SUFFIXES
from vdae_core.study.analysis import DisplayProjection
from vdae_core.study.verdicts import with_distance_verdicts
from vdae_core.ui import cache, frame, jobs, nav, uploads, widgets
from vdae_core.viz.topology import distance_rows, persistence_figure, tears_figure

ss = st.session_state
frame.ensure_routed("map")
st.title("Audit any map")
st.markdown(
    "Bring an embedding made anywhere — your own encoder, UMAP, t-SNE, a published model: **points X** "
    "(n rows, one per data point) and **codes Z** (n rows, row *i* the code of row *i* of X, at most 64 columns). "
    "The studio measures what it measures for its own models: where the map **tears** (data neighbours sent far "
    "apart), where it **folds** (far-apart points sent together), how much it distorts distances "
    "(bi-Lipschitz), whether neighbourhoods survive (trustworthiness, continuity), and whether the codes keep the "
    "data's loops (persistent homology). Optional **samples** from your generator are judged against a random "
    "half of X, beside a floor drawn from the other half. Files stay private to this browser.")

EXAMPLE = ("circle", "a circle of 600 points and its angle as a 1-D code (a map that must tear once)")


def write_example() -> dict:
    """A circle and its angle as the code, in this browser's private uploads."""
    folder = os.path.join(uploads.session_dir(), "example_map")
    os.makedirs(folder, exist_ok=True)
    t = np.sort(np.random.default_rng(0).uniform(0, 2 * np.pi, 600))
    paths = {"points": os.path.join(folder, "circle_points.npy"), "codes": os.path.join(folder, "circle_angle.npy")}
    np.save(paths["points"], np.stack([np.cos(t), np.sin(t)], 1))
    np.save(paths["codes"], t[:, None])
    return {**paths, "samples": None, "label": "example: circle → angle"}


c = st.columns(3)
KINDS = {"points": ["npy", "npz", "csv", "txt"], "codes": ["npy", "npz", "csv", "txt", "pt", "pth"],
         "samples": ["npy", "npz", "csv", "txt"]}
files = {role: c[j].file_uploader(title, key=f"map.{role}", type=KINDS[role], help=tip)
         for j, (role, title, tip) in enumerate((
             ("points", "Points X (n × m)", None),
             ("codes", "Codes Z (n × d), or a model file",
              "A file of codes, or your model as TorchScript (torch.jit.script(model).save('m.pt')): its encode(x) "
              "gives the codes, its sample(n) or generate(z) the samples. Model files are read without "
              "unpickling: a torch.save pickle or a torch.export archive is refused."),
             ("samples", "Samples (optional, M × m)", None)))}
b = st.columns([1, 2, 3])
if b[0].button("Audit", type="primary", icon=":material/troubleshoot:", key="map.go",
               disabled=files["points"] is None or files["codes"] is None):
    kept, errors = {}, []
    for role, f in files.items():
        if f is None:
            continue
        is_model = role == "codes" and f.name.lower().endswith(MODEL_SUFFIXES)
        accept = uploads.accept_model if is_model else uploads.accept_codes if role == "codes" else uploads.accept_points
        path, err = accept(f)
        if err:
            errors.append(f"{role}: {err}")
        kept[role] = path
    if not errors:  # the pair must fit together before it replaces the audit shown
        try:
            cache.map_files(kept["points"], kept["codes"], kept.get("samples"))  # checks the three together
        except UserInputError as e:
            errors.append(str(e))
    if errors:
        for e in errors:
            widgets.error_box(UserInputError(e), "cannot audit")
    else:
        ss["map.files"] = {"points": kept["points"], "codes": kept["codes"], "samples": kept.get("samples"),
                           "label": f"{files['points'].name} → {files['codes'].name}"}
if b[1].button(f"Try it: {EXAMPLE[0]}", key="map.example", icon=":material/science:", help=EXAMPLE[1]):
    ss["map.files"] = write_example()
b[2].caption("From a terminal: `python -m vdae_core audit --points X.npy --codes Z.npy --out a.json` and "
             "`python -m vdae_core topology --points X.npy --codes Z.npy [--samples S.npy] --out t.json`.")

if "map.files" not in ss:
    st.info("Upload points and codes, or press *Try it* for a circle mapped to its angle.", icon=":material/info:")
    st.stop()

f = ss["map.files"]
k_col, f_col = st.columns(2)
k = k_col.slider("neighbours k", 3, 30, 10, key="map.k")
factor = f_col.slider("typical edges that make a tear", 3.0, 30.0, 10.0, 1.0, key="map.factor",
                      help="An edge is torn (folded) when its length in the codes (data) exceeds this many times "
                           "the median over all edges.")
try:
    with st.spinner(f"Auditing {f['label']}: two kNN graphs, distortion and persistence…"):
        rep, edges, top = cache.map_audit(f["points"], f["codes"], f["samples"], k, factor)
except (UserInputError, FileNotFoundError) as e:
    widgets.error_box(e, f["label"])
    st.stop()

st.subheader(f"{f['label']}: {rep['n_points']} points in {rep['points_dim']} dimension"
             f"{'s' * (rep['points_dim'] != 1)} → codes in {rep['codes_dim']}")
tf, bl = rep["tears_folds"], rep["bilipschitz"]
m = st.columns(6)
m[0].metric("torn edges", tf["torn_edges"], help=f"of {tf['data_edges']} data-neighbour edges; "
                                                 f"{tf['points_at_a_tear']} points sit at a tear")
m[1].metric("folded edges", tf["folded_edges"], help=f"of {tf['latent_edges']} code-neighbour edges; "
                                                     f"{tf['points_at_a_fold']} points sit at a fold")
m[2].metric("bi-Lipschitz", f"{bl['scale_free_median']:.2f}",
            help=f"The scale-free median: 1 = distances kept up to one scale. Raw median {bl['median']:.3g} (the paper's constant, which "
                 f"also counts the map's overall scale); 95th percentile {bl['p95']:.3g}.")
m[3].metric("trustworthiness", f"{rep['trustworthiness']:.3f}", help="Are code neighbours also data neighbours? 1 = yes.")
m[4].metric("continuity", f"{rep['continuity']:.3f}", help="Are data neighbours also code neighbours? 1 = yes.")
m[5].metric("RTD", f"{rep['rtd']['value']:.3g}",
            help="Representation Topology Divergence (Barannikov et al. 2022): 0 when the codes' clusters and loops "
                 "appear at the same scales as the data's; it grows with each one the codes make or lose. "
                 f"Mean of {rep['rtd']['trials']} batches of {rep['rtd']['batch']} pairs; compare values only at "
                 "the same settings.")
verdict = []
if tf["torn_edges"]:
    verdict.append(f"the map **tears** the data at {tf['points_at_a_tear']} points")
if tf["folded_edges"]:
    verdict.append(f"it **folds** far-apart points together at {tf['points_at_a_fold']} points")
betti = {c: top["clouds"][c]["betti"] for c in ("data", "latent") if top["clouds"][c]}
if len(betti) == 2 and betti["data"] != betti["latent"]:
    verdict.append(f"its codes have Betti numbers {tuple(betti['latent'])} where the data has "
                   f"{tuple(betti['data'])} (components, loops)")
st.markdown(("In short: " + "; ".join(verdict) + ".") if verdict else
            "In short: no tear, no fold, and the codes keep the data's components and loops.")

X3 = DisplayProjection(edges["X"])(edges["X"])
Zi = edges["Z"].astype(np.float64)
if Zi.shape[1] > 2:
    Z2, names = DisplayProjection(Zi, max_dim=2)(Zi), ["code PC1", "code PC2"]
elif Zi.shape[1] == 2:
    Z2, names = Zi, ["z1", "z2"]
else:
    Z2, names = np.column_stack([Zi[:, 0], np.zeros(len(Zi))]), ["z1", "0"]
widgets.figure(tears_figure(X3, Z2, edges["torn"], edges["folded"], latent_names=names), "map.tears", "map_tears_folds")
st.caption("Left: the points (their first three principal axes when there are more), torn edges in red. Right: "
           "the codes (two principal axes when there are more than two), folded edges in orange. "
           f"{tf['n_points']} points" + (" (a seeded random subset)" if tf["n_points"] < rep["n_points"] else "")
           + f", k = {k}.")

st.subheader("Loops and components: the data against its codes")
for line in top["summary"]:
    st.markdown(f"- {line}")
widgets.figure(persistence_figure(top), "map.persistence", "map_persistence")
if top["distances"] is not None:
    st.markdown("**Samples against the data**: the bottleneck distance between their diagrams, beside its floor "
                "(the same distance for disjoint draws of your points).")
    widgets.table(pd.DataFrame(distance_rows(with_distance_verdicts(top))), "map.distances", "map_topology_distances")
st.caption(f"Data = {top['reference']}.")
st.subheader("Open these codes in the studio's other pages")
st.caption("As a run of its own, private to this browser: the Latent page (t-SNE/UMAP views, the point inspector), "
           "the Bi-Lipschitz page and the Topology audit read it like any trained model. The points are split as "
           "an uploaded dataset is (a fifth held out); each training point keeps its uploaded code.")
if st.button("Open as a run", key="map.open", icon=":material/open_in_new:"):
    try:
        X_all, Z_all, _ = cache.map_files(f["points"], f["codes"], f["samples"])
        codes_path = os.path.join(os.path.dirname(f["points"]), "codes_for_run.npy")
        np.save(codes_path, Z_all)
        jobs.start_job("imported_codes", {"points_file": f["points"], "codes_file": codes_path,
                                          "latent_dim": int(Z_all.shape[1])},
                       {"dataset": f["points"], "n": int(len(X_all)), "seed": 0, "noise": 0.0}, 0, preset="imported")
    except (UserInputError, RuntimeError, OSError) as e:
        widgets.error_box(e, "cannot open these codes as a run")
    else:
        ss["map.opened"] = True
if ss.get("map.opened"):
    st.success("Saved as a run (it becomes the active run in the sidebar once stored, in a moment).",
               icon=":material/check:")
    nav.link("latent", "Open the Latent page", ":material/bubble_chart:")
st.download_button("Download the audit (JSON)", json.dumps({"audit": rep, "topology": top}, indent=1, default=str),
                   "map_audit.json", "application/json", key="map.json", icon=":material/download:")

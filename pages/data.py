"""Data: pick a registered dataset or upload one; preview it next to its exact diffusion map, explored: any pair or
triple of eigenvectors at a diffusion time t, the spectrum with the latent D marked, one point's random walk."""
import os

import streamlit as st

from vdae_core.geometry.diffusion_maps import diffusion_coordinates
from vdae_core.study.analysis import (EXACT_DM_MAX_POINTS, colour_options, coordinates_follow, display_coords,
                                     follow_caption)
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.text import superscript
from vdae_core.foundation.registry import DATASETS
from vdae_core.ui import cache, frame, presentation, state, uploads, widgets
from vdae_core.viz.common import up_axis
from vdae_core.viz.images import montage_figure
from vdae_core.viz.scatter import (diffusion_coord_name, diffusion_pair_figure, diffusion_spectrum_figure,
                                  points_figure, transition_row_figure)

ss = st.session_state
frame.ensure_routed("data")
st.title("Data")
if not presentation.active():
    st.caption("Choose the points a model learns from. Every dataset comes with ground-truth coordinates (angles, "
               "heights, labels) that colour the points here and on every later page.")
state.show_flashes()

names = DATASETS.names()
fallback = state.DEFAULT_DATASET if state.DEFAULT_DATASET in names else names[0]
upload_active = state.upload_active()
if ss["dataset"] not in names and not upload_active and not os.path.splitext(ss["dataset"])[1]:
    state.flash("warning", f"Unknown dataset `{ss['dataset']}` (from the link?): showing `{fallback}` instead.")
    state.set_selection(dataset=fallback)
    st.rerun()
source = st.radio("Source", ["Built-in dataset", "Upload a file"], index=1 if upload_active else 0,
                  horizontal=True, key=state.wkey("source"), label_visibility="collapsed")

c = st.columns([3, 1, 1, 1])
if source == "Built-in dataset":
    cur = ss["dataset"] if ss["dataset"] in names else fallback
    c[0].selectbox("Dataset", names, index=names.index(cur), key=state.wkey("dataset"),
                   format_func=lambda n: f"{n} — {DATASETS.help(n)}",
                   on_change=state.from_widget("dataset"))
else:
    with c[0]:
        up = st.file_uploader("Point cloud (.npy, .npz with key X, .csv, .txt), mesh (.ply, .obj, .off, .stl) or a "
                              ".zip of images", key="w.upload",
                              help="The file and the runs trained on it stay private to this browser; other users never "
                                   "see them. Uploads unused for 24 hours are deleted (runs keep their own copy).")
        if up is not None and ss.get("upload_seen") != up.file_id:
            ss["upload_seen"] = up.file_id
            with st.spinner(f"Reading {up.name}…"):
                path, err = uploads.accept_upload(up, ss["n"], ss["seed"], ss["noise"])
            ss["upload_error"] = err
            if path:
                state.set_selection(dataset=os.path.basename(path), upload_path=path)
                state.flash("success", f"Loaded **{os.path.basename(path)}**.")
                st.rerun()
        if up is None:
            ss["upload_seen"], ss["upload_error"] = None, None
        if ss.get("upload_error"):
            msg = ss["upload_error"].rstrip()
            st.error(f"{msg}{'' if msg.endswith(('.', '!', ')')) else '.'} The current dataset is unchanged.",
                     icon=":material/error:")
c[1].number_input("Points n", 10, 200_000, int(ss["n"]), step=500, key=state.wkey("n"),
                  help="Number of points sampled (image sets and uploads are subsampled to at most n).",
                  on_change=state.from_widget("n", int))
c[2].number_input("Noise", 0.0, 10.0, float(ss["noise"]), step=0.01, format="%g", key=state.wkey("noise"),
                  help="Std of Gaussian noise added to synthetic points.",
                  on_change=state.from_widget("noise", float))
c[3].number_input("Seed", 0, 2**31 - 1, int(ss["seed"]), step=1, key=state.wkey("seed"),
                  help="Seeds the data sampling and the training.",
                  on_change=state.from_widget("seed", int))

if ss["dataset"] not in names and not upload_active:
    st.warning(f"`{ss['dataset']}` was an uploaded file (in this or another browser, or deleted after 24 hours "
               "unused): upload it again, or choose "
               "a built-in dataset. Saved runs trained on it still work on the other pages (a run folder keeps "
               "its data).")
    st.stop()

cfg = state.data_config_dict()
try:
    with st.spinner("Building the dataset…"):
        ds = cache.dataset(cfg)
except UserInputError as e:
    widgets.error_box(e)
    st.stop()

m = st.columns(4)
m[0].metric("points", f"{ds.n:,}")
m[1].metric("ambient dim m", ds.ambient_dim)
m[2].metric("intrinsic dim d", ds.intrinsic_dim)
with st.spinner("Reading the latent dimension off the data…"):
    choice = ds.latent_dim_choice()
m[3].metric("latent D (auto)", choice.dim,
            help="What a model's latent_dim = 0 (auto) uses here, for a built-in set and an uploaded file alike.")
rule = choice if ds.suggested_dim is None else ds.data_dim_rule()
extras = ", ".join(k for k, v in (("a triangle mesh", ds.mesh), ("images", ds.images), ("labels", ds.labels))
                   if v is not None)
presentation.explain(choice.reason + ("" if rule is choice else f" The rule that reads D off the points (used for "
                                                                f"your files) says: {rule.reason}")
                     + f"\n\nSource: {ds.source}" + (f" · comes with {extras}" if extras else ""),
                     "Why this latent D, and where the data comes from", caption=True)

if upload_active and ds.images is not None:
    orders = {"line": "a line — frames of a video or a sweep (the frame number is a coordinate)",
              "circle": "a circle — a turntable or a loop (the last frame is next to the first: an angle)"}
    st.radio("What is the order of the files (by name)?", list(orders), format_func=orders.get,
             index=list(orders).index(ss["order"]), key=state.wkey("order"), on_change=state.from_widget("order"),
             help="The studio uses it as the ground truth of the images: it colours every plot, and for a circle "
                  "the Latent page scores how well a model's latent angle follows it (circular correlation).")

colours = colour_options(ds.params, ds.param_names, ds.periodic)
cname = st.selectbox("Colour by (ground truth)", list(colours), key="data.colour")
cval, cper = colours[cname]

if ds.images is not None:
    with st.expander(f"Images ({min(ds.n, 60)} of {ds.n})", expanded=True):
        widgets.figure(montage_figure(ds.images[:60], ncols=15), "data.montage", f"{ds.name}_images")

#: Eigenvectors computed once for the explorer (at least; the latent D + 3 when that is more).
EXPLORER_COMPONENTS = 12
#: The diffusion times t offered (eigenvalues near 1 need large t to show any decay).
DIFFUSION_TIMES = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
dm_ok = ds.n <= EXACT_DM_MAX_POINTS
if "data.point" in ss and not 0 <= int(ss["data.point"]) < ds.n:  # another dataset or a smaller n
    ss["data.point"] = min(max(int(ss["data.point"]), 0), ds.n - 1)
start = int(ss.get("data.point", 0))


def _pick(key: str) -> None:
    """A click on a 2-D view (the figure under ``key``) makes the clicked point the walk's start."""
    pts = [p for p in (((ss.get(key) or {}).get("selection") or {}).get("points") or [])
           if p.get("curve_number", 0) == 0]
    if pts:
        ss["data.point"] = int(pts[0]["point_index"])


def _clicks(key: str, dims: int):
    """What ``widgets.figure`` gets for ``on_select``: a click picks the start in a 2-D view (plotly reports no
    clicks on 3-D scenes)."""
    return (lambda: _pick(key)) if dims == 2 and dm_ok else "ignore"


left, right = st.columns(2, gap="medium")
with left:
    st.subheader("The data")
    P, axes = display_coords(ds.X)
    show_mesh = ds.mesh is not None and P.shape[1] == 3 and ds.ambient_dim == 3 and st.toggle(
        "show the mesh", value=False, key="data.mesh")
    up = up_axis(ds.name) if ds.ambient_dim == 3 else "z"
    fig = points_figure(P, cval, cname, cper, axis_names=axes,
                        mesh=(ds.mesh.vertices, ds.mesh.faces) if show_mesh else None, uirevision=f"data-{ds.name}",
                        up=up, highlight=[start] if dm_ok else None, highlight_name="walk start")
    widgets.figure(fig, "data.points", f"{ds.name}_points", on_select=_clicks("data.points", P.shape[1]),
                   selection_mode=("points",))
    if ds.ambient_dim > 3:
        st.caption(f"{ds.ambient_dim}-D points shown by their first three principal components.")
dm = None
with right:
    st.subheader("Its exact diffusion map")
    from vdae_core.models.vdae import VDAEConfig

    k = st.slider("kNN graph neighbours k", 5, 50, VDAEConfig().knn, key="data.k",
                  help="The Gaussian kNN graph the diffusion map (and SpectralNet) is built on.")
    if not dm_ok:
        st.info(f"The exact diffusion map is shown for up to {EXACT_DM_MAX_POINTS:,} points and this data has "
                f"{ds.n:,}: lower n to see it. (SpectralNet, which the models train, has no such limit.)",
                icon=":material/info:")
    else:
        try:
            with st.spinner("Eigendecomposition of the random-walk matrix…"):
                dm = cache.diffusion(cfg, k=k, n_components=max(EXPLORER_COMPONENTS, choice.dim + 3))
        except UserInputError as e:
            widgets.error_box(e, "diffusion map")
    if dm is not None:
        coords, evals, secs = dm
        N = coords.shape[1]
        default = list(range(min(3, N)))
        if "data.dims" in ss and any(j >= N for j in ss["data.dims"]):  # fewer eigenvectors than before
            ss["data.dims"] = [j for j in ss["data.dims"] if j < N]
        c = st.columns([3, 2])
        dims = c[0].multiselect("Eigenvectors on the axes", list(range(N)),
                                default=None if "data.dims" in ss else default, max_selections=3, key="data.dims",
                                format_func=lambda j: f"φ{j + 1}",
                                help=f"Two for a 2-D view, three for 3-D (axes in the order picked). The first {N} "
                                     "eigenvectors are computed once; picking others costs nothing.")
        t = c[1].select_slider("Diffusion time t", DIFFUSION_TIMES, value=0, key="data.t",
                               help="Each eigenvector φᵢ is drawn scaled by μᵢᵗ (t = 0: unscaled).")
        if len(dims) < min(2, N):
            st.caption("Pick two or three eigenvectors: showing " + ", ".join(f"φ{j + 1}" for j in default) + ".")
            dims = default
        psi = diffusion_coordinates(coords[:, dims], evals[dims], t)
        shown = [j + 1 for j in dims]
        fig = diffusion_pair_figure(psi, shown, evals[dims], cval, cname, cper, t=t, highlight=[start],
                                    uirevision=f"dm-{ds.name}-{len(dims)}")
        widgets.figure(fig, "data.dm", f"{ds.name}_dmap_t{t}", on_select=_clicks("data.dm", len(dims)),
                       selection_mode=("points",))
        label = ", ".join(diffusion_coord_name(j, t) for j in shown)
        st.caption(("t = 0: the plain eigenvectors φᵢ of P = D⁻¹W, what SpectralNet learns to output "
                    "(ψ(x) ≈ (φ₁(x), φ₂(x), …)). " if not t else
                    f"t = {t}: the diffusion map ψₜ = (μ₁ᵗφ₁, μ₂ᵗφ₂, …) of Coifman & Lafon, each eigenvector φᵢ "
                    "of P = D⁻¹W scaled by its eigenvalue to the power t. ")
                   + "A larger t shrinks the fast-decaying coordinates (small μᵢ, high i) towards 0, and the "
                     "Euclidean distance between two points' ψₜ (all coordinates) approximates their diffusion "
                     "distance at time t: how differently t-step random walks from them spread. "
                   + f"The first {N} eigenvectors took {secs:.2f} s, once. "
                   + follow_caption(coordinates_follow(psi, ds.params, ds.param_names, ds.periodic), label))

if dm is not None:
    walk, spec = st.columns(2, gap="medium")
    with walk:
        st.subheader("One point's random walk")
        st.number_input("Start point", 0, ds.n - 1, step=1, key="data.point",
                        help="The point whose random walk is shown (hover a point for its index; in a 2-D view "
                             "a click picks it).")
        steps = max(int(t), 1)
        row = cache.transition_row(cfg, k, start, steps)
        fig = transition_row_figure(P, row, start, steps, axes, uirevision=f"walk-{ds.name}", up=up)
        widgets.figure(fig, "data.walk", f"{ds.name}_walk_{start}_t{steps}", on_select=_clicks("data.walk", P.shape[1]),
                       selection_mode=("points",))
        reach = int((row > 0).sum())
        st.caption((f"Row {start} of P = D⁻¹W: one step of the random walk on the kNN graph (k = {k}), "
                    "W the Gaussian weights, D their row sums. " if steps == 1 else
                    f"Row {start} of P{superscript(steps)}: where a {steps}-step random walk on "
                    f"the kNN graph (k = {k}) from point {start} is. ")
                   + f"Grey: no chance; {reach:,} points have some. "
                   + ("(t = 0 shows one step: P⁰ is the identity.) " if not t else "")
                   + "Steps follow the data, never across a gap, so the walk spreads along the manifold; the "
                     "diffusion distance between two points compares their rows. "
                   + ("Click a point to start from it." if P.shape[1] == 2 else ""))
    with spec:
        st.subheader("The spectrum")
        widgets.figure(diffusion_spectrum_figure(evals, choice.dim, t, shown), "data.spectrum",
                       f"{ds.name}_spectrum")
        st.caption(f"Eigenvalues μᵢ of P (μ₀ = 1, the constant eigenvector, left out). Blue: the first "
                   f"D = {choice.dim} coordinates a model keeps with latent D = 0 (auto); circled: those on the "
                   "axes above. "
                   + (f"Red: μᵢ{superscript(t)}, the factor that scales φᵢ in ψₜ at t = {t}. "
                      if t else "")
                   + f"Why this D — {choice.reason}")

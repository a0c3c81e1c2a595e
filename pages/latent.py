"""Latent space: codes coloured by the ground truth, thumbnails, t-SNE/UMAP of generated vs real, decoded grid."""
import numpy as np
import streamlit as st

from vdae_core.study.analysis import colour_options
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import EMBEDDERS
from vdae_core.ui import cache, compare_runs, frame, widgets
from vdae_core.ui.inspector import point_inspector
from vdae_core.viz.images import (decoded_points_grid_figure, images_from_points, montage_figure, spread_indices,
                                  thumbnails_figure)
from vdae_core.viz.latent_spaces import latent_view
from vdae_core.viz.scatter import embedding_figure, points_figure
from vdae_core.viz.side_by_side import scenes_side_by_side, set_colour_range, shared_colour_range

ss = st.session_state
info, run, run_line = frame.analysis_page("latent", "Latent space", "Loading the run and encoding the data…")
ds = run.dataset
space = run.model.latent_space
pair = compare_runs.sides(info, run, compare_runs.pick("latent", info))
compare_runs.header(pair)
colours = colour_options(ds.params, ds.param_names, ds.periodic)
c = st.columns([1, 1, 2])
cname = c[0].selectbox("Colour by (ground truth)", list(colours), key="latent.colour")
cval, cper = colours[cname]

# R^D latents: the user picks which coordinates to draw (the widest Euclidean latent of the page sets the choice)
euclid = [s.run.model.latent_space.dim for s in pair
          if s.run.model.has_encoder and not s.run.model.latent_space.is_compact]
nd, dims = 2, [0, 1]
if euclid:
    D = max(euclid)
    mode = c[1].radio("View", ["2D", "3D"] if D >= 3 else ["2D"], horizontal=True, key="latent.mode")
    nd = 3 if mode == "3D" else 2
    default = [min(j, D - 1) for j in range(nd)]
    dims = c[2].multiselect("Latent coordinates", list(range(D)) if D >= 2 else [0], default=default,
                            max_selections=nd, key=f"latent.dims{nd}", format_func=lambda j: f"z{j + 1}",
                            help="Which latent coordinates to draw (for the VDAE they are diffusion coordinates, "
                                 "ordered by eigenvalue).")
    if len(dims) < min(nd, D):
        dims = default


def colour_of(side):
    """The side's colouring: the page's choice when its data has that coordinate, else its first one."""
    d = side.run.dataset
    opts = colour_options(d.params, d.param_names, d.periodic)
    name = cname if cname in opts else next(iter(opts), None)
    return (name, *opts[name]) if name is not None else (None, None, False)


def main_view(side):
    """The side's main latent figure (not drawn yet): a dict with ``fig`` (None when there is nothing to draw),
    ``note`` (why the view is not the codes), ``caption``, ``Z`` (the codes, None without an encoder), the colour
    drawn (``colour``, ``colour_name``, ``periodic``) and whether a click can pick a point (``clickable``)."""
    m, d, sp = side.run.model, side.run.dataset, side.run.model.latent_space
    name, val, per = colour_of(side)
    out = dict(fig=None, note=None, caption="", Z=None, colour=val, colour_name=name, periodic=per, clickable=False,
               filename=f"{side.info.name}_latent")
    if not m.has_encoder:
        out["note"] = m.lacks("has_encoder", "showing the generator's latent instead: noise draws, each coloured by "
                                            "the ground truth of the data point nearest to what it generates.")
        if not m.has_decoder:
            return out
        try:
            pairs = cache.bilip(side.path, 10, 2000, 0)  # (noise, generated point, nearest data index), cached
        except UserInputError as e:
            out["note"] = f"{out['note']} ({e})"
            return out
        U = pairs.z.reshape(len(pairs.z), -1)
        Ud = U[:, :3] if U.shape[1] >= 3 else (U if U.shape[1] == 2 else np.column_stack([U[:, 0], np.zeros(len(U))]))
        names = [f"u{j + 1}" for j in range(Ud.shape[1])] if U.shape[1] >= 2 else ("u1", "0")
        out["colour"] = None if val is None else val[pairs.idx]
        out["fig"] = points_figure(Ud, out["colour"], f"{name} (nearest data point)", per, axis_names=names,
                                   size=3 if Ud.shape[1] == 3 else 4, uirevision=f"latent-noise-{side.path}")
        out["filename"] = f"{side.info.name}_noise"
        out["caption"] = (f"{len(U):,} draws of the generator's input noise; its first {min(3, U.shape[1])} of "
                          f"{U.shape[1]} coordinates. A generator that respects the topology colours the noise space "
                          "smoothly; a colour that jumps is a tear in what it generates.")
        return out
    Z = out["Z"] = cache.latent_codes(side.path)
    D = sp.dim
    out["caption"] = (f"{d.n:,} points in R^{d.ambient_dim} encoded into the latent space **{sp.label}** "
                      f"({D}-dimensional; codes of shape {sp.shape}).")
    if sp.is_compact:  # a manifold: drawn as itself
        out["fig"], what = latent_view(sp, Z, val, name, per, uirevision=f"latent-{side.path}")
        out["caption"] += " " + what
        return out
    k = min(nd, D) if D >= 2 else 2
    sd = [j for j in dims if j < D][:k]
    if len(sd) < min(k, D):
        sd = [min(j, D - 1) for j in range(k)]
    Zd = Z[:, sd] if D >= 2 else np.column_stack([Z[:, 0], np.zeros(len(Z))])
    truth = {n: d.params[:, j] for j, n in enumerate(d.param_names)}  # shown on hover
    out["fig"] = points_figure(Zd, val, name, per, axis_names=[f"z{j + 1}" for j in sd] if D >= 2 else ("z1", "0"),
                               size=3 if Zd.shape[1] == 3 else 4, uirevision=f"latent-{side.path}-{Zd.shape[1]}",
                               hover_data=truth)
    out["clickable"] = Zd.shape[1] == 2
    return out


def draw(side, view) -> None:
    """Draw the side's figure as a Streamlit chart; a click (2-D views) opens the point inspector."""
    if view["note"]:
        st.info(view["note"], icon=":material/info:")
    if view["fig"] is None:
        return
    sel = widgets.figure(view["fig"], side.key("latent.scatter"), view["filename"],
                         on_select="rerun" if view["clickable"] else "ignore", selection_mode=("points",))
    if not view["clickable"]:
        return
    clicked = [p["point_index"] for p in (sel.selection.points if sel else []) if p.get("curve_number") == 0]
    if clicked:
        ss["latent.inspect"] = (side.path, int(clicked[0]))


views = {side.tag: main_view(side) for side in pair}
drawn = [s for s in pair if views[s.tag]["fig"] is not None]
same_colour = len({(views[s.tag]["colour_name"], views[s.tag]["periodic"]) for s in drawn}) == 1
if len(drawn) == 2 and same_colour:  # one colour range for both runs' points
    lims = shared_colour_range([views[s.tag]["colour"] for s in drawn], views[drawn[0].tag]["periodic"])
    for s in drawn:
        set_colour_range(views[s.tag]["fig"], *lims)

if len(pair) == 1:
    v = views[pair[0].tag]
    if v["note"] is None:
        st.caption(f"{run_line} · {v['caption']}")
    draw(pair[0], v)
    if v["note"] is not None and v["fig"] is not None:
        st.caption(v["caption"])
elif len(drawn) == 2 and all(any(t.type == "scatter3d" for t in views[s.tag]["fig"].data) for s in drawn):
    # both in 3-D: one figure, one scene per run, one camera (drag either, the other follows)
    fig = scenes_side_by_side([views[s.tag]["fig"] for s in drawn],
                              [f"{s.tag}: {s.info.model} · {s.info.dataset} · seed {s.info.seed}" for s in drawn],
                              one_colourbar=same_colour, uirevision="latent-pair")
    widgets.linked_figure(fig, "latent.pair", f"{info.name}_vs_{pair[1].info.name}_latent",
                          camera_key="|".join(s.path for s in drawn))
    st.caption("Both runs in one figure with one camera: rotate or zoom either scene and the other follows"
               + (", and one colour scale for both." if same_colour else "."))
    for side, col in compare_runs.columns(pair):
        with col:
            if views[side.tag]["note"]:
                st.info(views[side.tag]["note"], icon=":material/info:")
            st.caption(views[side.tag]["caption"])
else:
    for side, col in compare_runs.columns(pair):
        with col:
            draw(side, views[side.tag])
            st.caption(views[side.tag]["caption"])
    if len(drawn) == 2:
        st.caption("One colour scale for both runs." if same_colour else
                   "The runs are coloured by different ground-truth coordinates (their data differ).")
Z = views[compare_runs.TAGS[0]]["Z"]
if any(v["Z"] is not None for v in views.values()):
    st.caption("A map that respects the topology sends nearby points to nearby codes: the colours should vary "
               "smoothly, without tears (a colour jump between neighbours) or folds (far colours on top of each "
               "other).")
    for side, col in compare_runs.columns(pair, heading=False):
        if views[side.tag]["Z"] is None or not any(side.run.dataset.periodic):
            continue
        with col:
            try:
                widgets.angle_score(cache.angle_score(side.path), side.run.dataset.n)
            except UserInputError as e:  # e.g. a 1-D Euclidean latent: no angle to compare
                st.caption(f"No loop score: {e}.")
    inspected = ss.get("latent.inspect")
    runs = compare_runs.by_path(pair)
    if inspected and inspected[0] in runs and views[runs[inspected[0]].tag]["Z"] is not None:
        side = runs[inspected[0]]
        if len(pair) > 1:
            st.caption(f"Inspecting a point of **{side.tag}**.")
        point_inspector(side.path, side.run, views[side.tag]["Z"], inspected[1])
    elif any(v["clickable"] for v in views.values()):
        st.caption("Hover a point for its index and ground truth; click one (2-D view) to inspect it: its neighbours "
                   "in the data and among the codes, its bi-Lipschitz constant and what the decoder makes of its code.")
if len(pair) > 1:
    st.caption("The sections below show the active run, **A**.")

if ds.images is not None and Z is not None:
    st.subheader("Images at their latent positions")
    k = st.slider("thumbnails", 10, 200, 60, step=10, key="latent.thumbs")
    C = Z.reshape(len(Z), -1) if not space.is_compact else run.model.latent_coords(Z)
    Z2 = C[:, :2] if C.shape[1] >= 2 else np.column_stack([C[:, 0], np.zeros(len(C))])
    idx = spread_indices(Z2, k)
    left, right = st.columns([4, 1])
    with left:
        sel = widgets.figure(thumbnails_figure(Z2, ds.images, idx, cval, cname, cper), "latent.thumbnails",
                             f"{info.name}_thumbnails", on_select="rerun", selection_mode=("points",))
    picked = [p["point_index"] for p in (sel.selection.points if sel else []) if p.get("curve_number") == 0]
    with right:
        if picked:
            i = int(picked[0])
            right.image(ds.images[i], caption=f"point {i} · {cname} = {cval[i]:.3g}", width="stretch", clamp=True)
        else:
            right.caption("Click a point to see its image here, enlarged.")

st.subheader("Generated next to real: one joint embedding")
if not run.model.has_sampler:
    st.info(run.model.lacks("has_sampler", "there are no generated points to embed beside the real ones."),
            icon=":material/info:")
else:
    methods = [m for m in ("tsne", "umap") if m in EMBEDDERS] or EMBEDDERS.names()
    e = st.columns([1, 2, 1, 1])
    method = e[0].radio("Method", methods, horizontal=True, key="latent.method",
                        format_func=lambda m: {"tsne": "t-SNE", "umap": "UMAP"}.get(m, m))
    n_emb = e[1].slider("points per side", 100, 2000, 500, step=100, key="latent.emb_n",
                        help="Real points (a seeded subsample) and as many generated ones, embedded together.")
    emb_seed = e[2].number_input("seed", 0, 2**31 - 1, 0, key="latent.emb_seed")
    p = st.columns(3)
    if method == "tsne":
        params = {"perplexity": float(p[0].slider(
            "perplexity", 5, 100, 30, key="latent.perplexity",
            help="t-SNE's effective number of neighbours: small values show local clusters, large ones the global "
                 "shape (scikit-learn's default 30)."))}
    elif method == "umap":
        params = {"n_neighbors": int(p[0].slider("n_neighbors", 2, 100, 15, key="latent.n_neighbors",
                                                 help="UMAP's neighbourhood size: small keeps local detail, large the "
                                                      "global layout (default 15).")),
                  "min_dist": float(p[1].slider("min_dist", 0.0, 0.99, 0.1, step=0.01, key="latent.min_dist",
                                                help="How tightly UMAP packs points (default 0.1)."))}
    else:
        params = {}
    req = (info.path, method, int(n_emb), int(emb_seed), tuple(sorted(params.items())))
    asked = ss.setdefault("latent.emb_requests", set())
    if e[3].button("Compute", key="latent.emb_go", icon=":material/play_arrow:", type="primary"):
        asked.add(req)
    if req in asked:
        try:
            with st.spinner(f"{method.upper()} of {2 * n_emb} points (a few seconds; UMAP's first run compiles)…"):
                er, eg, ir = cache.embedding(info.path, method, n_emb, emb_seed, **params)
        except UserInputError as err:
            widgets.error_box(err)
        else:
            widgets.figure(embedding_figure(er, eg, method.upper(), cval[ir], cname, cper), "latent.embedding",
                           f"{info.name}_{method}_generated_vs_real")
            st.caption("Both halves come from ONE embedding, so positions are comparable. Generated points (orange) should "
                       "cover the same shapes as the real ones (grey) without extra clusters or bridges.")
    else:
        st.caption("Press Compute: t-SNE/UMAP take a few seconds, so they run on request (and are cached).")

st.subheader("Decoded latent grid")
if space.is_compact or space.dim != 2 or not run.model.has_decoder:
    st.caption(f"Shown for a 2-D Euclidean latent only (this run's is {space.label}): train a model with a Euclidean "
               "latent and latent_dim = 2 to see how the decoder maps a regular grid of codes back to data.")
else:
    g = st.slider("grid size", 5, 25, 12, key="latent.grid")
    with st.spinner("Decoding the grid…"):
        grid_z, dec = cache.decoded_grid(info.path, g)
    if ds.images is not None:
        imgs = images_from_points(np.asarray(dec), run.model.data_shape)
        imgs = imgs.reshape((g, g) + imgs.shape[1:])[::-1].reshape(imgs.shape)  # z2 upwards
        widgets.figure(montage_figure(imgs, ncols=g, title="decoded images (z1 → right, z2 → up)"),
                       "latent.grid_img",
                       f"{info.name}_decoded_grid")
    else:
        proj = cache.display_projection(info.path)
        widgets.figure(decoded_points_grid_figure(grid_z, proj(dec), g, data=proj(ds.X)), "latent.grid_pts",
                       f"{info.name}_decoded_grid")

"""The point inspector of the Latent page: one data point, its neighbours in the data and among the codes,
its bi-Lipschitz constant and what the decoder makes of its code."""
from __future__ import annotations

import numpy as np
import streamlit as st

#: Neighbours compared (the bi-Lipschitz page's default k).
K = 10


def point_inspector(path: str, run, Z: np.ndarray, i: int, key: str = "latent.inspect") -> None:
    """Draw the inspector of point ``i`` of the run at ``path`` (codes ``Z`` of all its training points)."""
    import pandas as pd

    from vdae_core.study.analysis import inspect_point
    from vdae_core.foundation.errors import UserInputError
    from vdae_core.ui import cache, widgets

    ds = run.dataset
    try:
        insp = inspect_point(run.model, ds.X, Z, i, k=K)
    except UserInputError as e:
        widgets.error_box(e)
        return
    head = st.columns([4, 1])
    truth = ", ".join(f"{n} = {ds.params[i, j]:.4g}" for j, n in enumerate(ds.param_names))
    head[0].subheader(f"Point {i}")
    head[0].caption(f"Ground truth: {truth}." if truth else "This dataset has no ground-truth coordinates.")
    if head[1].button("Close", key=f"{key}.close", icon=":material/close:"):
        st.session_state.pop(key, None)
        st.rerun()
    cols = st.columns(3)
    kept = int(round(insp.shared * K))
    cols[0].metric("data neighbours kept among the codes", f"{kept} of {K}",
                   help=f"Of the point's {K} nearest data points, how many are among the {K} nearest codes of its code. "
                        f"{K} of {K}: its neighbourhood is kept; few: the map tears it from its neighbours (or folds "
                        "far points onto it).")
    cols[1].metric("reconstruction error", f"{insp.reconstruction_error:.2f} spacings"
                   if np.isfinite(insp.reconstruction_error) else "— (no decoder)",
                   help="Distance from the point to the decoder's output for its code, in units of the point's "
                        "distance to its nearest data neighbour (about 1: as close as the sampling allows).")
    with st.spinner("Bi-Lipschitz constants of this run…"):
        res = cache.bilip(path, K, 1500, 0)
    where = np.flatnonzero(np.asarray(res.idx) == i) if not res.generated else np.array([], dtype=int)
    cols[2].metric("bi-Lipschitz K (scale-free)", f"{res.scale_free[where[0]]:.3g}" if len(where) else "—",
                   help="This point's constant on the Bi-Lipschitz page (k = 10): 1 is an isometry; larger, more "
                        "stretching or squeezing around it." + ("" if len(where) else
                                                                 " Not computed: the point is outside the "
                                                                 "1,500-point sample that page uses."))
    rows = []
    for kind, idx in (("data", insp.data_neighbours), ("codes", insp.latent_neighbours)):
        other = set(insp.latent_neighbours if kind == "data" else insp.data_neighbours)
        for rank, j in enumerate(idx, start=1):
            rows.append({"neighbour of": kind, "rank": rank, "point": int(j), "also a neighbour of the other": j in other,
                         **{n: float(ds.params[j, c]) for c, n in enumerate(ds.param_names)}})
    widgets.table(pd.DataFrame(rows), f"{key}.table", f"point_{i}_neighbours")
    if ds.images is not None:
        img = np.asarray(ds.images[i])
        rec = None
        if insp.reconstruction.size == img.size and np.isfinite(insp.reconstruction).all():  # pixels, channel-first
            rec = insp.reconstruction.reshape((3,) + img.shape[:2]).transpose(1, 2, 0) if img.ndim == 3 \
                else insp.reconstruction.reshape(img.shape)
            rec = np.clip(rec, 0.0, 1.0)
        pics = st.columns(6)
        pics[0].image(img, caption=f"point {i}", width="stretch", clamp=True)
        if rec is not None:
            pics[1].image(rec, caption="decoded from its code", width="stretch", clamp=True)
        for c, j in zip(pics[2:], insp.latent_neighbours[:4]):
            c.image(np.asarray(ds.images[j]), caption=f"code neighbour {int(j)}", width="stretch", clamp=True)

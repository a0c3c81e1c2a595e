"""Persistence diagrams and barcodes of data, latent codes and samples side by side (issue 14)."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.metrics.persistence import FEATURE_NAMES
from vdae_core.viz.common import as_3d, base_layout

DIM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c")  # H0, H1, H2
CLOUDS = (("data", "data"), ("latent", "latent codes"), ("samples", "samples"))


def _describe(c: Dict[str, Any]) -> str:
    return ", ".join(f"{b} {FEATURE_NAMES[k][b != 1]}" for k, b in enumerate(c["betti"]))


def persistence_figure(report: Dict[str, Any], height: int = 720) -> go.Figure:
    """Diagrams (top row) and barcodes (bottom row) of the clouds of a :func:`vdae_core.study.topology.topology_report`.

    Diagram: each bar as a point (birth, death), dimension by colour; the dashed line is death = birth + τ₁
    (points above it are counted loops); bars that never die are drawn at the top edge. Barcode: the 40
    longest bars of each dimension, counted ones in colour, the rest in grey.
    """
    clouds = report["clouds"]
    titles = []
    for key, label in CLOUDS:
        c = clouds.get(key)
        titles.append(f"{label}: {_describe(c)}" if c else f"{label}: none")
    titles += ["" for _ in CLOUDS]
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, vertical_spacing=0.14, horizontal_spacing=0.06,
                        row_heights=[0.55, 0.45])
    shown = set()
    for j, (key, label) in enumerate(CLOUDS, start=1):
        c = clouds.get(key)
        if c is None:  # the missing cloud's panel says why (its own axes: x, x2, x3 on the top row)
            why = (report.get("latent_note") or "no codes") if key == "latent" else "no samples"
            axis = "" if j == 1 else str(j)
            xd, yd = fig.layout[f"xaxis{axis}"].domain, fig.layout[f"yaxis{axis}"].domain
            fig.add_annotation(text=why, showarrow=False, x=sum(xd) / 2, y=sum(yd) / 2, xref="paper", yref="paper",
                               font={"size": 13})
            fig.update_xaxes(visible=False, row=1, col=j)
            fig.update_yaxes(visible=False, row=1, col=j)
            continue
        dgms = [np.array([[b, np.inf if d is None else d] for b, d in dg], dtype=float).reshape(-1, 2)
                for dg in c["diagrams"]]
        finite = np.concatenate([d[np.isfinite(d[:, 1]), 1] for d in dgms] + [np.zeros(1)])
        top = float(finite.max()) * 1.1 or 1.0
        for k, d in enumerate(dgms):
            if not len(d):
                continue
            death = np.where(np.isfinite(d[:, 1]), d[:, 1], top)
            name = f"H{k} ({FEATURE_NAMES[k][1]})"
            fig.add_trace(go.Scatter(x=d[:, 0], y=death, mode="markers", name=name, legendgroup=name,
                                     showlegend=name not in shown,
                                     marker={"size": 6, "color": DIM_COLOURS[k], "opacity": 0.75},
                                     hovertemplate=f"H{k}: born %{{x:.3g}}, dies %{{y:.3g}}<extra></extra>"),
                          row=1, col=j)
            shown.add(name)
        tau1 = c["tau"][1] if len(c["tau"]) > 1 else c["tau"][0]
        fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": "#888", "width": 1},
                                 hoverinfo="skip", showlegend=False), row=1, col=j)
        fig.add_trace(go.Scatter(x=[0, top - tau1], y=[tau1, top], mode="lines", showlegend=j == 1,
                                 name="counted above (τ₁)", line={"color": "#888", "dash": "dash", "width": 1},
                                 hoverinfo="skip"), row=1, col=j)
        pad = 0.03 * top  # markers at birth 0 and at the top edge stay whole
        fig.update_xaxes(title_text="birth", range=[-pad, top + pad], row=1, col=j)
        fig.update_yaxes(title_text="death (top edge: never dies)" if j == 1 else None, range=[-pad, top + pad],
                         row=1, col=j)
        _barcode(fig, dgms, c["tau"], top, j)
    fig.update_yaxes(showticklabels=False, row=2)
    fig.update_xaxes(title_text="filtration scale (edge length)", row=2)
    fig = base_layout(fig, "", height)
    return fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.08, "xanchor": "center",
                                     "x": 0.5})


def _barcode(fig: go.Figure, dgms, tau, top: float, col: int, per_dim: int = 40) -> None:
    """The ``per_dim`` longest bars of each dimension, stacked (H0 at the bottom); counted ones in colour."""
    y = 0
    for k, d in enumerate(dgms):
        if not len(d):
            continue
        end = np.where(np.isfinite(d[:, 1]), d[:, 1], top)
        life = end - d[:, 0]
        order = np.argsort(life, kind="stable")[-per_dim:]  # shortest first: the longest end on top
        for counted, colour, width in ((False, "#c9ced6", 2), (True, DIM_COLOURS[k], 4)):
            xs, ys = [], []
            for pos, i in enumerate(order):
                if (life[i] > tau[k]) == counted:
                    xs += [d[i, 0], end[i], None]
                    ys += [y + pos, y + pos, None]
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour, "width": width},
                                         hoverinfo="skip", showlegend=False), row=2, col=col)
        y += len(order) + 2  # a gap between dimensions
    fig.update_xaxes(range=[0, top], row=2, col=col)


def distance_rows(report: Dict[str, Any]) -> list:
    """Rows (one per homology dimension) of the data–samples diagram distances beside their noise floor, with the
    bottleneck's verdict in words when the report carries them (``report["verdicts"]``, set by
    :func:`vdae_core.study.verdicts.with_distance_verdicts`)."""
    rows = []
    for k in range(len(report["distances"]["bottleneck"])):
        fb, fw = report["floor"]["bottleneck"][k], report["floor"]["wasserstein"][k]
        b = report["distances"]["bottleneck"][k]
        rows.append({"homology": f"H{k} ({FEATURE_NAMES[k][1]})",
                     "bottleneck data–samples": b,
                     "bottleneck floor (law vs law)": f"{fb[0]:.3g} ± {fb[1]:.2g}",
                     **({"verdict": report["verdicts"][k]} if report.get("verdicts") else {}),
                     "Wasserstein data–samples": report["distances"]["wasserstein"][k],
                     "Wasserstein floor (law vs law)": f"{fw[0]:.3g} ± {fw[1]:.2g}"})
    return rows




def _segments(P: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Polyline coordinates (3e, d) of edges (e, 2) between rows of P, NaN-separated."""
    if not len(edges):
        return np.zeros((0, P.shape[1]))
    seg = np.stack([P[edges[:, 0]], P[edges[:, 1]], np.full((len(edges), P.shape[1]), np.nan)], 1)
    return seg.reshape(-1, P.shape[1])


def tears_figure(X3: np.ndarray, Z2: np.ndarray, torn: np.ndarray, folded: np.ndarray, height: int = 520,
                 latent_names=("z1", "z2")) -> go.Figure:
    """Torn edges drawn on the data (left, 3-D) and folded pairs drawn on the latent (right, 2-D).

    Parameters
    ----------
    X3 : ndarray (n, m ≤ 3)
        The points in data space (or its display projection); fewer than 3 coordinates lie flat.
    Z2 : ndarray (n, 2)
        Their codes (two coordinates shown).
    torn, folded : ndarray (e, 2)
        Edges as row indices.
    """
    X3 = as_3d(X3)
    Z2 = np.asarray(Z2, dtype=np.float64)
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "xy"}]], horizontal_spacing=0.05,
                        subplot_titles=(f"data: {len(torn)} torn edge{'s' * (len(torn) != 1)} (red)",
                                        f"latent: {len(folded)} folded pair{'s' * (len(folded) != 1)} (orange)"))
    grey = {"size": 2, "color": "#b8bec8"}
    fig.add_trace(go.Scatter3d(x=X3[:, 0], y=X3[:, 1], z=X3[:, 2], mode="markers", marker=grey, name="points",
                               hovertemplate="point %{pointNumber}<extra></extra>", showlegend=False), 1, 1)
    # A torn edge joins neighbours, so it is short on the data: its ends are marked as well as the edge drawn.
    s = _segments(X3, torn)
    fig.add_trace(go.Scatter3d(x=s[:, 0], y=s[:, 1], z=s[:, 2], mode="lines", line={"color": "#d62728", "width": 6},
                               name="torn (neighbours in the data, far apart in the latent)", hoverinfo="skip"), 1, 1)
    ends = np.unique(torn.ravel()) if len(torn) else np.zeros(0, dtype=int)
    fig.add_trace(go.Scatter3d(x=X3[ends, 0], y=X3[ends, 1], z=X3[ends, 2], mode="markers", showlegend=False,
                               marker={"size": 4, "color": "#d62728"},
                               hovertemplate="torn at point %{pointNumber}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scattergl(x=Z2[:, 0], y=Z2[:, 1], mode="markers", marker={"size": 3, "color": "#b8bec8"},
                               hovertemplate="point %{pointNumber}<extra></extra>", showlegend=False), 1, 2)
    s = _segments(Z2, folded)
    fig.add_trace(go.Scattergl(x=s[:, 0], y=s[:, 1], mode="lines", line={"color": "#ff7f0e", "width": 2},
                               name="folded (neighbours in the latent, far apart in the data)", hoverinfo="skip"), 1, 2)
    ends = np.unique(folded.ravel()) if len(folded) else np.zeros(0, dtype=int)
    fig.add_trace(go.Scattergl(x=Z2[ends, 0], y=Z2[ends, 1], mode="markers", showlegend=False,
                               marker={"size": 6, "color": "#ff7f0e"}, hoverinfo="skip"), 1, 2)
    fig.update_xaxes(title_text=latent_names[0], row=1, col=2)
    fig.update_yaxes(title_text=latent_names[1], row=1, col=2)
    fig.update_layout(scene={"aspectmode": "data"})
    fig = base_layout(fig, "", height)
    return fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.16, "xanchor": "center", "x": 0.5},
                             margin={"b": 90, "t": 50})


def stability_figure(points3: np.ndarray, bilip_cv: np.ndarray, tear_share: np.ndarray, title: str = "",
                     height: int = 520) -> go.Figure:
    """Seed stability on the common points (n, m ≤ 3): the per-point coefficient of variation of the bi-Lipschitz
    constant over the seeds (left) and the share of seeds that tear at each point (right)."""
    P = as_3d(points3)
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]], horizontal_spacing=0.02,
                        subplot_titles=("bi-Lipschitz: coefficient of variation over seeds",
                                        "share of seeds torn at the point"))
    cv = np.nan_to_num(np.asarray(bilip_cv, dtype=np.float64), nan=0.0)
    for col, values, scale, cmax, bar_x, name in ((1, cv, "Viridis", max(float(np.quantile(cv, 0.99)), 1e-9), 0.44,
                                                   "CV"),
                                                  (2, tear_share, "Reds", 1.0, 1.0, "torn share")):
        fig.add_trace(go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers", showlegend=False,
                                   marker={"size": 2.5, "color": values, "colorscale": scale, "cmin": 0, "cmax": cmax,
                                           "colorbar": {"title": {"text": name}, "x": bar_x, "len": 0.8}},
                                   hovertemplate=f"point %{{pointNumber}}: {name} %{{marker.color:.3g}}<extra></extra>"),
                      1, col)
    fig.update_scenes(aspectmode="data")
    fig = base_layout(fig, title, height)
    # the figure's title above the panels' titles, not on them
    return fig.update_layout(margin={"t": 80 if title else 40}, title={"y": 0.98, "yanchor": "top"} if title else None)


def prior_holes_figure(Zd2: np.ndarray, Zp2: np.ndarray, log_ratio: np.ndarray, R3: np.ndarray, D3: np.ndarray,
                       off: np.ndarray, t: float, ratio: float, latent_names=("z1", "z2"),
                       height: int = 540) -> go.Figure:
    """The prior-hole map: prior codes on the latent coloured by the data's density over the prior's (left) and
    the same codes decoded, with the same colours, beside the held-out data (right).

    Parameters
    ----------
    Zd2 : ndarray (N, 2)
        Codes of the data (grey), two display coordinates.
    Zp2 : ndarray (M, 2)
        Prior codes, same coordinates; ``log_ratio`` (M,) log10 q̂/p̂ at each.
    R3 : ndarray (n, m ≤ 3)
        Held-out data (or its display projection), grey.
    D3 : ndarray (M, m ≤ 3)
        The decoded prior codes, same coordinates; ``off`` (M,) their distance to the data in spacings.
    t, ratio : float
        The off-manifold cut (spacings) and the hole cut (ratio) of the shares.
    """
    R3, D3 = as_3d(R3), as_3d(D3)
    lr = np.clip(np.asarray(log_ratio, dtype=np.float64), -3, 1)
    cut = float(np.log10(ratio))
    hole = lr < cut
    offm = np.asarray(off) > t
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "xy"}, {"type": "scene"}]], horizontal_spacing=0.14,
                        subplot_titles=(f"latent: {hole.mean():.0%} of prior codes in a hole (red)",
                                        f"data: {offm.mean():.0%} of them decode beyond {t:g} spacing"
                                        f"{'s' * (t != 1)} of the data"))
    # red where the data's density is under the hole cut, white at ratio 1, blue where the data is denser
    colours = {"color": lr, "colorscale": "RdBu", "cmin": -3, "cmax": 1, "cmid": 0}
    fig.add_trace(go.Scattergl(x=Zd2[:, 0], y=Zd2[:, 1], mode="markers", marker={"size": 3, "color": "#9aa2ad"},
                               name="codes of the data", hoverinfo="skip"), 1, 1)
    text = [f"q/p = {10 ** v:.2g}, decodes {o:.2g} spacings off" for v, o in zip(log_ratio, off)]
    fig.add_trace(go.Scattergl(x=Zp2[:, 0], y=Zp2[:, 1], mode="markers", showlegend=False, text=text,
                               marker={**colours, "size": 4, "colorbar": {
                                   "title": {"text": "data / prior<br>density", "side": "top"}, "x": 0.445, "len": 0.8,
                                   "tickvals": [-3, -2, -1, 0, 1], "ticktext": ["≤ 0.001", "0.01", "0.1", "1", "≥ 10"]}},
                               hovertemplate="prior code %{pointNumber}: %{text}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter3d(x=R3[:, 0], y=R3[:, 1], z=R3[:, 2], mode="markers", name="held-out data",
                               marker={"size": 2, "color": "#9aa2ad"}, hoverinfo="skip"), 1, 2)
    fig.add_trace(go.Scatter3d(x=D3[:, 0], y=D3[:, 1], z=D3[:, 2], mode="markers", showlegend=False, text=text,
                               marker={**colours, "size": np.where(offm, 4, 2.5)},
                               hovertemplate="decoded prior code %{pointNumber}: %{text}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text=latent_names[0], row=1, col=1)
    fig.update_yaxes(title_text=latent_names[1], row=1, col=1)
    fig.update_scenes(aspectmode="data")
    fig = base_layout(fig, "", height)
    return fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "center", "x": 0.5},
                             margin={"b": 70, "t": 50})


__all__ = ["persistence_figure", "distance_rows", "tears_figure", "stability_figure", "prior_holes_figure"]

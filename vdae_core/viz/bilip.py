"""Per-point bi-Lipschitz heatmaps (data in 3-D, latent in 2-D, one colour scale) and the histogram.

Values are constants K >= 1 (``inf`` where the decoder is not injective). Colours run on log10 K
from 0 (K = 1, an isometry) to a robust upper limit shared by both views; infinite values are drawn
at that limit and marked in the hover label.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.common import HEAT, LEARNED, START, TRUTH, as_3d, base_layout, f32, finite_range, log_ticks, scene_layout

POST_SCRIPT_LINKED_HOVER = """
var gd = document.getElementById('{plot_id}');
function link(ev) {
  if (!ev || !ev.points || !ev.points.length) return;
  var p = ev.points[0];
  var i = (p.customdata && p.customdata.length) ? p.customdata[0] : p.pointNumber;
  var tr = gd._fullData || gd.data, data3 = tr[0], lat = tr[1];  // _fullData: base64 arrays decoded
  if (gd.__linked === i) return;
  gd.__linked = i;
  Plotly.restyle(gd, {x: [[data3.x[i]]], y: [[data3.y[i]]], z: [[data3.z[i]]]}, [2]);
  Plotly.restyle(gd, {x: [[lat.x[i]]], y: [[lat.y[i]]]}, [3]);
}
gd.on('plotly_hover', link);
"""


def colour_limits(values: np.ndarray) -> Tuple[float, float]:
    """(0, log10 of the 99th percentile of finite K), at least (0, 0.05)."""
    lo, hi = finite_range(np.log10(np.maximum(np.asarray(values, dtype=np.float64), 1.0)), 99.0, floor=0.0)
    return 0.0, max(hi, 0.05)


def _colour_values(values: np.ndarray, cmax: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    c = np.log10(np.maximum(np.where(np.isfinite(v), v, 10 ** cmax), 1.0))
    return np.minimum(c, cmax)


def _colourbar(cmax: float, label: str) -> dict:
    vals, text = log_ticks(0.0, cmax)  # round values of K (1, 1.2, 1.4 … or 1, 2, 5, 10 …), not 10^(cmax/4)
    return {"title": {"text": label}, "thickness": 12, "len": 0.8, "tickvals": vals, "ticktext": text}


def _hover(values: np.ndarray) -> Tuple[np.ndarray, str, list]:
    """customdata (index, K), the hover template, and per-point K labels (∞ spelled out)."""
    n = len(values)
    v = np.asarray(values, dtype=np.float64)
    custom = np.column_stack([np.arange(n, dtype=np.float64), np.where(np.isfinite(v), v, -1.0)])
    text = [f"K = {x:.4g}" if np.isfinite(x) else "K = ∞ (fold)" for x in v]
    return custom, "point %{customdata[0]:.0f}<br>%{text}<extra></extra>", text


def bilip_data_figure(X3: np.ndarray, values: np.ndarray, label: str, cmax: Optional[float] = None,
                      worst: Optional[Sequence[int]] = None, selected: Optional[Sequence[int]] = None,
                      axis_names: Sequence[str] = ("x", "y", "z"), height: int = 480, mesh=None,
                      up: str = "z") -> go.Figure:
    """3-D heatmap on the data points (``X3`` (n, 3)); worst points ringed, selected points in blue."""
    if cmax is None:
        cmax = colour_limits(values)[1]
    X3 = as_3d(X3)
    custom, tmpl, text = _hover(values)
    fig = go.Figure()
    if mesh is not None:
        from vdae_core.viz.common import mesh_trace

        fig.add_trace(mesh_trace(mesh[0], mesh[1], opacity=0.15))
    fig.add_trace(go.Scatter3d(x=f32(X3[:, 0]), y=f32(X3[:, 1]), z=f32(X3[:, 2]), mode="markers", name="points",
                               marker={"size": 3, "color": f32(_colour_values(values, cmax)), "colorscale": HEAT,
                                       "cmin": 0.0, "cmax": cmax, "colorbar": _colourbar(cmax, label)},
                               customdata=f32(custom), text=text, hovertemplate=tmpl, showlegend=False))
    _add_rings_3d(fig, X3, worst, "worst", START)
    _add_rings_3d(fig, X3, selected, "selected", TRUTH)
    fig.update_layout(scene=scene_layout(axis_names, f"bilip-data-{up}", up, points=X3))
    return base_layout(fig, "on the data", height, "bilip-data")


def _add_rings_3d(fig, X3, idx, name, colour):
    if idx is None or len(idx) == 0:
        return
    h = np.asarray(idx, dtype=np.int64)
    fig.add_trace(go.Scatter3d(x=f32(X3[h, 0]), y=f32(X3[h, 1]), z=f32(X3[h, 2]), mode="markers", name=name,
                               marker={"size": 9, "color": colour, "symbol": "circle-open"},
                               hovertemplate=name + " point<extra></extra>"))


def bilip_latent_figure(Z2: np.ndarray, values: np.ndarray, label: str, cmax: Optional[float] = None,
                        worst: Optional[Sequence[int]] = None, selected: Optional[Sequence[int]] = None,
                        axis_names: Sequence[str] = ("z1", "z2"), height: int = 480) -> go.Figure:
    """2-D heatmap on the latent codes; click/box/lasso selections come back to the app as point indices."""
    if cmax is None:
        cmax = colour_limits(values)[1]
    Z2 = np.asarray(Z2, dtype=np.float64)
    custom, tmpl, text = _hover(values)
    fig = go.Figure(go.Scatter(x=f32(Z2[:, 0]), y=f32(Z2[:, 1]), mode="markers", name="latent", text=text,
                               marker={"size": 5, "color": f32(_colour_values(values, cmax)), "colorscale": HEAT,
                                       "cmin": 0.0, "cmax": cmax, "colorbar": _colourbar(cmax, label)},
                               customdata=f32(custom), hovertemplate=tmpl, showlegend=False))
    for idx, name, colour in ((worst, "worst", START), (selected, "selected", TRUTH)):
        if idx is not None and len(idx):
            h = np.asarray(idx, dtype=np.int64)
            fig.add_trace(go.Scatter(x=f32(Z2[h, 0]), y=f32(Z2[h, 1]), mode="markers", name=name,
                                     marker={"size": 13, "color": "rgba(0,0,0,0)",
                                             "line": {"color": colour, "width": 2}},
                                     hoverinfo="skip"))
    fig.update_xaxes(title_text=axis_names[0])
    fig.update_yaxes(title_text=axis_names[1])
    return base_layout(fig, "on the latent", height, "bilip-latent")


def bilip_linked_figure(X3: np.ndarray, Z2: np.ndarray, values: np.ndarray, label: str,
                        worst: Optional[Sequence[int]] = None, height: int = 520) -> go.Figure:
    """Data (3-D) and latent (2-D) side by side in ONE figure sharing the colour scale; exported with
    :data:`POST_SCRIPT_LINKED_HOVER` so hovering a point in either view marks it in both."""
    cmax = colour_limits(values)[1]
    X3 = np.asarray(X3, dtype=np.float64)
    Z2 = np.asarray(Z2, dtype=np.float64)
    c = f32(_colour_values(values, cmax))
    custom, tmpl, text = _hover(values)
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "xy"}]],
                        subplot_titles=("on the data", "on the latent"), horizontal_spacing=0.06)
    marker = {"color": c, "coloraxis": "coloraxis"}
    fig.add_trace(go.Scatter3d(x=f32(X3[:, 0]), y=f32(X3[:, 1]), z=f32(X3[:, 2]), mode="markers",
                               marker={"size": 3, **marker}, customdata=f32(custom), text=text, hovertemplate=tmpl,
                               showlegend=False), 1, 1)
    fig.add_trace(go.Scatter(x=f32(Z2[:, 0]), y=f32(Z2[:, 1]), mode="markers", marker={"size": 5, **marker},
                             customdata=f32(custom), text=text, hovertemplate=tmpl, showlegend=False), 1, 2)
    fig.add_trace(go.Scatter3d(x=[], y=[], z=[], mode="markers", name="hovered",
                               marker={"size": 10, "color": TRUTH, "symbol": "diamond"}), 1, 1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="hovered",
                             marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": TRUTH, "width": 3}}), 1, 2)
    if worst is not None and len(worst):
        h = np.asarray(worst, dtype=np.int64)
        fig.add_trace(go.Scatter3d(x=f32(X3[h, 0]), y=f32(X3[h, 1]), z=f32(X3[h, 2]), mode="markers", name="worst",
                                   marker={"size": 9, "color": START, "symbol": "circle-open"}),
                      1, 1)
        fig.add_trace(go.Scatter(x=f32(Z2[h, 0]), y=f32(Z2[h, 1]), mode="markers", name="worst", showlegend=False,
                                 marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"color": START, "width": 2}}),
                      1, 2)
    fig.update_layout(coloraxis={"colorscale": HEAT, "cmin": 0.0, "cmax": cmax, "colorbar": _colourbar(cmax, label)},
                      scene=scene_layout(("x", "y", "z"), "bilip"))
    base_layout(fig, "", height, "bilip")
    fig.update_layout(legend={"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0.5, "xanchor": "center"})
    return fig


def bilip_histogram(values: np.ndarray, label: str, height: int = 320, log_x: bool = True) -> go.Figure:
    """Histogram of the finite constants with the median and mean marked (mean over finite values;
    the count of infinite values is given in the title)."""
    v = np.asarray(values, dtype=np.float64)
    fin = v[np.isfinite(v)]
    n_inf = int((~np.isfinite(v)).sum())
    fig = go.Figure()
    x = np.log10(fin) if log_x else fin
    fig.add_trace(go.Histogram(x=f32(x), nbinsx=60, marker_color="#8d99ae", name=label,
                               hovertemplate="%{y} points<extra></extra>"))
    if fin.size:
        med, mean = float(np.median(v)), float(np.mean(fin))
        for val, name, col, pos in ((med, "median", TRUTH, "top left"), (mean, "mean", LEARNED, "top right")):
            if np.isfinite(val):
                xv = np.log10(val) if log_x else val
                fig.add_vline(x=xv, line_color=col, line_width=2, line_dash="dash",
                              annotation_text=f"{name} {val:.3g}", annotation_position=pos,
                              annotation_font_color=col)
    if log_x:
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
        vals, text = log_ticks(lo, max(hi, lo + 1e-3), target=6)
        fig.update_xaxes(tickvals=vals, ticktext=text)
    fig.update_xaxes(title_text=f"{label} (log scale)" if log_x else label)
    fig.update_yaxes(title_text="points")
    title = f"{fin.size} finite values" + (f", {n_inf} infinite (decoder not injective there)" if n_inf else "")
    return base_layout(fig, title, height)


__all__ = ["bilip_data_figure", "bilip_latent_figure", "bilip_linked_figure", "bilip_histogram", "colour_limits",
           "POST_SCRIPT_LINKED_HOVER"]

"""Shared helpers of the figure builders: colour scales, compact arrays, mesh traces."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

TWO_PI = 2.0 * np.pi
#: Colour of the learned (model) walk/points and of the ground truth, used consistently.
LEARNED = "#e4572e"
TRUTH = "#2e86ab"
START = "#111111"
MESH = "#b8bcc6"


def rgb_scale(name_or_scale):
    """A colour scale as ``[[pos, "rgb(r,g,b)"], ...]``.

    Streamlit's bundled plotly.js misreads some hex stops (Inferno's ``#000004`` turns pink), so every
    scale the app draws is spelled out in rgb() form.
    """
    import plotly.colors as pc

    scale = pc.get_colorscale(name_or_scale) if isinstance(name_or_scale, str) else name_or_scale
    out = []
    for pos, col in scale:
        if isinstance(col, str) and col.startswith("#"):
            r, g, b = pc.hex_to_rgb(col)
            col = f"rgb({r},{g},{b})"
        out.append([float(pos), col])
    return out


CYCLIC = rgb_scale("Twilight")
SEQUENTIAL = rgb_scale("Viridis")
HEAT = rgb_scale("Inferno")


def f32(a) -> np.ndarray:
    """A float32 C-contiguous copy: plotly encodes it as compact base64 typed arrays in the JSON."""
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def colour_spec(values: Optional[np.ndarray], periodic: bool = False, name: str = "",
                colorscale: Optional[str] = None, cmin: Optional[float] = None,
                cmax: Optional[float] = None, showscale: bool = True) -> dict:
    """Marker colour settings for a continuous ground-truth coordinate.

    Angles (``periodic``) get a cyclic colour scale over [0, 2π) so that 0 and 2π look the same.
    """
    if values is None:
        return {"color": LEARNED}
    if not periodic and colorscale is None and cmin is None and is_categorical(values):
        return categorical_spec(values, name, showscale)
    v = f32(values)
    spec = {"color": v, "colorscale": rgb_scale(colorscale) if colorscale else (CYCLIC if periodic else SEQUENTIAL),
            "showscale": showscale, "colorbar": {"title": {"text": name}, "thickness": 12, "len": 0.8}}
    if periodic:
        spec.update(cmin=0.0, cmax=TWO_PI)
    if cmin is not None:
        spec["cmin"] = float(cmin)
    if cmax is not None:
        spec["cmax"] = float(cmax)
    return spec


QUALITATIVE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
               "#756bb1", "#636363")


def is_categorical(values, max_classes: int = 20) -> bool:
    """Small non-negative integer codes (class labels, blob indices) rather than a continuous coordinate."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or not np.isfinite(v).all() or (v != np.round(v)).any() or v.min() < 0:
        return False
    return v.max() < max_classes and len(np.unique(v)) <= max_classes


def categorical_spec(values, name: str = "", showscale: bool = True) -> dict:
    """One colour per integer class in a single trace: a stepped colour scale with a tick per class."""
    v = np.asarray(values, dtype=np.float64)
    k = int(v.max()) + 1
    scale = []
    for c in range(k):
        col = QUALITATIVE[c % len(QUALITATIVE)]
        scale += [[c / k, col], [(c + 1) / k, col]]
    return {"color": f32(v), "colorscale": rgb_scale(scale), "cmin": -0.5, "cmax": k - 0.5, "showscale": showscale,
            "colorbar": {"title": {"text": name}, "thickness": 12, "len": 0.8, "tickvals": list(range(k)),
                         "ticktext": [str(c) for c in range(k)]}}


def mesh_trace(vertices: np.ndarray, faces: np.ndarray, opacity: float = 0.35, color: str = MESH,
               intensity: Optional[np.ndarray] = None, name: str = "mesh", scene: Optional[str] = None,
               colorscale="Blues", showscale: bool = False, colorbar_title: str = "") -> go.Mesh3d:
    """A flat-shaded triangle mesh; with ``intensity`` (V,) the vertices are coloured by it."""
    V = f32(vertices)
    F = np.ascontiguousarray(np.asarray(faces, dtype=np.int32))
    kw = dict(x=V[:, 0], y=V[:, 1], z=V[:, 2], i=F[:, 0], j=F[:, 1], k=F[:, 2], opacity=opacity, name=name,
              hoverinfo="skip", showlegend=False, flatshading=False,
              lighting={"ambient": 0.6, "diffuse": 0.6, "specular": 0.1}, showscale=showscale)
    if intensity is not None:
        kw.update(intensity=f32(intensity), colorscale=rgb_scale(colorscale),
                  colorbar={"title": {"text": colorbar_title}, "thickness": 12, "len": 0.7})
    else:
        kw.update(color=color)
    if scene:
        kw["scene"] = scene
    return go.Mesh3d(**kw)


#: Shipped meshes stored with y upwards (the Stanford bunny, Spot); everything else is drawn z-up.
UP_AXIS = {"bunny": "y", "spot": "y"}


def up_axis(dataset_name: str) -> str:
    """The axis to draw upwards for a dataset ("z" unless known otherwise)."""
    return UP_AXIS.get(dataset_name, "z")


def camera(up: str = "z") -> dict:
    """A 3/4 view with the given axis upwards."""
    eyes = {"z": {"x": 1.25, "y": 1.25, "z": 1.0}, "y": {"x": 1.25, "y": 1.0, "z": 1.25},
            "x": {"x": 1.0, "y": 1.25, "z": 1.25}}
    ups = {"z": {"x": 0, "y": 0, "z": 1}, "y": {"x": 0, "y": 1, "z": 0}, "x": {"x": 1, "y": 0, "z": 0}}
    return {"up": ups[up], "eye": eyes[up]}


def fitted_aspect(span: np.ndarray, zoom: float = 1.0) -> dict:
    """Plotly aspect ratio for a box of extents ``span`` (3,): true proportions, scaled so the shape fits the
    default camera's view. Plotly's ``aspectmode="data"`` keeps the product of the ratios at 1, so a flat
    shape (a torus, 5.4 × 5.4 × 1.4) is drawn ~1.6× too wide and its sides leave the frame; here the ratios'
    norm is fixed instead, ``zoom`` times that of a flat square (flat shapes grow, round ones shrink ~1.3×)."""
    span = np.maximum(np.asarray(span, dtype=np.float64), 1e-9)
    ratio = span / span.max()
    ratio = ratio * zoom * np.sqrt(2.0 + 0.35 ** 2) / np.linalg.norm(ratio)
    return {"x": float(ratio[0]), "y": float(ratio[1]), "z": float(ratio[2])}


def scene_layout(axis_names: Sequence[str] = ("x", "y", "z"), uirevision: str = "keep", up: str = "z",
                 points: Optional[np.ndarray] = None) -> dict:
    """A 3D scene with true proportions and a kept camera across updates; with ``points`` (n, 3) the box is
    fitted to the view (:func:`fitted_aspect`), else plotly's ``aspectmode="data"``."""
    aspect = {"aspectmode": "data"}
    if points is not None and len(points):
        P = np.asarray(points, dtype=np.float64)[:, :3]
        P = P[np.isfinite(P).all(1)]
        if len(P):
            aspect = {"aspectmode": "manual", "aspectratio": fitted_aspect(P.max(0) - P.min(0))}
    return {**aspect, "uirevision": uirevision, "camera": camera(up),
            "xaxis": {"title": {"text": axis_names[0]}}, "yaxis": {"title": {"text": axis_names[1]}},
            "zaxis": {"title": {"text": axis_names[2]}}}


def base_layout(fig: go.Figure, title: str = "", height: int = 460, uirevision: str = "keep") -> go.Figure:
    """Margins, height, legend and ``uirevision`` shared by the studio's figures; room at the top for a title or
    for subplot titles of the top row (make_subplots puts them just above the plot area, where a 10-px margin
    clips them)."""
    top_text = any(a.yref == "paper" and a.y is not None and a.y >= 0.98 and a.text for a in fig.layout.annotations)
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"} if title else None, height=height,
                      margin={"l": 10, "r": 10, "t": 40 if title or top_text else 10, "b": 10}, uirevision=uirevision,
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0})
    return fig


def finite_range(values: np.ndarray, upper_pct: float = 99.0, floor: Optional[float] = None):
    """(lo, hi) of the finite values, the top clipped at a percentile (robust colour limits)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0, 1.0)
    lo = float(v.min()) if floor is None else float(floor)
    hi = float(np.percentile(v, upper_pct))
    if hi <= lo:
        hi = lo + 1e-6 if v.max() <= lo else float(v.max())
    return lo, hi


def as_3d(P: np.ndarray) -> np.ndarray:
    """Points (n, m) with m <= 3 as (n, 3) float64 for a 3-D scene: missing coordinates are 0 (the points lie flat)."""
    P = np.asarray(P, dtype=np.float64)
    return np.column_stack([P, np.zeros((len(P), 3 - P.shape[1]))]) if P.shape[1] < 3 else P


def log_ticks(lo: float, hi: float, target: int = 5):
    """Round tick values for an axis or colour bar drawn in log10 units from ``lo`` to ``hi``.

    Over a decade or more: the 1-2-5 series (1, 2, 5, 10, 20, …; only powers of ten when that gives more than
    seven); over a factor of 3 to 10: 1, 2, 3, 5 × 10^k. Over less: evenly spaced round values (steps of 1, 2, 2.5 or 5 × 10^k, about ``target`` of them),
    so a colour bar from K = 1 to 1.6 reads 1, 1.2, 1.4, 1.6 rather than 1, 1.13, 1.26, ….

    Returns
    -------
    (tickvals, ticktext) : list of float (log10 of each value), list of str
    """
    a, b = 10.0 ** lo, 10.0 ** max(hi, lo + 1e-9)
    if b / a >= 3.0:
        ks = range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 1)
        series = (1, 2, 5) if b / a >= 10.0 else (1, 2, 3, 5)
        vals = [m * 10.0 ** k for k in ks for m in series if a * (1 - 1e-9) <= m * 10.0 ** k <= b * (1 + 1e-9)]
        if len(vals) > 7:
            vals = [v for v in vals if abs(np.log10(v) - round(np.log10(v))) < 1e-9]
    else:
        raw = (b - a) / max(1, target - 1)
        mag = 10.0 ** np.floor(np.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
        vals = list(np.arange(np.ceil(a / step - 1e-9) * step, b * (1 + 1e-9), step))
    if len(vals) < 2:
        vals = sorted(set(vals) | {a, b})
    decimals = max(0, int(-np.floor(np.log10(min(np.diff(vals)) if len(vals) > 1 else a))) + 1)
    text = [f"{round(v, decimals):g}" for v in vals]
    return [float(np.log10(v)) for v in vals], text

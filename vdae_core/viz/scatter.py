"""Point clouds and latent codes, coloured by a ground-truth coordinate; joint t-SNE/UMAP views."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.foundation.text import subscript, superscript
from vdae_core.viz.common import LEARNED, START, TRUTH, base_layout, colour_spec, f32, mesh_trace, scene_layout


def points_figure(P: np.ndarray, color: Optional[np.ndarray] = None, color_name: str = "",
                  periodic: bool = False, title: str = "", axis_names: Optional[Sequence[str]] = None,
                  size: float = 2.5, mesh=None, highlight: Optional[np.ndarray] = None,
                  highlight_name: str = "selected", height: int = 460, uirevision: str = "keep",
                  hover_values: Optional[np.ndarray] = None, hover_name: str = "value",
                  cmin: Optional[float] = None, cmax: Optional[float] = None,
                  colorscale: Optional[str] = None, up: str = "z",
                  hover_data: Optional[Dict[str, np.ndarray]] = None) -> go.Figure:
    """A 2-D (WebGL) or 3-D scatter of ``P`` (n, 2 or 3).

    Parameters
    ----------
    P : ndarray (n, 1..3)
        Display coordinates (1-D input is plotted against the point index).
    color : ndarray (n,), optional
        Values colouring the points (ground-truth coordinate, metric...).
    periodic : bool
        ``color`` is an angle: cyclic colour scale on [0, 2π).
    mesh : (vertices, faces), optional
        A translucent surface drawn under 3-D points.
    highlight : ndarray of int, optional
        Indices drawn again as large open circles (worst points, the walk start...).
    hover_values : ndarray (n,), optional
        Shown in the hover label with the point index (default: ``color``).
    hover_data : dict of name -> ndarray (n,), optional
        Further values shown in the hover label, one line each (the ground-truth coordinates, a label).
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 1:
        P = P[:, None]
    if P.shape[1] == 1:
        P = np.column_stack([np.arange(len(P)), P[:, 0]])
        axis_names = ("index", (axis_names or ["x"])[0])
    n, d = P.shape
    names = list(axis_names or (["x", "y", "z"][:d]))
    marker = {"size": size, **colour_spec(color, periodic, color_name, colorscale, cmin, cmax)}
    hv = hover_values if hover_values is not None else color
    idx = np.arange(n)
    if hv is not None:
        custom = np.column_stack([idx, np.asarray(hv, dtype=np.float64)])
        hover = "point %{customdata[0]:.0f}<br>" + f"{hover_name if hover_values is not None else color_name}" \
                ": %{customdata[1]:.4g}<extra></extra>"
    else:
        custom = idx[:, None]
        hover = "point %{customdata[0]:.0f}<extra></extra>"
    if hover_data:
        extra = [(name, np.asarray(v, dtype=np.float64).reshape(-1)) for name, v in hover_data.items()
                 if name != (hover_name if hover_values is not None else color_name)]  # not twice
        j0 = custom.shape[1]
        custom = np.column_stack([custom] + [v for _, v in extra]) if extra else custom
        lines = "".join(f"<br>{name}: %{{customdata[{j0 + j}]:.4g}}" for j, (name, _) in enumerate(extra))
        hover = hover.replace("<extra></extra>", lines + "<extra></extra>")
    fig = go.Figure()
    if d >= 3:
        if mesh is not None:
            fig.add_trace(mesh_trace(mesh[0], mesh[1], opacity=0.25))
        fig.add_trace(go.Scatter3d(x=f32(P[:, 0]), y=f32(P[:, 1]), z=f32(P[:, 2]), mode="markers", marker=marker,
                                   customdata=f32(custom), hovertemplate=hover, name="points", showlegend=False))
        if highlight is not None and len(highlight):
            h = np.asarray(highlight, dtype=np.int64)
            fig.add_trace(go.Scatter3d(x=f32(P[h, 0]), y=f32(P[h, 1]), z=f32(P[h, 2]), mode="markers",
                                       marker={"size": 9, "color": START, "symbol": "circle-open"},
                                       customdata=f32(custom[h]), hovertemplate=hover, name=highlight_name))
        fig.update_layout(scene=scene_layout(names[:3], uirevision, up, points=P))
    else:
        fig.add_trace(go.Scattergl(x=f32(P[:, 0]), y=f32(P[:, 1]), mode="markers", marker=marker,
                                   customdata=f32(custom), hovertemplate=hover, name="points", showlegend=False))
        if highlight is not None and len(highlight):
            h = np.asarray(highlight, dtype=np.int64)
            fig.add_trace(go.Scatter(x=f32(P[h, 0]), y=f32(P[h, 1]), mode="markers",
                                     marker={"size": 12, "color": "rgba(0,0,0,0)",
                                             "line": {"color": START, "width": 2}},
                                     customdata=f32(custom[h]), hovertemplate=hover, name=highlight_name))
        fig.update_xaxes(title_text=names[0])
        fig.update_yaxes(title_text=names[1], scaleanchor="x", scaleratio=1)
    return base_layout(fig, title, height, uirevision)


def embedding_figure(emb_real: np.ndarray, emb_gen: np.ndarray, method: str,
                     color_real: Optional[np.ndarray] = None, color_name: str = "",
                     periodic: bool = False, height: int = 430) -> go.Figure:
    """One joint 2-D embedding shown as two panels with shared axes: real points, then generated
    points over the real ones in grey (so holes and spurious clusters stand out)."""
    fig = make_subplots(rows=1, cols=2, shared_xaxes=True, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=(f"real data ({len(emb_real)})",
                                        f"generated ({len(emb_gen)}, orange) over real (grey)"))
    R, G = f32(emb_real), f32(emb_gen)
    marker = {"size": 3, **colour_spec(color_real, periodic, color_name)}
    fig.add_trace(go.Scattergl(x=R[:, 0], y=R[:, 1], mode="markers", marker=marker, name="real",
                               hovertemplate="real %{pointNumber}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scattergl(x=R[:, 0], y=R[:, 1], mode="markers", marker={"size": 3, "color": "#cfd3da"},
                               name="real (grey)", showlegend=False, hoverinfo="skip"), 1, 2)
    fig.add_trace(go.Scattergl(x=G[:, 0], y=G[:, 1], mode="markers", marker={"size": 3, "color": LEARNED},
                               name="generated", hovertemplate="generated %{pointNumber}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text=f"{method} 1")
    fig.update_yaxes(title_text=f"{method} 2", col=1)
    fig = base_layout(fig, "", height)
    return fig.update_layout(showlegend=False)  # the panel titles name the colours; a legend would cover them


def diffusion_coord_name(j: int, t: float = 0, eigenvalue: Optional[float] = None) -> str:
    """The axis title of diffusion coordinate ``j`` (1-based) at time ``t``: "φ₃" at t = 0, "μ₃⁵φ₃" at t = 5,
    with "(μ₃ = 0.981)" appended when ``eigenvalue`` is given."""
    base = f"φ{subscript(j)}" if not t else f"μ{subscript(j)}{superscript(t)}φ{subscript(j)}"
    return base if eigenvalue is None else f"{base} (μ{subscript(j)} = {eigenvalue:.4f})"


def diffusion_pair_figure(psi: np.ndarray, which: Sequence[int], eigenvalues: Sequence[float],
                          color: Optional[np.ndarray], color_name: str, periodic: bool, t: float = 0,
                          highlight: Optional[Sequence[int]] = None, height: int = 430,
                          uirevision: str = "keep") -> go.Figure:
    """Two or three diffusion coordinates of the data, 2-D or 3-D, coloured like the data.

    Parameters
    ----------
    psi : ndarray (n, 2 or 3)
        The coordinates drawn: μ_j^t φ_j for the chosen eigenvectors j (t = 0: φ_j).
    which : sequence of int (2 or 3,)
        The 1-based index j of each column (φ_j), for the axis titles.
    eigenvalues : sequence of float (2 or 3,)
        μ_j of each column; in the 2-D axis titles (the 3-D ones stay short).
    color : ndarray (n,), optional
        Values colouring the points (the ground-truth coordinate).
    t : float
        Diffusion time of ``psi`` (for the axis titles only).
    highlight : sequence of int, optional
        Point indices circled (the point whose random walk is shown).

    The hover label gives each point's index and colour value; true proportions, so a large t visibly
    flattens the fast-decaying coordinates.
    """
    psi = np.asarray(psi, dtype=np.float64)
    d = psi.shape[1]
    names = [diffusion_coord_name(j, t, eigenvalues[c] if d < 3 else None) for c, j in enumerate(which)]
    return points_figure(psi, color, color_name, periodic, axis_names=names, height=height, uirevision=uirevision,
                         highlight=None if highlight is None else np.asarray(highlight, dtype=np.int64),
                         highlight_name="walk start", size=2.5 if d == 3 else 4)


def diffusion_spectrum_figure(eigenvalues: Sequence[float], dim: int, t: float = 0,
                              shown: Sequence[int] = (), height: int = 300) -> go.Figure:
    """The eigenvalues μ_i of P = D⁻¹W against i (the constant μ_0 = 1 left out), the chosen latent D marked.

    Parameters
    ----------
    eigenvalues : sequence of float (N,)
        μ_1 ≥ … ≥ μ_N.
    dim : int
        The latent dimension D: the first D eigenvectors (what a model with latent D keeps) are drawn in one
        colour, the rest in grey, with a dashed line between i = D and D + 1.
    t : float
        Diffusion time: for t > 0 the factors μ_i^t that scale the coordinates of ψ_t are drawn too.
    shown : sequence of int
        1-based indices of the eigenvectors on the axes of the diffusion-map figure (circled).
    """
    mu = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    i = np.arange(1, mu.size + 1)
    kept = i <= dim
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=i, y=mu, mode="lines", line={"color": "#b8bcc6", "width": 1}, showlegend=False,
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=i[kept], y=mu[kept], mode="markers", marker={"size": 8, "color": TRUTH},
                             name=f"kept by latent D = {dim}", hovertemplate="μ%{x} = %{y:.5f}<extra></extra>"))
    if (~kept).any():
        fig.add_trace(go.Scatter(x=i[~kept], y=mu[~kept], mode="markers", marker={"size": 8, "color": "#9aa0ab"},
                                 name="beyond D", hovertemplate="μ%{x} = %{y:.5f}<extra></extra>"))
    if t:
        fig.add_trace(go.Scatter(x=i, y=mu ** t, mode="lines+markers", marker={"size": 6, "color": LEARNED},
                                 line={"color": LEARNED, "width": 1.5, "dash": "dot"},
                                 name=f"μᵢ{superscript(t)} (scale of ψ)",
                                 hovertemplate=f"μ%{{x}}{superscript(t)} = %{{y:.4g}}<extra></extra>"))
    sh = np.asarray([j for j in shown if 1 <= j <= mu.size], dtype=np.int64)
    if sh.size:
        fig.add_trace(go.Scatter(x=sh, y=mu[sh - 1], mode="markers", name="on the axes",
                                 marker={"size": 15, "color": "rgba(0,0,0,0)", "line": {"color": START, "width": 1.5}},
                                 hoverinfo="skip"))
    if 0 < dim < mu.size:
        fig.add_vline(x=dim + 0.5, line={"color": TRUTH, "dash": "dash", "width": 1.5}, annotation_text=f"D = {dim}",
                      annotation_position="top right", annotation_font={"color": TRUTH})
    fig.update_xaxes(title_text="eigenvector index i", dtick=1 if mu.size <= 20 else None, range=[0.4, mu.size + 0.6])
    fig.update_yaxes(title_text="eigenvalue μᵢ" + (f" and μᵢ{superscript(t)}" if t else ""))
    fig = base_layout(fig, "", height)
    return fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})


#: Colours of a transition row: grey where the walk has no mass, through orange to dark red at the most likely.
TRANSITION_SCALE = [[0.0, "rgb(214,218,226)"], [0.02, "rgb(254,224,144)"], [0.3, "rgb(253,141,60)"],
                    [0.65, "rgb(215,48,39)"], [1.0, "rgb(103,0,13)"]]


def transition_row_figure(P: np.ndarray, row: np.ndarray, start: int, t: int, axis_names: Sequence[str],
                          height: int = 430, uirevision: str = "keep", up: str = "z") -> go.Figure:
    """The data coloured by one row of P^t: where a t-step random walk from point ``start`` is.

    Parameters
    ----------
    P : ndarray (n, 1..3)
        Display coordinates of the data.
    row : ndarray (n,)
        P^t[start, :] (non-negative, sums to 1); points with no mass are grey.
    start : int
        The start point (circled).
    t : int
        Steps (for the colour-bar title).
    """
    row = np.asarray(row, dtype=np.float64)
    name = f"P{superscript(t) if t != 1 else ''}[{int(start)}, j]"
    fig = points_figure(P, row, name, False, axis_names=axis_names, highlight=np.asarray([int(start)]),
                        highlight_name="start", height=height, uirevision=uirevision, up=up, cmin=0.0,
                        cmax=float(row.max()) if row.max() > 0 else 1.0, colorscale=TRANSITION_SCALE,
                        size=3 if np.asarray(P).shape[1] >= 3 else 4)
    return fig


__all__ = ["points_figure", "embedding_figure", "diffusion_pair_figure", "diffusion_spectrum_figure",
           "transition_row_figure", "diffusion_coord_name", "superscript", "LEARNED", "TRUTH"]

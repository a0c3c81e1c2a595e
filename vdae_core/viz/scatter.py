"""Point clouds and latent codes, coloured by a ground-truth coordinate; joint t-SNE/UMAP views."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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


def diffusion_pair_figure(P: np.ndarray, dm: np.ndarray, color: Optional[np.ndarray], color_name: str,
                          periodic: bool, eigenvalues: Sequence[float], height: int = 430) -> go.Figure:
    """The exact diffusion-map coordinates (first 2 or 3 non-trivial eigenvectors), coloured like the data;
    the hover label gives each point's index and colour value, the eigenvalues are in the axis titles."""
    d = min(3, dm.shape[1])
    names = [f"φ{j + 1} ({eigenvalues[j]:.3f})" if d < 3 else f"φ{j + 1}" for j in range(d)]
    return points_figure(dm[:, :d], color, color_name, periodic, axis_names=names, height=height)


__all__ = ["points_figure", "embedding_figure", "diffusion_pair_figure", "LEARNED", "TRUTH"]

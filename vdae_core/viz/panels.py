"""Several of the studio's one-panel figures as the panels of one figure (lessons, handouts)."""
from __future__ import annotations

from typing import Optional, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vdae_core.viz.common import base_layout

_3D = ("scatter3d", "mesh3d", "surface", "cone", "streamtube", "volume", "isosurface")


def _is_3d(fig: go.Figure) -> bool:
    return any(t.type in _3D for t in fig.data)


def add_panel(out: go.Figure, fig: go.Figure, col: int, hide_scale: bool = False,
              colourbar: Optional[dict] = None, eye_scale: float = 1.0, legend: Optional[bool] = None) -> None:
    """Copy a one-panel figure's traces into column ``col`` (1-based) of the one-row subplot figure ``out``; for
    a 3-D figure its scene too (axes, aspect, camera; the camera's eye × ``eye_scale``).

    Parameters
    ----------
    out : go.Figure
        Made by ``make_subplots(rows=1, ...)``; changed in place. ``fig`` is left as it was.
    hide_scale : bool
        Hide the copied traces' colour bars (another panel shows the shared one).
    colourbar : dict, optional
        Else, updates of their colour bars; ``x`` is relative to the panel's right edge (0: on it).
    legend : bool, optional
        Set every copied trace's legend entry on (True: where the trace had one) or off; None leaves them.
    """
    sub = out.get_subplot(1, col)
    three_d = _is_3d(fig)
    right = sub.domain.x[1] if three_d else sub.xaxis.domain[1]
    for tr in fig.data:
        tr = go.Figure(tr).data[0]  # a copy
        marker = getattr(tr, "marker", None)
        if marker is not None and marker.showscale is not False and marker.colorscale is not None:
            if hide_scale:
                marker.showscale = False
            elif colourbar is not None:
                marker.colorbar.update({**colourbar, "x": right + colourbar.get("x", 0.0)})
        if legend is not None:
            tr.showlegend = (tr.showlegend is not False) and legend if tr.showlegend is not None else legend
        out.add_trace(tr, row=1, col=col)
    if three_d:
        scene = fig.layout.scene.to_plotly_json()
        scene.pop("domain", None)
        eye = (scene.get("camera") or {}).get("eye")
        if eye and eye_scale != 1.0:
            scene["camera"]["eye"] = {k: eye_scale * v for k, v in eye.items()}
        sub.update(scene)


def panels_figure(figs: Sequence[go.Figure], titles: Sequence[str], height: int = 460, title: str = "",
                  shared_colour: bool = True, widths: Optional[Sequence[float]] = None) -> go.Figure:
    """The traces of each figure in ``figs`` as one row of panels, each with its title and axis titles.

    Parameters
    ----------
    figs : sequence of go.Figure
        One-panel figures (2-D or 3-D); animations are not supported (their frames are dropped).
    titles : sequence of str
        One per panel.
    shared_colour : bool
        The panels colour by the same quantity: one colour bar (the last panel's), the others hidden.
    widths : sequence of float, optional
        Relative panel widths.
    """
    specs = [[{"type": "scene" if _is_3d(f) else "xy"} for f in figs]]
    out = make_subplots(rows=1, cols=len(figs), specs=specs, subplot_titles=list(titles),
                        column_widths=list(widths) if widths else None,
                        horizontal_spacing=0.08 if shared_colour else 0.11)  # room for each panel's colour bar
    for j, f in enumerate(figs):
        last = j == len(figs) - 1
        # a panel is narrower than the figure its camera was fitted to: step back (eye × 1.15)
        add_panel(out, f, j + 1, hide_scale=shared_colour and not last, eye_scale=1.15, legend=j == 0,
                  colourbar=None if shared_colour or last else  # its own bar, at its panel's right edge
                  dict(x=0.005, xanchor="left", thickness=12, len=0.8))
        sub = out.get_subplot(1, j + 1)
        if specs[0][j]["type"] == "xy":
            out.update_xaxes(title_text=f.layout.xaxis.title.text, row=1, col=j + 1)
            out.update_yaxes(title_text=f.layout.yaxis.title.text, row=1, col=j + 1)
            if f.layout.yaxis.scaleanchor:
                out.update_yaxes(scaleanchor=sub.xaxis.plotly_name.replace("axis", ""), scaleratio=1, row=1, col=j + 1)
    base_layout(out, title, height=height)
    out.update_layout(legend={"orientation": "h", "y": -0.12})
    return out

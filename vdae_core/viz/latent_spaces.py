"""Each latent space drawn as itself (issue 9): a circle, a sphere in 3-D, a flat torus as a periodic
square, the embedded torus in 3-D, SO(3) as the axis-angle ball, RP² as a disc with antipodes identified.

A view is registered in :data:`~vdae_core.foundation.registry.LATENT_VIEWS` under the manifold's registry name, as a
function ``view(space, Z, color, color_name, periodic, uirevision) -> (go.Figure, caption)`` with ``Z`` the
codes (n, *space.shape). A new manifold without a view falls back to :func:`generic_view` (its intrinsic
coordinates, first three).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import plotly.graph_objects as go
import torch

from vdae_core.foundation.registry import LATENT_VIEWS
from vdae_core.viz.common import base_layout, f32
from vdae_core.viz.scatter import points_figure

View = Tuple[go.Figure, str]
GUIDE = "rgba(120,120,120,0.45)"


def _coords(space, Z: np.ndarray) -> np.ndarray:
    return np.asarray(space.intrinsic_coords(torch.as_tensor(np.asarray(Z, dtype=np.float64))), dtype=np.float64)


def _guide_line(fig: go.Figure, x, y, z=None, name: str = "") -> None:
    kw = dict(mode="lines", line={"color": GUIDE, "width": 2}, hoverinfo="skip", showlegend=False, name=name)
    if z is None:
        fig.add_trace(go.Scatter(x=f32(x), y=f32(y), **kw))
    else:
        fig.add_trace(go.Scatter3d(x=f32(x), y=f32(y), z=f32(z), **kw))


def _surface(fig: go.Figure, X, Y, Zs) -> None:
    fig.add_trace(go.Surface(x=f32(X), y=f32(Y), z=f32(Zs), opacity=0.15, showscale=False, hoverinfo="skip",
                             colorscale=[[0, "#9aa5b1"], [1, "#9aa5b1"]]))
    fig.data = (fig.data[-1],) + fig.data[:-1]  # under the points


def latent_view(space, Z: np.ndarray, color: Optional[np.ndarray], color_name: str, periodic: bool,
                uirevision: str = "keep") -> View:
    """The registered view of ``space`` (or :func:`generic_view`)."""
    fn = LATENT_VIEWS.get(space.name) if space.name in LATENT_VIEWS else generic_view
    return fn(space, Z, color, color_name, periodic, uirevision)


def generic_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    """Intrinsic coordinates (the first three) of a space without a view of its own."""
    C = _coords(space, Z)
    names = list(space.coord_names)[:3]
    fig = points_figure(C[:, :3], color, color_name, periodic, axis_names=names, uirevision=uirevision)
    return fig, f"{space.label}: intrinsic coordinates {', '.join(names)}."


@LATENT_VIEWS.register("euclidean", help="R^d: the codes themselves (the page picks 2 or 3 coordinates).")
def euclidean_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    Z = np.asarray(Z, dtype=np.float64)
    names = [f"z{j + 1}" for j in range(min(3, Z.shape[1]))]
    fig = points_figure(Z[:, :3] if Z.shape[1] > 1 else Z, color, color_name, periodic, axis_names=names,
                        size=3 if Z.shape[1] >= 3 else 4, uirevision=uirevision)
    return fig, f"{space.label}: codes drawn as they are."


@LATENT_VIEWS.register("sphere", help="S¹ as the unit circle, S² as a sphere in 3-D, higher spheres by 3 coordinates.")
def sphere_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    Z = np.asarray(Z, dtype=np.float64)
    t = np.linspace(0, 2 * np.pi, 200)
    if space.dim == 1:
        fig = points_figure(Z, color, color_name, periodic, axis_names=["z1", "z2"], size=5, uirevision=uirevision)
        _guide_line(fig, np.cos(t), np.sin(t), name="S¹")
        return fig, "S¹: each code is a point of the unit circle; the grey line is the circle itself."
    fig = points_figure(Z[:, :3], color, color_name, periodic, axis_names=["z1", "z2", "z3"], size=3,
                        uirevision=uirevision)
    u, v = np.meshgrid(np.linspace(0, np.pi, 24), np.linspace(0, 2 * np.pi, 48))
    _surface(fig, np.sin(u) * np.cos(v), np.sin(u) * np.sin(v), np.cos(u))
    extra = "" if space.dim == 2 else f" (the first 3 of {space.dim + 1} coordinates)"
    return fig, f"{space.label}: codes on the unit sphere{extra}."


@LATENT_VIEWS.register("flat_torus", help="The flat torus as a periodic square of its two angles.")
def flat_torus_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    C = _coords(space, Z) % (2 * np.pi)
    names = list(space.coord_names)
    fig = points_figure(C, color, color_name, periodic, axis_names=names, size=4, uirevision=uirevision)
    # faded copies across each edge: a cluster that wraps is seen whole on both sides of the seam
    for dx, dy in ((-2 * np.pi, 0), (2 * np.pi, 0), (0, -2 * np.pi), (0, 2 * np.pi)):
        near = ((C[:, 0] + dx > -0.6) & (C[:, 0] + dx < 2 * np.pi + 0.6) & (C[:, 1] + dy > -0.6)
                & (C[:, 1] + dy < 2 * np.pi + 0.6))
        if near.any():
            fig.add_trace(go.Scattergl(x=f32(C[near, 0] + dx), y=f32(C[near, 1] + dy), mode="markers",
                                       marker={"size": 4, "color": "rgba(150,150,150,0.35)"}, hoverinfo="skip",
                                       showlegend=False))
    s = 2 * np.pi
    _guide_line(fig, [0, s, s, 0, 0], [0, 0, s, s, 0], name="fundamental square")
    ticks = dict(tickvals=[0, np.pi / 2, np.pi, 3 * np.pi / 2, s], ticktext=["0", "π/2", "π", "3π/2", "2π"])
    fig.update_xaxes(range=[-0.6, s + 0.6], **ticks)
    fig.update_yaxes(range=[-0.6, s + 0.6], **ticks)
    return fig, ("Flat torus S¹×S¹ as a square of its two angles: opposite edges are the same points (grey: the "
                 "points that wrap, repeated across the seam).")


@LATENT_VIEWS.register("torus", help="The torus of revolution in 3-D.")
def torus_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    Z = np.asarray(Z, dtype=np.float64)
    fig = points_figure(Z, color, color_name, periodic, axis_names=["z1", "z2", "z3"], size=3, uirevision=uirevision)
    R, r = float(space.params()["R"]), float(space.params()["r"])
    th, ph = np.meshgrid(np.linspace(0, 2 * np.pi, 48), np.linspace(0, 2 * np.pi, 24))
    _surface(fig, (R + r * np.cos(ph)) * np.cos(th), (R + r * np.cos(ph)) * np.sin(th), r * np.sin(ph))
    return fig, f"Torus of revolution (R = {R:g}, r = {r:g}) in R³: codes on its surface."


def _ball_guides(fig: go.Figure, radius: float) -> None:
    t = np.linspace(0, 2 * np.pi, 120)
    z0 = np.zeros_like(t)
    for x, y, z in ((np.cos(t), np.sin(t), z0), (np.cos(t), z0, np.sin(t)), (z0, np.cos(t), np.sin(t))):
        _guide_line(fig, radius * x, radius * y, radius * z)


@LATENT_VIEWS.register("so3", help="SO(3) as the axis-angle ball of radius π.")
def so3_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    C = _coords(space, Z)
    fig = points_figure(C, color, color_name, periodic, axis_names=["θ·axis x", "θ·axis y", "θ·axis z"], size=3,
                        uirevision=uirevision)
    _ball_guides(fig, np.pi)
    return fig, ("SO(3) as the axis-angle ball: a rotation by θ about a unit axis sits at θ·axis; on the boundary "
                 "(θ = π) antipodal points are the same rotation.")


@LATENT_VIEWS.register("projective", help="RP² as a disc (upper hemisphere) with antipodal boundary points identified.")
def projective_view(space, Z, color, color_name, periodic, uirevision="keep") -> View:
    C = _coords(space, Z)
    if space.dim == 1:  # RP¹: the upper half of the unit circle, its two ends the same point
        P = np.asarray(space.canonical(torch.as_tensor(np.asarray(Z, dtype=np.float64))), dtype=np.float64)
        fig = points_figure(P, color, color_name, periodic, axis_names=["x", "y"], size=5, uirevision=uirevision)
        t = np.linspace(0, np.pi, 100)
        _guide_line(fig, np.cos(t), np.sin(t), name="RP¹")
        return fig, ("RP¹ as the upper half circle (each line through the origin drawn once): its two ends (−1, 0) "
                     "and (1, 0) are the same point, so RP¹ is itself a circle.")
    if space.dim == 2:
        fig = points_figure(C, color, color_name, periodic, axis_names=["x", "y"], size=4, uirevision=uirevision)
        t = np.linspace(0, 2 * np.pi, 200)
        _guide_line(fig, np.cos(t), np.sin(t), name="boundary")
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
        return fig, ("RP² as the upper hemisphere seen from above (a disc): each line through the origin is drawn "
                     "once; points on the boundary circle are the same as their reflection through the centre.")
    fig = points_figure(C[:, :3], color, color_name, periodic, axis_names=["x", "y", "z"], size=3,
                        uirevision=uirevision)
    _ball_guides(fig, 1.0)
    return fig, f"{space.label} as a ball (hemisphere representatives): antipodal boundary points are identified."

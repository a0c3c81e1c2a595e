"""Lesson 1: diffusion maps, from a kernel to coordinates."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.lessons.measures import correlation_ratio

N_COORDS = 12


@LESSONS.register("diffusion_maps", help="Diffusion maps: from a kernel to coordinates.", order=1)
class DiffusionCoordinates(Lesson):
    key = "diffusion_maps"
    title = "Diffusion maps: from a kernel to coordinates"
    goal = "A random walk on the data's neighbour graph, and the coordinates its slowest modes give."
    intro = (
        "Join every point to its nearest neighbours with Gaussian weights and normalise each row: that is a "
        "**random walk** P = D⁻¹W on the data (left: where one step from ★ can land). The eigenvectors φ₁, φ₂, … "
        "of P, ordered by their eigenvalues μ₁ ≥ μ₂ ≥ … (right), are the functions on the data that the walk "
        "smooths out slowest, and the **diffusion map** uses them as coordinates (middle: φ₁ against φ₂, "
        "coloured by the roll's true coordinate t). The VDAE's encoder learns exactly these coordinates.")
    question = ("The swiss roll is a rolled-up rectangle with two coordinates, t along the roll and its height. "
                "Do φ₁ and φ₂ lay it out as that rectangle? If not, which eigenvector is the first to carry the "
                "height, and why does it come so late?")
    runs = (LessonRun("dmap", "the exact diffusion map", "diffusion_map", {"dataset": "swiss_roll", "n": 1000},
                      {"latent_dim": N_COORDS}),)
    open_page = "data"
    open_role = "dmap"

    def study(self, runs):
        from vdae_core.geometry.diffusion_maps import diffusion_map, transition_matrix, transition_row
        from vdae_core.study.analysis import coordinates_follow
        from vdae_core.viz.panels import panels_figure
        from vdae_core.viz.scatter import points_figure

        run = runs["dmap"]
        ds, k = run.dataset, int(run.model.config.neighbours)
        dm = diffusion_map(ds.X, n_components=N_COORDS, k=k)
        P, _ = transition_matrix(ds.X, k=k)  # the graph the map is built on: one step of its random walk
        start = int(np.argmin(np.abs(ds.params[:, 0] - np.median(ds.params[:, 0]))
                              + np.abs(ds.params[:, 1] - np.median(ds.params[:, 1])) / 21))
        row = transition_row(P, start, 1)
        # how much of each eigenvector is a function of t, and how much of the height (η², any function)
        follow = [{name: correlation_ratio(dm.coords[:, j], ds.params[:, i]) for i, name in enumerate(ds.param_names)}
                  for j in range(N_COORDS)]
        height = next((j + 1 for j, f in enumerate(follow) if f["height"] >= 0.5), None)
        t_only = [j + 1 for j, f in enumerate(follow) if f["t"] >= 0.8 and f["height"] < 0.2]
        pair = dict(coordinates_follow(dm.coords[:, :2], ds.params, ds.param_names, ds.periodic))
        step = points_figure(ds.X, row, "P(★ → x)", False, axis_names=("x", "y", "z"), highlight=[start],
                             highlight_name="★ start", size=2, colorscale="Reds")
        coords = points_figure(dm.coords[:, :2], ds.params[:, 0], "t", False, axis_names=("φ₁", "φ₂"), size=4)
        spectrum = go.Figure(go.Bar(x=np.arange(1, N_COORDS + 1), y=dm.eigenvalues,
                                    marker_color=["#d62728" if height == j + 1 else "#4c78a8" for j in range(N_COORDS)],
                                    hovertemplate="φ%{x}: μ = %{y:.4f}<extra></extra>", showlegend=False))
        spectrum.update_layout(xaxis_title="i (eigenvector φᵢ)", yaxis_title="eigenvalue μᵢ", xaxis_dtick=1,
                               yaxis_range=[float(dm.eigenvalues.min()) * 0.995, 1.0])
        fig = panels_figure([step, coords, spectrum],
                            ["one step of the walk from ★", "φ₁ and φ₂, coloured by t",
                             "eigenvalues μᵢ (red: the height)"],
                            height=440, shared_colour=False, widths=[1.1, 1, 0.8])
        numbers = {"k": k, "n": int(ds.n), "neighbours_reached": int((row > 0).sum()),
                   "largest_step_probability": float(row.max()),
                   "eigenvalues": [float(v) for v in dm.eigenvalues],
                   "follow": [{"t": f["t"], "height": f["height"]} for f in follow],
                   "height_index": height, "t_only": t_only, "pair_follow": pair}
        return numbers, fig

    def answer(self, n):
        f1, f2 = n["follow"][0], n["follow"][1]
        mu = n["eigenvalues"]
        harmonic = f2["t"] >= 0.8 and f2["height"] < 0.5
        lines = [
            ("**No.** " if f2["height"] < 0.5 else "**Yes.** ")
            + f"On this run {f1['t']:.0%} of φ₁'s variation is a function of t ({f1['height']:.0%} of the height), "
            f"and {f2['t']:.0%} of φ₂'s is a function of t ({f2['height']:.0%} of the height)"
            + (" — φ₂ is a *harmonic* of φ₁, a function of t that oscillates faster, not a new direction." if harmonic
               else ".")
            + (f" As a pair they follow t with a score of {n['pair_follow']['t']:.2f} and the height with "
               f"{n['pair_follow']['height']:.2f}: the map draws a curve, not a rectangle." if f2["height"] < 0.5
               else "")]
        if n["height_index"]:
            j = n["height_index"]
            before = [i for i in n["t_only"] if i < j]
            lines.append(
                f"The height first carries half of an eigenvector's variation at **φ{j}** "
                f"({n['follow'][j - 1]['height']:.0%}; μ{j} = {mu[j - 1]:.4f} against μ₁ = {mu[0]:.4f}). The "
                "eigenvalues rank functions by how slowly they vary along the data: the roll is much longer along t "
                "than it is tall, so several oscillations along t vary more slowly than a single one along the "
                "height" + (f" (φ{', φ'.join(map(str, before))} before it are functions of t alone)." if before
                            else "."))
        else:
            lines.append(f"None of the first {len(mu)} eigenvectors is mostly a function of the height (best "
                         f"{max(f['height'] for f in n['follow']):.0%}): the roll is so much longer than it is tall "
                         "that every slow mode is an oscillation along t.")
        lines.append(
            f"One step of the walk from ★ can reach {n['neighbours_reached']} of the {n['n']} points — its neighbours "
            f"on the graph (its k = {n['k']} nearest and the points that count it among theirs); the most likely "
            f"with probability {n['largest_step_probability']:.2f}. This is why the "
            "studio reads the latent dimension off the data instead of taking the intrinsic dimension 2: two "
            "coordinates would keep only t.")
        return "\n\n".join(lines)

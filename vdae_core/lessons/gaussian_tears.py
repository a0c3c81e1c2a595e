"""Lesson 2: why a Gaussian latent tears a circle."""
from __future__ import annotations

import numpy as np

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.lessons.measures import codes, hole_numbers, loops, pct, tear_numbers
from vdae_core.study.verdicts import hole_verdict

CIRCLE = {"dataset": "circle", "n": 1000}
GAUSS_1D = LessonRun("line_latent", "β-VAE, 1-D Gaussian latent", "beta_vae", CIRCLE, {"latent_dim": 1})
GAUSS_2D = LessonRun("plane_latent", "β-VAE, 2-D Gaussian latent", "beta_vae", CIRCLE, {"latent_dim": 2})
SPHERE_1D = LessonRun("loop_latent", "hyperspherical VAE, S¹ latent", "svae", CIRCLE, {"latent_manifold_dim": 1})


@LESSONS.register("gaussian_tears", help="Why a Gaussian latent tears a circle.", order=2)
class GaussianTears(Lesson):
    key = "gaussian_tears"
    title = "Why a Gaussian latent tears a circle"
    goal = "Three VAEs encode the same circle; only one has a latent space with a loop in it."
    intro = (
        "A VAE maps each point to a code in its latent space and draws new samples from a prior there. A circle "
        "has a loop; a line has none, and a plane has no loop that a Gaussian prior respects. Three models on "
        "the same 1,000 points of a circle, their codes coloured by the true angle: a 1-D Gaussian latent, a 2-D "
        "Gaussian latent, and the hyperspherical VAE, whose latent *is* a circle S¹. A **tear** is a pair of "
        "neighbours on the circle whose codes land far apart.")
    question = ("Which models cut the circle, and where does the colour jump? The 2-D Gaussian latent has room "
                "for a ring: does it solve the problem?")
    runs = (GAUSS_1D, GAUSS_2D, SPHERE_1D)
    open_page = "audit"
    open_role = "line_latent"

    def study(self, runs):
        from vdae_core.viz.panels import panels_figure
        from vdae_core.viz.scatter import points_figure

        ds = runs["line_latent"].dataset
        theta = ds.params[:, 0]
        numbers = {"data_loops": loops(ds.X)}
        figs = []
        for spec in self.runs:
            run = runs[spec.role]
            Z = codes(run)
            numbers[spec.role] = {"label": spec.label, **tear_numbers(run), "loops": loops(Z)}
            if Z.shape[1] == 1:  # a line: the code against the true angle shows where the colour jumps
                figs.append(points_figure(np.column_stack([Z[:, 0], theta]), theta, "angle θ", True,
                                          axis_names=("code z", "true angle θ"), size=4))
            else:
                figs.append(points_figure(Z[:, :2], theta, "angle θ", True, axis_names=("z1", "z2"), size=4))
        numbers["plane_latent"].update(hole_numbers(runs["plane_latent"]))
        fig = panels_figure(figs, [s.label for s in self.runs], height=430)
        return numbers, fig

    def answer(self, n):
        g1, g2, sv = n["line_latent"], n["plane_latent"], n["loop_latent"]

        def tears(r):
            return (f"{r['torn_edges']} of {r['data_edges']} neighbour edges torn ({r['points_at_a_tear']} points "
                    f"at a tear), {r['loops']} loop{'s' * (r['loops'] != 1)} in its codes")

        lines = [f"The data has {n['data_loops']} loop. Measured on these runs:",
                 f"- **{g1['label']}:** {tears(g1)}. "
                 + ("It cuts the circle: a line has no loop, so somewhere two neighbours must land at its two ends — "
                    "where the colour jumps from one end of the angle scale to the other." if g1["torn_edges"] else
                    "No edge counts as torn at the audit's threshold here; look for the colour jump along the line "
                    "— a continuous map of a circle onto a line cannot be one-to-one."),
                 f"- **{g2['label']}:** {tears(g2)}. "
                 + ("It lays the circle out as a ring" if g2["loops"] >= 1 and not g2["torn_edges"] else
                    "It has room for a ring but does not close it here")
                 + f"; its prior is a 2-D Gaussian with most of its mass in the middle: {pct(g2['hole_share'])} "
                 f"of prior codes fall where no data code is (a hole; floor {pct(g2['hole_floor'][0])}) and "
                 f"{pct(g2['off_share'])} of its samples decode off the circle (floor {pct(g2['off_floor'][0])}) — "
                 + hole_verdict(g2["hole_share"], g2["hole_floor"][0], g2["off_share"], *g2["off_floor"],
                                g2["off_in_holes"]) + "."
                 + (" The tear is gone; a hole took its place." if g2["loops"] >= 1 and not g2["torn_edges"]
                    and g2["hole_share"] > g2["hole_floor"][0] + 0.01 else ""),
                 f"- **{sv['label']}:** {tears(sv)}. "
                 + ("Its latent is a circle, so the loop has somewhere to go, and its prior (uniform on S¹) has no "
                    "middle to fall into." if sv["loops"] == 1 and not sv["torn_edges"] else
                    "Its latent is a circle, yet this short training did not lay the data round it cleanly: a "
                    "model with the right shape still has to be trained well.")]
        return "\n".join(lines)

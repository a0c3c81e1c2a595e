"""Lesson 3: a walk that stays on the manifold."""
from __future__ import annotations

import numpy as np

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun

BUNNY = {"dataset": "bunny", "n": 2000}
WALKERS, STEPS, CHECK_STEP = 100, 20, 10


@LESSONS.register("walk_on_manifold", help="A walk that stays on the manifold.", order=3)
class WalkOnManifold(Lesson):
    key = "walk_on_manifold"
    title = "A walk that stays on the manifold"
    goal = "The VDAE's random walk on the bunny, with and without its projection onto the data's codes."
    intro = (
        "The VDAE generates by a **random walk**: from a point's code it takes a Gaussian step whose shape a "
        "network learned from the data's own diffusion (Algorithm 2 of the paper) and decodes. Two VDAEs trained "
        "the same way on the Stanford bunny, walking 100 walkers from one vertex: the studio's, whose decoder "
        "reads a step's code at its nearest place among the data's codes, and the *raw* decoder, which reads the "
        "step's code as it is. Right: the true diffusion walk on the mesh, for comparison. Press ▶ Play.")
    question = ("Which walk stays on the bunny's surface, and which spreads over the bunny like the true "
                "diffusion does? What does reading the code at the data's codes buy?")
    runs = (LessonRun("projected", "VDAE (the studio's decoder input)", "vdae", BUNNY),
            LessonRun("raw", "VDAE, raw decoder input", "vdae", BUNNY, {"decoder_input": "raw"}))
    open_page = "walks"
    open_role = "projected"

    def study(self, runs):
        from vdae_core.study.diagnostics import compare_walks
        from vdae_core.viz.common import LEARNED, TRUTH
        from vdae_core.viz.walks import WalkPanel, walk_animation

        mesh = runs["projected"].dataset.mesh
        V, F = mesh.vertices, mesh.faces
        start = int(np.argmin(V[:, 1]))  # the lowest vertex (y is the bunny's up axis): a start every walk leaves
        numbers, panels = {"start_vertex": start, "walkers": WALKERS, "steps": STEPS, "check_step": CHECK_STEP}, []
        truth = None
        for spec in self.runs:
            wc = compare_walks(runs[spec.role].model, V, F, start, WALKERS, STEPS, seed=0)
            learned_tv = next(v for k, v in wc.tv.items() if k.startswith("learned"))
            true_tv = next(v for k, v in wc.tv.items() if k.startswith("true walk (") and "exact" not in k)
            numbers[spec.role] = {"label": spec.label, "off_surface_mean": float(np.nanmean(wc.off_surface[1:])),
                                  "off_surface_last": float(wc.off_surface[-1]),
                                  "tv_at_check": float(learned_tv[CHECK_STEP]),
                                  "tv_true_at_check": float(true_tv[CHECK_STEP]), "tv_floor": float(wc.floor),
                                  "height_reached": wc.reach(1)[0], "true_height_reached": wc.reach(1)[1],
                                  "regions": int(wc.n_regions)}
            panels.append(WalkPanel(spec.label, wc.learned, LEARNED))
            truth = truth if truth is not None else wc
        numbers["bunny_height"] = float(V[:, 1].max() - V[:, 1].min())
        panels.append(WalkPanel(f"true diffusion walk on the mesh<br>({truth.substeps} graph steps / step)",
                                truth.truth, TRUTH))
        fig = walk_animation(panels, mesh=(V, F), trail=3, start=truth.start, up="y", height=480)
        return numbers, fig

    def answer(self, n):
        v, r = n["projected"], n["raw"]
        s = n["check_step"]

        def line(w):
            return (f"walkers on average {w['off_surface_mean']:.2f} edge lengths off the surface; at step {s} the "
                    f"walkers' spread over {w['regions']} regions of the bunny is {w['tv_at_check']:.2f} in total "
                    "variation from "
                    f"the walk's stationary law (the true walk: {w['tv_true_at_check']:.2f}; the floor of "
                    f"{n['walkers']} perfect samples: {w['tv_floor']:.2f}); the highest walker climbed "
                    f"{w['height_reached']:.2f} above the start, the true walk's {w['true_height_reached']:.2f} (the "
                    f"bunny is {n['bunny_height']:.2f} tall)")

        better = v["off_surface_mean"] * 1.5 < r["off_surface_mean"]  # a clear difference, not a tie
        return "\n".join([
            f"- **{v['label']}:** {line(v)}.",
            f"- **{r['label']}:** {line(r)}.",
            "",
            (f"Reading the step's code at the data's codes keeps the walkers "
             f"{r['off_surface_mean'] / max(v['off_surface_mean'], 1e-12):.1f}× closer to the surface: a Gaussian "
             "step leaves the thin set of codes the decoder was trained on, and a decoder read there has never been "
             "taught where to go." if better else
             f"On this run the two stay about as close to the surface ({v['off_surface_mean']:.2f} against "
             f"{r['off_surface_mean']:.2f} edge lengths): the step is short enough here that it rarely leaves the "
             "codes the decoder was trained on."),
            "",
            "Compare how far up (the ears) each walk climbs within its "
            f"{n['steps']} steps; a walk has mixed when its walkers' spread reaches the floor."])

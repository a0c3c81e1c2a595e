"""Lesson 4: holes in the prior."""
from __future__ import annotations

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.lessons.gaussian_tears import CIRCLE, GAUSS_2D
from vdae_core.lessons.measures import hole_numbers, pct
from vdae_core.study.verdicts import hole_verdict


@LESSONS.register("prior_holes", help="Holes in the prior.", order=4)
class PriorHoles(Lesson):
    key = "prior_holes"
    title = "Holes in the prior"
    goal = "Where a model's prior puts codes that no data point was encoded near, and what they decode to."
    intro = (
        "A generative model samples by drawing a code from its **prior** and decoding it. If the prior puts codes "
        "where no training point's code lies — a **hole** — the decoder was never taught what to do there. Left: "
        "prior codes of a β-VAE trained on a circle (2-D Gaussian latent), red where the data's codes are less than "
        "a tenth as dense as the prior. Right: the same codes decoded, beside held-out points of the circle (grey); "
        "large markers land farther than one data spacing from the data. The VDAE, trained on the same circle, "
        "samples by walking from data codes instead of drawing from a fixed prior.")
    question = ("What share of the β-VAE's samples land off the circle, and where in the latent do they come "
                "from? Does the VDAE have holes too, and do they matter?")
    runs = (GAUSS_2D, LessonRun("walker", "VDAE", "vdae", CIRCLE))
    open_page = "audit"
    open_role = "plane_latent"

    def study(self, runs):
        from vdae_core.study.analysis import DisplayProjection, latent_plane
        from vdae_core.study.topology import prior_hole_report
        from vdae_core.viz.topology import prior_holes_figure

        run = runs["plane_latent"]
        hs, ph, Zd, Zp, Xs, R = prior_hole_report(run, n=2000)
        shape = run.model.latent_space.shape
        Zd2, names = latent_plane(run.model, Zd.reshape(len(Zd), *shape))
        Zp2, _ = latent_plane(run.model, Zp.reshape(len(Zp), *shape))
        proj = DisplayProjection(run.dataset.X)
        fig = prior_holes_figure(Zd2, Zp2, ph.log_ratio, proj(R), proj(Xs), ph.off, hs["t_spacings"], hs["hole_ratio"],
                                 latent_names=names, height=460)
        numbers = {spec.role: {"label": spec.label,
                               **hole_numbers(runs[spec.role], summary=hs if spec.role == "plane_latent" else None)}
                   for spec in self.runs}
        numbers["hole_ratio"] = float(hs["hole_ratio"])
        return numbers, fig

    def answer(self, n):
        g, v = n["plane_latent"], n["walker"]
        def judged(r):
            return hole_verdict(r["hole_share"], r["hole_floor"][0], r["off_share"], *r["off_floor"], r["off_in_holes"])

        lines = [
            f"- **{g['label']}:** {pct(g['hole_share'])} of its prior codes lie in a hole (floor "
            f"{pct(g['hole_floor'][0])}: a second draw of the prior itself), and {pct(g['off_share'])} of its samples "
            f"decode off the circle (floor {pct(g['off_floor'][0])}: fresh points of the circle) — {judged(g)}. "
            + ("Most codes in a hole decode off the circle: the ring's middle, where the Gaussian prior is densest, "
               "is where the decoder learned nothing." if (g["off_in_holes"] or 0) >= 0.5 else ""),
            f"- **{v['label']}:** {pct(v['hole_share'])} of its sampler's codes lie in a hole, and {pct(v['off_share'])} "
            f"of its samples decode off the circle (floor {pct(v['off_floor'][0])}) — {judged(v)}. "
            + ("Its decoder reads every code at the nearest data codes, so even a code in a hole decodes onto the "
               "circle." if judged(v).startswith("no holes") else
               "The walk leaves the data codes further than its decoder can correct on this short training."),
        ]
        return "\n".join(lines)

"""Lesson 5: do UMAP and Isomap tear the torus?"""
from __future__ import annotations

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.lessons.measures import codes, first_periodic, loops, tear_numbers

TORUS = {"dataset": "torus", "n": 1000}


@LESSONS.register("classical_tears", help="Do UMAP and Isomap tear the torus?", order=5)
class ClassicalTears(Lesson):
    key = "classical_tears"
    title = "Do UMAP and Isomap tear the torus?"
    goal = "Two classical manifold learners map a torus into three dimensions, where it fits without a cut."
    intro = (
        "A torus has two loops: around the ring and around the tube. It fits in three dimensions without a cut — it "
        "is drawn that way — so a map into R³ need not tear it. Two classical learners embed the same 1,000 points "
        "of a torus in three dimensions: **UMAP** (a fuzzy neighbour graph laid out by attraction and repulsion) "
        "and **Isomap** (distances along the neighbour graph, then classical scaling). The studio audits their "
        "codes as it audits its own models: persistent homology counts the loops, and the tears are neighbour "
        "edges of the torus whose codes land far apart.")
    question = "Does each learner keep both of the torus's loops in its codes, and where does it cut?"
    runs = (LessonRun("fuzzy_graph", "UMAP (3-D)", "umap", TORUS, {"latent_dim": 3}),
            LessonRun("geodesic", "Isomap (3-D)", "isomap", TORUS, {"latent_dim": 3}))
    open_page = "audit"
    open_role = "fuzzy_graph"

    def study(self, runs):
        from vdae_core.viz.panels import panels_figure
        from vdae_core.viz.scatter import points_figure

        ds = runs["fuzzy_graph"].dataset
        j = first_periodic(ds)
        numbers = {"data_loops": loops(ds.X), "colour": ds.param_names[j]}
        figs = []
        for spec in self.runs:
            Z = codes(runs[spec.role])
            numbers[spec.role] = {"label": spec.label, "loops": loops(Z), **tear_numbers(runs[spec.role])}
            figs.append(points_figure(Z[:, :3], ds.params[:, j], ds.param_names[j], True,
                                      axis_names=("z1", "z2", "z3"), size=2.5))
        return numbers, panels_figure(figs, [s.label for s in self.runs], height=460)

    def answer(self, n):
        d = n["data_loops"]
        out = [f"The torus's points read {d} loop{'s' * (d != 1)} by the audit's rule. Measured on these runs:"]
        for role in ("fuzzy_graph", "geodesic"):
            r = n[role]
            kept = r["loops"] == d
            out.append(
                f"- **{r['label']}:** {r['loops']} loop{'s' * (r['loops'] != 1)} in its codes "
                f"({'as many as the torus' if kept else 'the torus has ' + str(d)}); {r['torn_edges']} of {r['data_edges']} "
                f"neighbour edges torn ({r['points_at_a_tear']} points at a tear) and {r['folded_edges']} folded. "
                + ("A cut shows in the figure as a place where the colour of the ring angle jumps between neighbours."
                   if r["torn_edges"] else
                   "No cut: neighbours on the torus stay neighbours in the codes." if kept else
                   "No cut, yet a loop is gone: the map squashed a loop flat, laying two sides of the torus onto each "
                   "other — a loss that counting tears alone would miss."))
        out.append("Neither learner is told the data's topology: what it keeps depends on its objective. A good "
                   "picture is not a proof — count the loops and the tears.")
        return "\n".join(out)

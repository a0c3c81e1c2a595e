"""Lesson 7: pictures have shape too."""
from __future__ import annotations

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.lessons.measures import codes, loops
from vdae_core.study.verdicts import angle_verdict

TURNTABLE = {"dataset": "turntable", "n": 720}


@LESSONS.register("pictures_shape", help="Pictures have shape too (a turntable's loop).", order=7)
class PicturesShape(Lesson):
    key = "pictures_shape"
    title = "Pictures have shape too"
    goal = "Images of an object turning on a turntable form a loop in a 1,024-dimensional space."
    intro = (
        "Each picture here is a 32×32 render of the bunny at one angle of a turntable: a point in a 1,024-dimensional "
        "space of pixels. Turning the object a little changes the picture a little, and a full turn brings it back, "
        "so the pictures lie on a **closed curve** — a circle, bent through pixel space. A VDAE trained on 720 "
        "such pictures: its codes, coloured by the true angle, with some of the pictures placed at their codes.")
    question = ("How many loops do the pictures themselves have, and do the VDAE's codes keep it? How well does an "
                "angle read off the codes follow the turntable's angle?")
    runs = (LessonRun("model", "VDAE", "vdae", TURNTABLE),)
    open_page = "latent"
    open_role = "model"

    def study(self, runs):
        from vdae_core.metrics.angle_recovery import angle_recovery, angle_recovery_floor
        from vdae_core.viz.images import spread_indices, thumbnails_figure

        run = runs["model"]
        ds, space = run.dataset, run.model.latent_space
        Z = codes(run)
        rec = angle_recovery(space, Z, ds.params, ds.param_names, ds.periodic)
        score = float(max(rec["per_angle"].values()))
        floor = float(angle_recovery_floor(space, Z, ds.params, ds.param_names, ds.periodic))
        Z2 = Z[:, :2]
        idx = spread_indices(Z2, 24)
        fig = thumbnails_figure(Z2, ds.images, idx, ds.params[:, 0], ds.param_names[0], True,
                                axis_names=("z1", "z2"), height=520)
        return {"data_loops": loops(ds.X), "code_loops": loops(Z), "angle_score": score, "angle_floor": floor,
                "latent_dim": int(Z.shape[1]), "pixels": int(ds.X.shape[1]), "n": int(ds.n)}, fig

    def answer(self, n):
        d, c = n["data_loops"], n["code_loops"]
        return "\n".join([
            f"The {n['n']} pictures ({n['pixels']} pixels each) have **{d} loop{'s' * (d != 1)}** by the audit's "
            f"persistent homology — the turntable's turn. The VDAE's {n['latent_dim']}-D codes have {c} "
            + ("(kept)." if c == d else "(not kept on this short training)."),
            "",
            f"An angle read off the codes follows the turntable's angle with circular correlation "
            f"|ρ| = {n['angle_score']:.2f} (1: the codes go round once, in order; a latent unrelated to the angle "
            f"scores up to {n['angle_floor']:.2f}): {angle_verdict(n['angle_score'], n['angle_floor'])}.",
            "",
            "Nothing told the model the pictures were a turntable: the loop is in the data, and the diffusion map "
            "that the VDAE's encoder learns follows it."])

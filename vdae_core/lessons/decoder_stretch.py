"""Lesson 6: where the decoder stretches (bi-Lipschitz)."""
from __future__ import annotations

import numpy as np

from vdae_core.foundation.registry import LESSONS
from vdae_core.lessons.base import Lesson, LessonRun
from vdae_core.study.verdicts import distortion_verdict

SPHERE = {"dataset": "sphere", "n": 1000}
UNITS = 10.0  # the data re-expressed in other units (× UNITS) for the raw constant's lesson
POLE_DEG = 30.0  # "near a pole": within this many degrees of either pole


@LESSONS.register("decoder_stretch", help="Where the decoder stretches (bi-Lipschitz).", order=6)
class DecoderStretch(Lesson):
    key = "decoder_stretch"
    title = "Where the decoder stretches"
    goal = "Per-point bi-Lipschitz constants of two decoders of a sphere: a flat latent and a spherical one."
    intro = (
        "A decoder maps nearby codes to nearby points. Its **bi-Lipschitz constant** at a point compares, over the "
        "point's latent neighbours, the largest and the smallest ratio of data distance to latent distance: 1 means "
        "the neighbourhood is copied without distortion, 5 means one direction is stretched five times as much as "
        "another. The studio leads with this **scale-free** form; the paper's *raw* form (the largest ratio or its "
        "inverse) also counts the overall scale. Two models of a sphere, their constants painted on the data with "
        "one colour scale: a β-VAE with a flat 2-D latent and the hyperspherical VAE with a latent sphere S².")
    question = ("A sphere cannot be flattened without distortion. Where does the flat latent's decoder stretch "
                "most, does the spherical latent remove the stretch, and why does the studio lead with the "
                "scale-free number?")
    runs = (LessonRun("flat_latent", "β-VAE, 2-D Gaussian latent", "beta_vae", SPHERE, {"latent_dim": 2}),
            LessonRun("round_latent", "hyperspherical VAE, S² latent", "svae", SPHERE, {"latent_manifold_dim": 2}))
    open_page = "bilipschitz"
    open_role = "flat_latent"

    def study(self, runs):
        from vdae_core.metrics.bilipschitz import bilipschitz_both, geodesic_latent
        from vdae_core.study.analysis import per_point_bilipschitz
        from vdae_core.viz.bilip import bilip_data_figure, colour_limits
        from vdae_core.viz.panels import panels_figure

        numbers, results = {}, {}
        for spec in self.runs:
            model = runs[spec.role].model
            b = per_point_bilipschitz(model, runs[spec.role].dataset.X, k=10, n_points=800, seed=0)
            sf = b.scale_free[np.isfinite(b.scale_free)]
            # the same decoder with the data in other units: the raw constant moves, the scale-free one does not
            raw_u, sf_u = bilipschitz_both(b.z, UNITS * model.decode(b.z), k=10, latent_space=geodesic_latent(model))
            polar = runs[spec.role].dataset.params[b.idx, 0]
            worst = b.scale_free >= np.quantile(sf, 0.9)
            near_pole = np.abs(np.cos(polar)) >= np.cos(np.radians(POLE_DEG))  # within POLE_DEG of either pole
            numbers[spec.role] = {
                "label": spec.label, "sf_median": float(np.median(sf)), "sf_p90": float(np.quantile(sf, 0.9)),
                "raw_median": float(np.median(b.raw[np.isfinite(b.raw)])),
                "raw_median_units": float(np.median(raw_u[np.isfinite(raw_u)])),
                "sf_median_units": float(np.median(sf_u[np.isfinite(sf_u)])),
                "worst_near_pole": float(near_pole[worst].mean()), "all_near_pole": float(near_pole.mean())}
            results[spec.role] = b
        cmax = max(colour_limits(b.scale_free)[1] for b in results.values())
        figs = [bilip_data_figure(b.points, b.scale_free, "scale-free bi-Lipschitz", cmax=cmax, height=460)
                for b in results.values()]
        numbers["units"] = UNITS
        return numbers, panels_figure(figs, [s.label for s in self.runs], height=460)

    def answer(self, n):
        f, s = n["flat_latent"], n["round_latent"]
        better = s["sf_median"] * 1.1 < f["sf_median"]  # a clear difference, not a tie

        def where(r):
            return (f"{r['worst_near_pole']:.0%} of its worst tenth of points lie within {POLE_DEG:.0f}° of a pole, "
                    f"where {r['all_near_pole']:.0%} of all points do")

        return "\n".join([
            f"- **{f['label']}:** median scale-free constant {f['sf_median']:.2f}, 90th percentile "
            f"{f['sf_p90']:.2f}; {where(f)}.",
            f"- **{s['label']}:** median {s['sf_median']:.2f}, 90th percentile {s['sf_p90']:.2f}; {where(s)}.",
            "",
            (f"The spherical latent stretches less ({distortion_verdict(s['sf_median'])} against "
             f"{distortion_verdict(f['sf_median'])}): its latent has the data's shape, so the decoder need not "
             "flatten anything." if better else
             "On these short trainings the spherical latent does not stretch less than the flat one: the right "
             "shape of latent removes the need to distort, but the decoder must still be trained to use it."),
            "",
            f"**Why scale-free:** express the same data in other units (× {n['units']:g}) and the flat model's raw "
            f"median moves from {f['raw_median']:.2f} to {f['raw_median_units']:.2f}, while its scale-free median "
            f"stays {f['sf_median']:.2f} → {f['sf_median_units']:.2f}. The raw constant mixes the overall scale of "
            "the decoder into the distortion; the scale-free one measures the distortion alone."])

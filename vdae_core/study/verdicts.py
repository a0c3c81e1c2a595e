"""Numbers with verdicts, in plain words (issue 33, item 4, first part).

Every sample metric stands beside its noise floor (the same number for an exact sample of the data's law);
:func:`verdict` turns the pair into one line a student can read — "inside the noise floor", "3.1× the floor:
the samples bunch up more than the data" — using the metric's direction from
:data:`~vdae_core.study.metric_specs.METRIC_SPECS` and the studio's flag rule (3 floor sds on the bad side,
:func:`vdae_core.study.evaluation.flagged`), so a verdict never disagrees with a ⚑. :data:`GLOSSARY` explains the
terms in one sentence each.
"""
from __future__ import annotations

import math
from typing import Dict

#: What a number beyond its floor means, per metric, in plain words (the metric's bad side).
MEANING: Dict[str, str] = {
    "gw": "the samples' distances are arranged differently from the data's",
    "gw_paper": "the samples' distances are arranged differently from the data's",
    "mmd2_h": "the samples' overall spread differs from the data's",
    "mmd2_h5": "the samples are distributed differently from the data at medium scale",
    "mmd2_h20": "the samples are distributed differently from the data at fine scale",
    "precision": "some samples fall where the data is not",
    "recall": "parts of the data are never generated",
    "density": "the samples crowd or thin out compared with the data",
    "coverage": "parts of the data get no sample nearby",
    "memorisation": "the samples sit closer to the training points than fresh data does: the model copies",
    "lump_top10": "the samples bunch up more than the data",
    "lump_max": "one region gets far more samples than the data puts there",
    "off_data": "some samples land well away from the data",
    "betti0": "the samples break into a different number of pieces",
    "betti1": "the samples have a different number of loops",
    "bottleneck_h0": "the samples' pieces do not match the data's",
    "bottleneck_h1": "the samples' loops do not match the data's",
}

#: The terms of the tables, one sentence each (the glossary panel).
GLOSSARY: Dict[str, str] = {
    "noise floor": "the same number computed for a fresh exact sample of the data instead of the model's samples: "
                   "what a perfect model would score, sampling noise included.",
    "GW": "Gromov–Wasserstein distance: how differently the samples' pairwise distances are arranged from the "
          "data's, whatever their position or rotation.",
    "MMD²": "maximum mean discrepancy: how far the two clouds' densities differ, smoothed at a given scale h.",
    "precision / recall": "the share of samples near the data, and of the data near some sample.",
    "coverage": "the share of data points with a sample among their nearest neighbours.",
    "memorisation": "the samples' distance to the training points over their distance to fresh data; about 1 is "
                    "sound, well below 1 means copying.",
    "lumpiness": "how much of the samples fall into the most crowded tenth of the data's cells, against the data.",
    "off the data": "the share of samples farther from the data than the data's own largest neighbour gaps.",
    "Betti numbers": "the number of pieces (Betti₀) and loops (Betti₁) a cloud has, read off its persistence.",
    "bottleneck": "the largest mismatch between two persistence diagrams: a missing loop costs half its life.",
    "bi-Lipschitz": "how much a map stretches or squeezes distances around a point; 1 keeps them.",
    "tear / fold": "neighbours in the data sent far apart in the codes / far-apart points sent together.",
    "RTD": "Representation Topology Divergence: 0 when codes and data have the same clusters and loops at the "
           "same scales.",
}


def verdict(key: str, value: float, floor_mean: float, floor_sd: float) -> str:
    """One plain line for ``value`` of metric ``key`` beside its floor (mean ``floor_mean``, sd ``floor_sd``).

    The line says "inside the noise floor" exactly when :func:`vdae_core.study.evaluation.flagged` does not flag
    the value; otherwise how far beyond the floor it lies (a ratio where that reads well, else the two values)
    and what that means (:data:`MEANING`).
    """
    from vdae_core.study.evaluation import flagged
    from vdae_core.study.metric_specs import spec_of

    if value is None or not math.isfinite(float(value)):
        return "not measured"
    if not flagged(key, value, floor_mean, floor_sd):
        return "inside the noise floor: as good as a second sample of the data"
    spec = spec_of(key)
    better = spec.better if spec is not None else "lower"
    meaning = MEANING.get(key, "worse than a second sample of the data")
    if better == "match":
        return f"{value:g} where the data has {floor_mean:g}: {meaning}"
    if better == "lower" and floor_mean > 0:
        return f"{value / floor_mean:.1f}× the floor: {meaning}"
    if better == "higher" and floor_mean > 0:
        return f"{value / floor_mean:.0%} of the floor: {meaning}"
    return f"{value:.3g} against a floor of {floor_mean:.3g}: {meaning}"



def hole_verdict(hole_share: float, hole_floor: float, off_share: float, off_floor: float, off_floor_sd: float,
                 off_in_holes=None) -> str:
    """One line on a model's prior holes (:func:`vdae_core.study.topology.prior_hole_report`): a hole matters only
    when its codes decode off the data, so the verdict reads the decoded-off share against its floor first.

    Parameters
    ----------
    hole_share, hole_floor : float
        Share of prior codes in a hole, and the same for a second draw of the prior (a perfect match).
    off_share, off_floor, off_floor_sd : float
        Share of decoded prior codes off the data; its floor (fresh data) mean and sd.
    off_in_holes : float or None
        Of the codes in a hole, the share decoded off the data.
    """
    if not all(math.isfinite(float(v)) for v in (hole_share, hole_floor, off_share, off_floor, off_floor_sd)):
        return "not measured"
    off_bad = off_share > off_floor + max(3 * off_floor_sd, 0.01)
    holes = hole_share > hole_floor + 0.01
    if off_bad and not holes:
        return (f"{off_share:.0%} of its samples land off the data (fresh data: {off_floor:.0%}), though its prior "
                "has no more holes than a second draw of itself: the decoder, not the prior, misses the data")
    if not off_bad:
        return ("no holes that matter: its samples land on the data as often as fresh data does"
                + (f" (its prior has holes, {hole_share:.0%} of its codes, but they decode onto the data)"
                   if holes else ""))
    where = ("" if off_in_holes is None else
             f"; {off_in_holes:.0%} of the codes in its holes decode off the data")
    return f"{off_share:.0%} of its samples land off the data (fresh data: {off_floor:.0%}){where}: its holes matter"


def surface_verdict(off_surface: float, reach: float = None, true_reach: float = None) -> str:
    """One line on a walk on a mesh: how far its walkers sit off the surface (mean, in mesh edge lengths; the true
    walk's are on it, 0) and, given the heights reached along the mesh's up axis by the learned and the true
    walkers (from the lowest vertex), whether it gets where the true walk gets (a bunny's ears)."""
    if not math.isfinite(float(off_surface)):
        return "The learned walkers' distance to the surface was not measured."
    if off_surface <= 0.5:
        where = "on the surface (within half an edge)"
    elif off_surface <= 2:
        where = "near the surface (within two edges), not on it"
    else:
        where = f"off the surface ({off_surface:.1f} edges away on average): the decoder leaves the mesh"
    if reach is None or not true_reach or not math.isfinite(float(reach)) or true_reach < 1e-9:
        return f"The learned walkers are {where}."
    share = reach / true_reach
    got = ("and they get as far as the true walk does" if share >= 0.9 else
           f"and they reach {share:.0%} of the height the true walk reaches: parts of the shape it visits (the "
           "ears of a bunny) the learned walk does not")
    return f"The learned walkers are {where}, {got}."


def distortion_verdict(median_k: float, scale_free: bool = True) -> str:
    """One line on a median bi-Lipschitz constant K (1: distances kept). Scale-free K reads as uneven stretching;
    raw K also counts a uniform change of scale (a map that doubles every distance scores 2), so its line says so.
    """
    if not math.isfinite(float(median_k)):
        return "not measured"
    if not scale_free:
        return (f"median raw K {median_k:.2g}: distances change by up to {median_k:.1f}× around a typical point, a "
                "uniform change of scale included (the scale-free K tells distortion from scale)")
    if median_k <= 1.5:
        return f"median K {median_k:.2g}: close to keeping distances — little uneven distortion"
    if median_k <= 3:
        return (f"median K {median_k:.2g}: moderate distortion — around a typical point some neighbours are pulled "
                f"up to {median_k:.1f}× more than others")
    return f"median K {median_k:.2g}: strong uneven distortion around a typical point"


def angle_verdict(score: float, floor: float) -> str:
    """One line on the latent-angle score |ρ| (1: the loop found and ordered) beside its no-relation floor."""
    if not (math.isfinite(float(score)) and math.isfinite(float(floor))):
        return "not measured"
    if score <= floor:
        return "inside the floor: the latent angle has no relation to the true one"
    if score >= 0.9:
        return "the latent goes round with the true angle, in order (check the plot for a tear: the score misses it)"
    if score >= 0.5:
        return "the latent follows the true angle in part: look for where the colours jump or fold back"
    return "above the floor but weak: the latent hardly follows the true angle"


def with_distance_verdicts(report: Dict) -> Dict:
    """A topology report (:func:`vdae_core.study.topology.topology_report`) with ``verdicts``: one line per homology
    dimension for the data–samples bottleneck distance beside its floor (:func:`verdict`); the report itself is
    not changed (a shallow copy is returned), and one without distances comes back as it is."""
    if not report.get("distances"):
        return report
    out = dict(report)
    out["verdicts"] = [verdict(f"bottleneck_h{k}", b, *report["floor"]["bottleneck"][k])
                       for k, b in enumerate(report["distances"]["bottleneck"])]
    return out


GLOSSARY.update({
    "τ (feature threshold)": "a bar of a persistence diagram counts as a feature (a real loop or piece) when it "
                             "lives longer than τ, a few times the typical gap between neighbouring points.",
    "cover radius": "how far the farthest point of a cloud is from the subsample that stands for it.",
    "floor (law vs law)": "the same distance between two fresh samples of the data: what a perfect model scores.",
    "prior / hole": "the law a model draws its codes from / a region where the prior puts codes but no data point "
                    "was encoded.",
    "Algorithm 2": "the VDAE paper's sampler: step from a code with the learned covariance, decode, encode, repeat.",
    "graph steps per step": "how many steps of the true walk on the mesh make one displayed step, chosen so that "
                            "both walks move about as far per step.",
    "total variation": "how far the walkers' spread over regions of the shape is from where the walk ends up in "
                       "the long run: 0 = mixed.",
    "scale-free": "a bi-Lipschitz constant after dividing every distance ratio by their median: only uneven "
                  "stretching counts, not a change of units.",
})

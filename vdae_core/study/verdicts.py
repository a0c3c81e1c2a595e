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


"""The one list of the numbers the studio reports about a run: what each is, which side is good, how its floor
is made, whether comparison tables show it, and (for sample metrics) how it is computed.

``evaluate`` computes the sample metrics of this list and reports the encoder ones, ``compare`` takes its table
columns from it, the CLI's ``list`` prints it, and every page titles its columns from it. Adding a metric is one
entry here (with its ``compute`` for a sample metric); :data:`METRIC_SPECS`'s ``off_data`` was added that way.

Families
--------
``sample``
    A generated sample G (M, m) against the held-out reference R; its floor is the same number for an exact
    sample of the data's law (a fresh sample for built-in data, training points for a file).
``topology``
    Persistence of G against R (:mod:`vdae_core.metrics.persistence`); the floor of a Betti number is the
    data's own count.
``coordinate``
    ``ks_<name>``: two-sample KS of each continuous intrinsic coordinate, one per coordinate the data has.
``encoder``
    Of the learned map on training points (bi-Lipschitz, trustworthiness, continuity): no floor, the ideal is 1.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class SampleContext:
    """Everything a sample metric may look at besides the sample itself.

    Attributes
    ----------
    R : Dataset
        Reference sample (n, m) of the data's law, never training points seen by the model for built-in data.
    centres : ndarray (K, m)
        Cell centres of the lumpiness cells; ``masses`` (K,) their expected masses under the law.
    lookup : CoordinateLookup
        Intrinsic coordinates of arbitrary points (:class:`vdae_core.study.evaluation.CoordinateLookup`).
    memo : (ndarray (m', m), ndarray (m', m)) or None
        Training and held-out sets of one size, for the memorisation ratio (None: no training points given, no
        memorisation).
    h : float
        Median pairwise distance within R (the MMD bandwidths are h, h/5, h/20).
    k : int
        Neighbours of the precision/recall/density/coverage balls.
    seed : int
    """

    R: object
    centres: np.ndarray
    masses: np.ndarray
    lookup: object
    memo: Optional[Tuple[np.ndarray, np.ndarray]]
    h: float
    k: int
    seed: int


def _gw(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.gromov_wasserstein import gromov_wasserstein

    return {"gw": float(gromov_wasserstein(G, c.R.X, max_points=1000, seed=c.seed)["value"])}


def _gw_paper(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.gromov_wasserstein import gromov_wasserstein

    return {"gw_paper": float(gromov_wasserstein(G, c.R.X, max_points=1000, seed=c.seed, scale="max")["value"])}


def _mmd(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.mmd import mmd

    return {key: float(mmd(G, c.R.X, bandwidth=c.h / div)["mmd2"])
            for key, div in (("mmd2_h", 1), ("mmd2_h5", 5), ("mmd2_h20", 20))}


def _prdc(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.coverage import prdc

    return prdc(c.R.X, G, k=c.k)


def _memorisation(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.coverage import memorisation_ratio

    return {} if c.memo is None else {"memorisation": memorisation_ratio(G, *c.memo)}


def _lumps(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.lumpiness import lumpiness

    return lumpiness(G, c.centres, c.masses)


def _off_data(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.coverage import off_data_share

    return {"off_data": off_data_share(G, c.R.X)}


def _ks(G, c: SampleContext) -> Dict[str, float]:
    return c.lookup.ks(G, c.R)


def _topology(G, c: SampleContext) -> Dict[str, float]:
    from vdae_core.metrics.persistence import sample_topology

    return sample_topology(G, c.R.X, c.seed)


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """One reported number.

    Attributes
    ----------
    key : str
        Its key in every summary (``ks_*``: one per intrinsic coordinate).
    title : str
        Column title.
    better : str
        ``lower`` / ``higher`` is better; ``one``: both sides are bad; ``match``: it should equal its floor.
    family : str
        ``sample``, ``topology``, ``coordinate`` or ``encoder`` (module docstring).
    floor : str
        How its noise floor is made, in words.
    help : str
        What it measures, in one sentence.
    table : str or None
        Its title in the comparison tables (Table 1), or None when the tables leave it out.
    compute : callable or None
        ``compute(G, ctx) -> {key: value}`` for sample, topology and coordinate metrics; entries that share a
        function (the three MMD² bandwidths) are computed in one call.
    needs : str
        ``gw``, ``topology`` or ``gw_paper``: the flag of :func:`sample_metrics` that turns it on (``with_gw``,
        ``with_topology`` by default; ``with_gw_paper`` only on request).
    ideal : float or None
        The value a perfect model scores, where there is one (1 for memorisation, density, bi-Lipschitz,
        trustworthiness, continuity); the Compare page stars the mean closest to it.
    paper : str or None
        Its key in the VDAE paper's Table 1 (:data:`vdae_core.study.compare.PAPER_TABLE1`), shown in brackets.
    """

    key: str
    title: str
    better: str
    family: str
    floor: str
    help: str
    table: Optional[str] = None
    compute: Optional[Callable] = None
    needs: str = ""
    ideal: Optional[float] = None
    paper: Optional[str] = None


_EXACT = "the same number for exact samples of the data's law (5 draws: mean ± sd)"
_DATA = "the data's own value (held-out reference)"
_IDEAL = "none: a map that keeps distances scores 1"

METRIC_SPECS: Tuple[MetricSpec, ...] = (
    MetricSpec("gw", "GW", "lower", "sample", _EXACT,
               "Gromov–Wasserstein discrepancy of the sample to the held-out reference, each distance matrix in the "
               "unit of its 99th percentile and clipped there: one stray sample cannot swing it.", "GW", _gw, "gw"),
    MetricSpec("gw_paper", "GW (max-normalised)", "lower", "sample", _EXACT,
               "The same with each distance matrix divided by its largest entry, as the VDAE paper's code does: the "
               "farthest sample sets the unit of all. Beside the paper's Table 1 (measured by compare and sweeps, "
               "and on request: it doubles an evaluation's time).", "GW, paper's unit", _gw_paper, "gw_paper",
               paper="gw"),
    MetricSpec("mmd2_h", "MMD² (h)", "lower", "sample", _EXACT,
               "MMD² at the median-distance bandwidth h of the reference.", None, _mmd),
    MetricSpec("mmd2_h5", "MMD² (h/5)", "lower", "sample", _EXACT,
               "MMD² with a kernel 5× narrower: sees clustered samples.", None, _mmd),
    MetricSpec("mmd2_h20", "MMD² (h/20)", "lower", "sample", _EXACT,
               "MMD² with a kernel 20× narrower: sees lumps at the data spacing.", "MMD² (h/20)", _mmd),
    MetricSpec("precision", "precision", "higher", "sample", _EXACT,
               "Share of samples inside the data's k-NN balls (fidelity).", None, _prdc),
    MetricSpec("recall", "recall", "higher", "sample", _EXACT,
               "Share of data inside the samples' k-NN balls (diversity).", None, _prdc),
    MetricSpec("density", "density", "one", "sample", _EXACT,
               "Mean count of data k-NN balls holding a sample, / k (≈ 1).", None, _prdc, ideal=1.0),
    MetricSpec("coverage", "coverage", "higher", "sample", _EXACT,
               "Share of data points with a sample inside their k-NN ball.", "coverage", _prdc),
    MetricSpec("memorisation", "memorisation", "higher", "sample",
               "exact samples (built-in data) or bootstrap halves of the held-out split (a file)",
               "Median distance to the nearest training point / to the nearest held-out point (≈ 1; < 1 memorises).",
               "memorisation", _memorisation, ideal=1.0),
    MetricSpec("lump_top10", "lumpiness (top 10%)", "lower", "sample", _EXACT,
               "Share of samples in the densest cells that hold 10% of the data's mass (0.10 is even).",
               "lumpiness (top 10%)", _lumps),
    MetricSpec("lump_max", "lumpiness (max)", "lower", "sample", _EXACT,
               "Largest observed/expected cell mass ratio.", None, _lumps),
    MetricSpec("off_data", "off the data", "lower", "sample", _EXACT,
               "Share of samples farther from the held-out data than three times the 99th percentile of the data's "
               "own nearest-neighbour gaps: outliers, counted as outliers (about 0 for an exact sampler).",
               "off the data", _off_data),
    MetricSpec("betti0", "Betti₀ (components)", "match", "topology", _DATA,
               "Components of the samples' persistence diagram (bars longer than 4 neighbour gaps); the floor is the "
               "data's own count.", None, _topology, "topology"),
    MetricSpec("betti1", "Betti₁ (loops)", "match", "topology", _DATA,
               "Loops of the samples' persistence diagram (bars longer than 2 neighbour gaps); the floor is the data's "
               "own count. A gap narrower than the loop still closes a late-born loop: the H1 bottleneck sees it.",
               "Betti₁ of samples (floor: data's)", _topology, "topology"),
    MetricSpec("bottleneck_h0", "bottleneck H0", "lower", "topology", _EXACT,
               "Bottleneck distance between the components' diagrams of samples and held-out data (data units).",
               None, _topology, "topology"),
    MetricSpec("bottleneck_h1", "bottleneck H1", "lower", "topology", _EXACT,
               "Bottleneck distance between the loops' diagrams of samples and held-out data (a missing loop costs "
               "half its life).", "bottleneck H1", _topology, "topology"),
    MetricSpec("ks_*", "KS of each coordinate", "lower", "coordinate", _EXACT,
               "Two-sample KS of each continuous intrinsic coordinate (samples take their nearest reference point's).",
               None, _ks),
    MetricSpec("bilip_scale_free_median", "bi-Lip median (scale-free)", "one", "encoder", _IDEAL,
               "Median per-point bi-Lipschitz constant of the decoder, overall scale divided out.",
               "bi-Lip median (scale-free)", ideal=1.0),
    MetricSpec("bilip_median", "bi-Lip median (raw)", "one", "encoder", _IDEAL,
               "Median per-point bi-Lipschitz constant of the decoder over latent neighbours.", "bi-Lip median (raw)",
               ideal=1.0, paper="bilip"),
    MetricSpec("bilip_mean", "bi-Lip mean (raw)", "one", "encoder", _IDEAL,
               "Mean per-point bi-Lipschitz constant (raw).", ideal=1.0),
    MetricSpec("bilip_scale_free_mean", "bi-Lip mean (scale-free)", "one", "encoder", _IDEAL,
               "Mean per-point bi-Lipschitz constant, scale divided out.", ideal=1.0),
    MetricSpec("trustworthiness", "trustworthiness", "highest", "encoder", "none: at most 1",
               "Are latent neighbours also data neighbours? (1 = yes)", ideal=1.0),
    MetricSpec("continuity", "continuity", "highest", "encoder", "none: at most 1",
               "Are data neighbours also latent neighbours? (1 = yes)", ideal=1.0),
)

SPECS: Dict[str, MetricSpec] = {s.key: s for s in METRIC_SPECS}

#: Keys of the numbers a comparison can show (sample metrics first; ``ks_*`` depend on the data and are left out).
METRIC_COLUMNS: Tuple[str, ...] = tuple(s.key for s in METRIC_SPECS if s.family != "coordinate")

#: (key, title) of the comparison tables' columns.
TABLE_METRICS: Tuple[Tuple[str, str], ...] = tuple((s.key, s.table) for s in METRIC_SPECS if s.table)

#: Keys of the encoder metrics (of the learned map on training points; no floor).
ENCODER_METRICS: Tuple[str, ...] = tuple(s.key for s in METRIC_SPECS if s.family == "encoder")

#: What each direction means in a column header.
DIRECTION_WORDS = {"lower": "lower is better", "higher": "higher is better", "one": "1 is best",
                   "match": "best = the data's", "highest": "higher is better, at most 1"}


def spec_of(key: str) -> Optional[MetricSpec]:
    """The spec of ``key`` (``ks_theta`` -> the ``ks_*`` entry), or None for a key the list does not hold."""
    return SPECS.get(key) or (SPECS["ks_*"] if key.startswith("ks_") else None)


def column_title(key: str, title: str = "") -> str:
    """A table header in words with its direction: "GW (lower is better)"."""
    spec = spec_of(key)
    if spec is None:
        return title or key.replace("_", " ")
    name = title or (spec.title if spec.key != "ks_*" else f"KS {key[3:]}")
    return f"{name} ({DIRECTION_WORDS[spec.better]})"


def sample_metrics(G: np.ndarray, ctx: SampleContext, with_gw: bool = True,
                   with_topology: bool = True, with_gw_paper: bool = False) -> Dict[str, float]:
    """Every sample, topology and coordinate metric of :data:`METRIC_SPECS` for one sample ``G`` (M, m).

    ``with_gw=False`` / ``with_topology=False`` skip the entries that need them (GW: about 1 s per 1,000 points;
    persistence: about 1 s per sample of a circle). Entries sharing a ``compute`` are computed once.
    """
    skip = {n for n, on in (("gw", with_gw), ("topology", with_topology), ("gw_paper", with_gw and with_gw_paper))
            if not on}
    out: Dict[str, float] = {}
    done = set()
    for s in METRIC_SPECS:
        if s.compute is None or s.needs in skip or s.compute in done:
            continue
        done.add(s.compute)
        out.update(s.compute(G, ctx))
    return out


def lines() -> list:
    """One line per metric for the CLI's ``list``: key, direction, family and floor."""
    return [f"{s.key:<24} {s.title} ({DIRECTION_WORDS[s.better]}; {s.family}; floor: {s.floor}). {s.help}"
            for s in METRIC_SPECS]

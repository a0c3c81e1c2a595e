"""The evaluation protocol: every number about generated samples against held-out data, beside its floor.

A generated sample G (M points) is never compared with the training set. Its **reference** R is

- for a built-in dataset, a fresh sample of the same law (another seed), and
- for a user's file, the held-out split recorded in the run (``DataConfig.holdout``).

Each metric comes with its **noise floor**: the same metric for an independent sample E of the data's
own law in place of G, over ``reps`` draws (mean ± sd). For built-in data E is another fresh sample; for a
file it is a random subset of the training points (independent of the held-out R, which is what the
floor needs; the memorisation floor, which needs E independent of the training set too, uses halves of
the held-out split instead). A value is *flagged* when it lies more than three floor standard
deviations on the bad side of the floor's mean.

The metrics (:data:`vdae_core.study.metric_specs.METRIC_SPECS`, the one list):

- Gromov–Wasserstein and MMD² at three bandwidths (h/20, h/5 and h, h the median distance within R):
  the narrow kernels see lumps that the median one averages out;
- precision, recall, density and coverage (Naeem et al. 2020, :mod:`vdae_core.metrics.coverage`);
- memorisation: median distance of G to the nearest training point over that to the nearest held-out
  point, training and held-out sets of the same size (≈ 1 sound, < 1 memorises, 0 a copy);
- lumpiness: cells are the Voronoi cells of K centres drawn from the law (K = min(M, |R|) / 25, at least 20;
  for a finite dataset at most a tenth of the held-out split); each cell's expected mass is estimated from a
  large law sample independent of the floor samples; the cells of highest observed/expected
  ratio that together hold 10% of the law's mass hold ``lump_top10`` of the samples (0.10 for an exact
  sampler, up to its floor) and ``lump_max`` is the largest ratio (the max-to-mean bin ratio when the
  cells have equal mass);
- off the data: the share of samples farther from R than 3 × the 99th percentile of R's own nearest-neighbour
  gaps, the outliers (about 0 for an exact sampler; no closed-form manifold needed);
- KS per intrinsic coordinate where the data has them: samples take the coordinates of their nearest
  reference point, compared with the reference's coordinates by the two-sample KS statistic.

:func:`mixing_from_one_start` runs the model's walk from a single start point and reports, per statistic,
the first step at which it enters its floor (walks started at random training points begin stationary
and say nothing about mixing).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from vdae_core.data import DataConfig, Dataset, make_dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.files import write_json_atomic
from vdae_core.metrics.lumpiness import cell_masses
from vdae_core.study.metric_specs import ENCODER_METRICS, SampleContext, sample_metrics, spec_of

#: Seeds of reference draws start here (far from the training seeds a user picks).
REF_SEED_BASE = 1_000_003


# ----------------------------------------------------------------------------------- references
def heldout_cells(H: np.ndarray, K: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Voronoi cell centres and masses from disjoint parts of held-out points H (n, m): K centres (at most a
    tenth of H, at least 2) drawn by a seeded permutation, their masses estimated from the rest."""
    K = max(2, min(K, len(H) // 10))
    perm = np.random.default_rng([seed, 0xCE11]).permutation(len(H))
    return H[perm[:K]], cell_masses(H[perm[:K]], H[perm[K:]])


class ReferencePool:
    """Independent samples of the data's law for one run (never its training points).

    Parameters
    ----------
    train : Dataset
        The run's training data.
    data_config : DataConfig
        How it was made: a registered name gives fresh samples.
    heldout : Dataset or None
        The run's held-out split of a file's data.
    seed : int
        Evaluation seed: different seeds give different reference draws.
    """

    def __init__(self, train: Dataset, data_config: DataConfig, heldout: Optional[Dataset] = None, seed: int = 0):
        from vdae_core.data.split import MIN_HELDOUT, has_fresh_samples

        self.train, self.config, self.heldout, self.seed = train, data_config, heldout, int(seed)
        self.fresh = has_fresh_samples(data_config.dataset)
        if not self.fresh and heldout is None:
            raise UserInputError(
                f"this run holds no held-out points, so its samples cannot be judged against data it never saw: "
                f"its data had too few points for a held-out split of at least {MIN_HELDOUT} (holdout = "
                f"{data_config.holdout:g} of {train.n}), holdout was 0, or it was trained by a version before "
                f"held-out splits. Train it again with more points or a larger holdout")

    @property
    def eval_size(self) -> Optional[int]:
        """Largest sample size with independent floor draws: half the training points for a finite dataset (so
        that floor samples of the training points differ from draw to draw), unlimited with fresh samples."""
        return None if self.fresh else self.train.n // 2

    @property
    def description(self) -> str:
        if self.fresh:
            return f"fresh samples of '{self.config.dataset}' (seeds {REF_SEED_BASE}+), independent of training"
        return f"the run's held-out split ({self.heldout.n} points never trained on)"

    def fresh_sample(self, n: int, draw: int) -> Dataset:
        """Draw number ``draw`` of ``n`` points of the law (built-in datasets only)."""
        seed = REF_SEED_BASE + 7919 * self.seed + 104_729 * int(draw)
        if seed == self.config.seed:
            seed += 1
        return make_dataset(dataclasses.replace(self.config, n=int(n), seed=seed))

    def reference(self, n: int) -> Dataset:
        """The reference R: a fresh sample of ``n`` points, or the whole held-out split."""
        return self.fresh_sample(n, 0) if self.fresh else self.heldout

    def floor_sample(self, n: int, j: int) -> Dataset:
        """The j-th sample E_j of the law in place of generated points, independent of R: fresh, or ``n`` (at
        most :attr:`eval_size`) training points drawn with a generator seeded by (seed, j)."""
        if self.fresh:
            return self.fresh_sample(n, 1 + j)
        rng = np.random.default_rng([self.seed, 0xE7A1, int(j)])
        return self.train.subset(rng.choice(self.train.n, size=min(n, self.eval_size), replace=False))

    def cells(self, K: int, n_mass: int) -> Tuple[np.ndarray, np.ndarray]:
        """Voronoi cell centres (K, m) and their masses (K,) under the law, independent of floor samples:
        fresh draws, or for a finite dataset centres and masses from disjoint parts of the held-out split
        (floor samples are training points, so they must not set the masses)."""
        if self.fresh:
            centres = self.fresh_sample(K, 998).X
            return centres, cell_masses(centres, self.fresh_sample(n_mass, 999).X)
        return heldout_cells(self.heldout.X, K, self.seed)

    def coordinate_sample(self, n: int) -> Dataset:
        """The law sample whose intrinsic coordinates generated points borrow: fresh, or the held-out split."""
        return self.fresh_sample(n, 999) if self.fresh else self.heldout

    def memo_sets(self, R: Dataset, seed: int):
        """Memorisation's training and held-out sets of one size, and the law sample its floor is bootstrapped
        from (None: the floor draws serve).

        Returns
        -------
        memo : (ndarray (m', m), ndarray (m', m))
        memo_floor_sample : ndarray (h, m) or None
        """
        if self.fresh:  # the floor's law samples E_j are independent of training and reference alike
            m = min(len(R.X), self.train.n)
            held, memo_floor_sample = R.X[:m], None
        else:           # E_j are training points here: the floor's law sample is the other half of the held-out split
            # random halves: the split keeps the file's order, and a file sorted along the manifold would make
            # each half one arc (exact samples then read as copies)
            half = R.n // 2
            m = min(half, self.train.n)
            perm = np.random.default_rng([seed, 0x3E30]).permutation(R.n)
            held, memo_floor_sample = R.X[perm[:m]], R.X[perm[half:]]
        train_sub = self.train.X[np.random.default_rng([seed, 1]).choice(self.train.n, m, replace=False)]
        return (train_sub, held), memo_floor_sample


class SplitReferencePool:
    """The reference for samples anyone brings (not a run): the reference points R split in two disjoint halves
    by a seeded permutation — the first is the reference and the lumpiness cells, the second is cut into
    ``reps`` disjoint floor samples E_j (draws that shared points would spread less than an independent sample
    and flag exact samples) — and, given the generator's training points, memorisation (its floor bootstrapped
    from the second half, which neither the generator nor the reference saw).

    Parameters
    ----------
    reference : ndarray (n, m)
        Points of the data's law the samples are judged against, never trained on.
    train : ndarray (n_t, m) or None
        The points the generator was trained on (memorisation is measured only with them).
    seed : int
    reps : int
        Floor samples (disjoint).
    k : int
        Neighbours of the precision/recall balls: a floor sample needs at least 2k + 2 points.
    label : str
        What the reference points are, for the report.
    """

    fresh = False

    def __init__(self, reference, train=None, seed: int = 0, reps: int = 5, k: int = 5,
                 label: str = "the given reference points"):
        from vdae_core.foundation.validation import check_array

        R = check_array(reference, "reference points")
        need = 2 * int(reps) * (2 * k + 2)
        if len(R) < need:
            raise UserInputError(f"reference points: {len(R)} rows; a floor of {reps} draws needs at least {need} "
                                 f"(half of them are the reference, the other half gives {reps} disjoint floor "
                                 f"samples of at least {2 * k + 2} points)")
        self.reps = int(reps)
        self.seed = int(seed)
        perm = np.random.default_rng([self.seed, 0x5E1F]).permutation(len(R))
        half = len(R) // 2
        # both halves kept in the permutation's random order: the floor samples are consecutive runs of the second
        # and memorisation's held-out set the head of the first (a file sorted by angle must give no arcs)
        self.heldout = self.points_dataset("reference", R[perm[:half]])
        self.train = self.points_dataset("floor half of the reference", R[perm[half:]])
        self.generator_train = None
        if train is not None:
            T = check_array(train, "training points", width=R.shape[1])
            self.generator_train = T
        self.description = f"{label} ({self.heldout.n} of {len(R)}; floors drawn from the other {self.train.n})"

    @staticmethod
    def points_dataset(name: str, X: np.ndarray) -> Dataset:
        """Bare points (n, m) as a Dataset (no parameters)."""
        return Dataset(name, X, np.zeros((len(X), 0)), (), (), intrinsic_dim=min(2, X.shape[1]), source=name)

    @property
    def eval_size(self) -> int:
        """The size of each of the ``reps`` disjoint floor samples (generated points are subsampled to it)."""
        return self.train.n // self.reps

    def reference(self, n: int) -> Dataset:
        return self.heldout

    def floor_sample(self, n: int, j: int) -> Dataset:
        """The j-th of ``reps`` disjoint parts of the floor half, ``min(n, eval_size)`` points."""
        size = min(n, self.eval_size)
        return self.train.subset(np.arange(j * self.eval_size, j * self.eval_size + size))

    def cells(self, K: int, n_mass: int) -> Tuple[np.ndarray, np.ndarray]:
        return heldout_cells(self.heldout.X, K, self.seed)

    def coordinate_sample(self, n: int) -> Dataset:
        return self.heldout

    def memo_sets(self, R: Dataset, seed: int):
        """Memorisation sets (as :meth:`ReferencePool.memo_sets`), or (None, None) without training points."""
        if self.generator_train is None:
            return None, None
        T = self.generator_train
        m = min(R.n, len(T))
        train_sub = T[np.random.default_rng([seed, 1]).choice(len(T), m, replace=False)]
        return (train_sub, R.X[:m]), self.train.X


# ----------------------------------------------------------------------------------- diagnostics
class CoordinateLookup:
    """Intrinsic coordinates of arbitrary points: those of their nearest point of a law sample."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self._nn = NearestNeighbors(n_neighbors=1).fit(ds.X)

    def coords(self, Y: np.ndarray) -> np.ndarray:
        return self.ds.params[self._nn.kneighbors(np.asarray(Y, dtype=np.float64))[1][:, 0]]

    def ks(self, Y: np.ndarray, ref: Dataset) -> Dict[str, float]:
        """Two-sample KS statistic per continuous coordinate of ``Y`` against the reference's."""
        C = self.coords(Y)
        out = {}
        for j, name in enumerate(ref.param_names):
            if np.unique(ref.params[:, j]).size > 20:  # labels and other discrete columns are not compared
                out[f"ks_{name}"] = float(stats.ks_2samp(C[:, j], ref.params[:, j]).statistic)
        return out


# ----------------------------------------------------------------------------------- the protocol
def _floor(values: List[Dict[str, float]]) -> Dict[str, Tuple[float, float]]:
    return {key: (float(np.mean([v[key] for v in values])), float(np.std([v[key] for v in values], ddof=1)))
            for key in values[0]}


def flagged(key: str, value: float, mean: float, sd: float) -> bool:
    """Whether ``value`` lies more than 3 floor sds on the bad side of the floor's mean (KS: higher is bad; a
    ``match`` metric, a Betti number, on either side, and at least half a unit away)."""
    spec = spec_of(key)
    better = spec.better if spec is not None else "lower"
    tol = 3.0 * max(sd, 1e-12)
    if not np.isfinite(value):
        return True
    if better == "lower":
        return value > mean + tol
    if better == "higher":
        return value < mean - tol
    if better == "match":
        return abs(value - mean) > max(tol, 0.5)
    return abs(value - mean) > tol


#: Floors already computed in this process (oldest dropped beyond 64), keyed by everything they depend on.
_FLOOR_CACHE: Dict[tuple, Dict[str, Tuple[float, float]]] = {}


#: Bump when a metric or its floor changes, so that floors stored on disk by older code are not reused.
FLOOR_VERSION = 4  # 2: Betti numbers and bottleneck distances; 3: off_data; 4: robust gw, gw_paper


def _floor_path(floor_dir: Optional[str], fkey: tuple) -> Optional[str]:
    if not floor_dir:
        return None
    digest = hashlib.sha256(json.dumps([FLOOR_VERSION, *fkey], default=str).encode()).hexdigest()[:24]
    return os.path.join(floor_dir, f"floor_{digest}.json")


def _read_floor(floor_dir: Optional[str], fkey: tuple) -> Optional[Dict[str, Tuple[float, float]]]:
    """A floor stored by another process of the same sweep, or None (absent or unreadable: recomputed)."""
    path = _floor_path(floor_dir, fkey)
    if path is None or not os.path.isfile(path):
        return None
    try:
        with open(path) as fh:
            return {key: (float(m), float(s)) for key, (m, s) in json.load(fh).items()}
    except (OSError, ValueError, TypeError):
        return None


def _write_floor(floor_dir: Optional[str], fkey: tuple, floor: Dict[str, Tuple[float, float]]) -> None:
    """Store ``floor`` atomically (temporary file, then rename); a failure only costs a recomputation."""
    path = _floor_path(floor_dir, fkey)
    if path is None:
        return
    try:
        os.makedirs(floor_dir, exist_ok=True)
        write_json_atomic(path, {key: [m, s] for key, (m, s) in floor.items()})
    except OSError:
        pass


def evaluate_samples(G: np.ndarray, pool: ReferencePool, n: int = 1000, reps: int = 5, k: int = 5, seed: int = 0,
                     with_gw: bool = True, floor_dir: Optional[str] = None,
                     with_topology: bool = True, with_gw_paper: bool = False) -> Dict[str, Any]:
    """Protocol metrics of the generated points ``G`` (M, m), each with its floor.

    Floors do not depend on the model, so they are kept per process and, with ``floor_dir``, in that folder
    too, where the other worker processes of a sweep find them.

    Returns
    -------
    dict
        ``reference`` (str), ``n_generated``, ``n_reference``, ``reps``; ``metrics``: key -> ``{"value",
        "floor_mean", "floor_sd", "flagged"}`` for every sample metric of the list (``gw`` only with
        ``with_gw``) and ``ks_<coordinate>`` per continuous intrinsic coordinate.
    """
    G = np.asarray(G, dtype=np.float64)
    if G.ndim != 2 or G.shape[1] != pool.train.ambient_dim:
        raise UserInputError(f"generated points must have shape (M, {pool.train.ambient_dim}), got {G.shape}")
    if not np.isfinite(G).all():
        raise UserInputError(f"{int((~np.isfinite(G)).any(1).sum())} of {len(G)} generated points are NaN or inf")
    if reps < 2:
        raise UserInputError(f"reps must be at least 2 (a floor needs a spread), got {reps}")
    if pool.eval_size is not None and len(G) > pool.eval_size:
        # Floor samples come from the training points: compare at one size at which they can differ.
        G = G[np.random.default_rng([seed, 2]).choice(len(G), pool.eval_size, replace=False)]
    if len(G) < 2 * k + 2:
        raise UserInputError(f"too few points to evaluate: {len(G)} generated (at most half the training points "
                             f"of a finite dataset); need at least {2 * k + 2}")
    R = pool.reference(n)
    K = max(20, min(len(G), len(R.X)) // 25)
    centres, masses = pool.cells(K, max(20 * n, 20_000))
    lookup = CoordinateLookup(pool.coordinate_sample(max(20 * n, 20_000)))
    h = float(np.median(_pdist_sample(R.X, seed)))
    # Memorisation: training and held-out sets of one size; its floor needs a law sample independent of both.
    memo, memo_floor_sample = pool.memo_sets(R, seed)
    ctx = SampleContext(R, centres, masses, lookup, memo, h, k, seed)
    value = sample_metrics(G, ctx, with_gw, with_topology, with_gw_paper)
    # The floor does not depend on the model: runs of one dataset, seed and size (a comparison's models) share it.
    memo_key = "" if memo is None else hashlib.sha256(np.ascontiguousarray(memo[0]).tobytes()).hexdigest()[:16]
    fkey = (pool.train.content_hash, pool.description, pool.seed, int(len(G)), int(reps), int(k), int(seed),
            bool(with_gw), int(n), bool(with_topology), memo_key, bool(with_gw_paper))
    current = _FLOOR_CACHE.get(fkey)  # held locally: another session's thread may evict the entry meanwhile
    if current is None:
        stored = _read_floor(floor_dir, fkey)
        if stored is None:
            floors = []
            for j in range(reps):
                E = pool.floor_sample(len(G), j).X
                floors.append(sample_metrics(E, ctx, with_gw, with_topology, with_gw_paper))
            stored = _floor(floors)
            _write_floor(floor_dir, fkey, stored)
        if len(_FLOOR_CACHE) >= 64:
            _FLOOR_CACHE.pop(next(iter(_FLOOR_CACHE)))
        _FLOOR_CACHE[fkey] = current = stored
    elif floor_dir and not os.path.isfile(_floor_path(floor_dir, fkey)):
        _write_floor(floor_dir, fkey, current)  # computed here for another sweep: share it too
    fl = dict(current)
    if memo is not None and memo_floor_sample is not None:  # one held-out half: its spread by the bootstrap
        fl["memorisation"] = _bootstrap_memo(memo_floor_sample, memo, seed, len(G))
    metrics = {key: {"value": value[key], "floor_mean": fl[key][0], "floor_sd": fl[key][1],
                     "flagged": flagged(key, value[key], *fl[key])} for key in value}
    return {"reference": pool.description, "n_generated": int(len(G)), "n_reference": int(R.n), "reps": int(reps),
            "bandwidth_h": h, "cells": int(len(centres)), "prdc_k": int(k), "metrics": metrics}


def _bootstrap_memo(S: np.ndarray, memo, seed: int, size: int, reps: int = 50) -> Tuple[float, float]:
    """Mean and sd of the memorisation ratio of bootstrap resamples of ``S`` of the generated sample's
    ``size`` (the spread of a median depends on how many points it is taken over)."""
    from vdae_core.metrics.coverage import memorisation_ratio

    rng = np.random.default_rng(seed)
    vals = [memorisation_ratio(S[rng.integers(0, len(S), size)], *memo) for _ in range(reps)]
    return float(np.mean(vals)), float(np.std(vals, ddof=1))


def _pdist_sample(X: np.ndarray, seed: int, n: int = 1000) -> np.ndarray:
    from scipy.spatial.distance import pdist

    idx = np.random.default_rng(seed).choice(len(X), min(n, len(X)), replace=False)
    return pdist(X[idx])


def evaluate_run(run, n_samples: int = 1000, reps: int = 5, k: int = 5, seed: int = 0,
                 with_gw: bool = True, floor_dir: Optional[str] = None, with_topology: bool = True,
                 with_gw_paper: bool = False) -> Dict[str, Any]:
    """The protocol on a trained run: ``n_samples`` points of ``run.model.sample`` against its reference.

    Returns the dict of :func:`evaluate_samples` plus ``sampler`` (how the model generated them).
    """
    import torch

    pool = ReferencePool(run.dataset, run.data_config, getattr(run, "heldout", None), seed=seed)
    G = run.model.sample(int(n_samples), torch.Generator().manual_seed(int(seed)))
    out = evaluate_samples(np.asarray(G), pool, n=n_samples, reps=reps, k=k, seed=seed, with_gw=with_gw,
                           floor_dir=floor_dir, with_topology=with_topology, with_gw_paper=with_gw_paper)
    out["sampler"] = getattr(run.model, "sampler_description", "the model's own sampler")
    return out


# ----------------------------------------------------------------------------------- mixing
def mixing_from_one_start(run, start: int = 0, n_walkers: int = 1000, max_steps: int = 50, seed: int = 0,
                          floor_reps: int = 20) -> Dict[str, Any]:
    """Steps until the walk from one start point looks like the data's law.

    All ``n_walkers`` walkers start at training point ``start``. At every step, the two-sample KS of each
    continuous intrinsic coordinate (walkers take their nearest reference point's coordinates) and the
    MMD² at the reference's median bandwidth are measured against a held-out reference; the floor of each
    is the 95% quantile of the same statistic for ``floor_reps`` exact samples of ``n_walkers`` points.

    Returns
    -------
    dict
        ``curves``: statistic -> list (max_steps + 1,); ``floor_q95``: statistic -> float;
        ``mixing_step``: statistic -> first step inside the floor (None if never within ``max_steps``);
        ``start``, ``n_walkers``, ``reference``.
    """
    from vdae_core.metrics.mmd import mmd
    from vdae_core.pipeline.sampling import random_walk

    pool = ReferencePool(run.dataset, run.data_config, getattr(run, "heldout", None), seed=seed)
    if pool.eval_size is not None:
        n_walkers = min(int(n_walkers), pool.eval_size)
    R = pool.reference(max(n_walkers, 1000))
    lookup = CoordinateLookup(pool.coordinate_sample(max(20 * n_walkers, 20_000)))
    h = float(np.median(_pdist_sample(R.X, seed)))

    def stats_of(Y):
        out = lookup.ks(Y, R)
        out["mmd2"] = float(mmd(Y, R.X, bandwidth=h)["mmd2"])
        return out

    walk = random_walk(run.model, run.dataset.X, int(n_walkers), int(max_steps), start=int(start), seed=seed)
    curves: Dict[str, List[float]] = {}
    for t in range(walk.shape[0]):
        for key, v in stats_of(walk[t]).items():
            curves.setdefault(key, []).append(v)
    floor_vals = [stats_of(pool.floor_sample(n_walkers, 100 + j).X) for j in range(floor_reps)]
    q95 = {key: float(np.quantile([f[key] for f in floor_vals], 0.95)) for key in curves}
    step = {key: next((t for t, v in enumerate(curves[key]) if v <= q95[key]), None) for key in curves}
    return {"curves": curves, "floor_q95": q95, "mixing_step": step, "start": int(start), "n_walkers": int(n_walkers),
            "reference": pool.description}


def evaluate(run, n_samples: int = 1000, k: int = 10, seed: int = 0, reps: int = 5, with_gw: bool = True,
             floor_dir: Optional[str] = None, with_gw_paper: bool = False):
    """Everything ``evaluate``, ``compare`` and the app report for one run, as one flat JSON-ready dict.

    Encoder metrics (bi-Lipschitz, trustworthiness, continuity over ``k`` neighbours) come from
    :func:`vdae_core.metrics.evaluate.evaluate_model` on a seeded subset of the training points, where the
    model declares an encoder. Sample metrics come from :func:`evaluate_run` against the held-out reference:
    for each sample metric of :data:`~vdae_core.study.metric_specs.METRIC_SPECS` (``ks_<coordinate>`` included),
    ``<key>`` (value), ``<key>_floor``,
    ``<key>_floor_sd`` and ``<key>_flagged``. ``floor_dir``: a folder where floors are shared between
    processes (a sweep's workers), see :func:`evaluate_samples`. ``with_gw_paper``: also the max-normalised GW
    of the VDAE paper's code (``gw_paper``, beside Table 1's numbers; it doubles the evaluation's time).

    Returns
    -------
    summary : dict
        Plus ``reference``, ``sampler``, ``bandwidth_h``, ``n_samples``, ``n_reference``, ``k``, ``seed``,
        ``reps``; ``encoder_note`` where the model has no encoder.
    per_point_bilip_raw : ndarray (n_used,) or None
    """
    from vdae_core.metrics.evaluate import evaluate_model

    summary: Dict[str, Any] = {}
    per_point = None
    if getattr(run.model, "has_encoder", True):  # without a decoder: bi-Lipschitz of the map X -> Z itself
        enc, per_point = evaluate_model(run.model, run.dataset.X, seed=seed, n_samples=n_samples, k=k,
                                        with_samples=False)
        summary.update({key: enc[key] for key in ENCODER_METRICS})
    elif getattr(run.model, "has_decoder", True):
        # A generator without an encoder (WGAN-GP): bi-Lipschitz of the generator over noise-space neighbours,
        # as the VDAE paper measures its GAN; there are no codes of data points for trustworthiness/continuity.
        per_point = generator_bilipschitz(run.model, run.dataset.X, n_samples, k, seed, summary)
        summary["encoder_note"] = run.model.lacks(
            "has_encoder", "bi-Lipschitz measured on the generator over noise-space neighbours; "
            "no trustworthiness or continuity")
    else:
        summary["encoder_note"] = run.model.lacks("has_decoder", "no bi-Lipschitz, trustworthiness or continuity")
    if not getattr(run.model, "has_sampler", True):  # an encoder only: the map's metrics, no sample metrics
        summary["sampler_note"] = run.model.lacks("has_sampler", "no sample metrics; the map's are above")
        summary.update({"n_samples": int(n_samples), "k": int(k), "seed": int(seed), "reps": int(reps)})
        return summary, per_point
    res = evaluate_run(run, n_samples=n_samples, reps=reps, k=5, seed=seed, with_gw=with_gw, floor_dir=floor_dir,
                       with_gw_paper=with_gw_paper)
    summary.update(flat_metrics(res))
    summary.update({"reference": res["reference"], "sampler": res["sampler"], "bandwidth_h": res["bandwidth_h"],
                    "n_samples": int(n_samples), "n_generated": res["n_generated"], "n_reference": res["n_reference"],
                    "k": int(k), "prdc_k": res["prdc_k"], "seed": int(seed), "reps": int(reps)})
    return summary, per_point


def flat_metrics(res: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`evaluate_samples`' metrics as flat keys: ``<key>``, ``<key>_floor``, ``<key>_floor_sd``, ``<key>_flagged``."""
    out: Dict[str, Any] = {}
    for key, e in res["metrics"].items():
        out[key] = e["value"]
        out[f"{key}_floor"], out[f"{key}_floor_sd"], out[f"{key}_flagged"] = (
            e["floor_mean"], e["floor_sd"], bool(e["flagged"]))
    return out


def evaluate_points(samples, reference, train=None, seed: int = 0, reps: int = 5, k: int = 5,
                    with_gw: bool = True, with_gw_paper: bool = False,
                    label: str = "the given reference points") -> Dict[str, Any]:
    """The protocol on samples from any model: ``samples`` (M, m) against ``reference`` (n, m), points of the law
    never trained on; floors from a disjoint half of the reference (:class:`SplitReferencePool`); memorisation
    only with the generator's ``train`` points (n_t, m).

    Returns
    -------
    dict
        The sample keys of :func:`evaluate`'s summary: ``<key>``, ``<key>_floor``, ``<key>_floor_sd`` and
        ``<key>_flagged`` per metric, plus ``reference``, ``bandwidth_h``, ``n_generated``, ``n_reference``,
        ``prdc_k``, ``seed``, ``reps``.

    Raises
    ------
    UserInputError
        Widths differ, too few reference points for a floor, NaN or inf rows, a non-numeric array.
    """
    from vdae_core.foundation.validation import check_array

    pool = SplitReferencePool(reference, train, seed=seed, reps=reps, k=k, label=label)
    G = check_array(samples, "samples", width=pool.train.ambient_dim)
    res = evaluate_samples(G, pool, n=len(G), reps=reps, k=k, seed=seed, with_gw=with_gw, with_gw_paper=with_gw_paper)
    summary = flat_metrics(res)
    summary.update({"reference": res["reference"], "bandwidth_h": res["bandwidth_h"], "n_generated": res["n_generated"],
                    "n_reference": res["n_reference"], "prdc_k": res["prdc_k"], "seed": int(seed), "reps": int(reps)})
    if train is None:
        summary["memorisation_note"] = "no training points given (--train): memorisation not measured"
    return summary


def generator_bilipschitz(model, X, n: int, k: int, seed: int, summary: Dict[str, Any]) -> np.ndarray:
    """Bi-Lipschitz of a generator without encoder over its noise-space neighbours
    (:func:`vdae_core.study.analysis.per_point_bilipschitz`, the Bi-Lipschitz page's numbers); fills the ``bilip_*``
    keys of ``summary`` and returns the raw per-point constants (n,)."""
    from vdae_core.study.analysis import per_point_bilipschitz
    from vdae_core.metrics.bilipschitz import bilipschitz_summary

    res = per_point_bilipschitz(model, X, k=int(k), n_points=int(n), seed=int(seed))
    s_raw, s_free = bilipschitz_summary(res.raw), bilipschitz_summary(res.scale_free)
    summary.update({"bilip_median": s_raw["median"], "bilip_mean": s_raw["mean"],
                    "bilip_scale_free_median": s_free["median"], "bilip_scale_free_mean": s_free["mean"]})
    return res.raw


def format_with_floor(entry: Dict[str, Any]) -> str:
    """``"value (floor mean ± sd)"`` with a ⚑ when flagged, for tables."""
    v, m, s = entry["value"], entry["floor_mean"], entry["floor_sd"]
    return f"{v:.3g} ({m:.3g} ± {s:.2g})" + (" ⚑" if entry["flagged"] else "")

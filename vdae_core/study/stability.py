"""Seed stability (issue 14, part 4): is a tear or a distortion a property of the model family or of one run?

The same model is trained on the same dataset with seeds 0..K−1 through the comparison's sweep (cached,
resumable, parallel: :func:`vdae_core.study.compare.compare_rows`). Every run is then read on one **common** set of
points P (a fresh sample of the dataset's law with a seed no run trained on), so that point i means the same
place on the data for every seed:

* the scale-free bi-Lipschitz constant K_s(i) of each run's decoder around the code of P_i;
* the tears at P_i (torn data-neighbour edges of :func:`vdae_core.metrics.tears.tears_and_folds`).

Per point: the coefficient of variation of K over the seeds (std / mean; 0 = every seed distorts there
alike), and the share of seeds torn there (0 or 1 everywhere = the same tear map every time). Per summary
metric of the evaluation: mean, std, min and max over the seeds.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError

#: Seed of the common point set (kept away from the seeds runs are trained with).
COMMON_SEED = 917_000


@dataclasses.dataclass
class Stability:
    """Per-point and per-metric variability of one model on one dataset over seeds.

    Attributes
    ----------
    points : ndarray (n, m)
        The common points P.
    bilip : ndarray (K, n)
        Scale-free bi-Lipschitz constant of each seed's decoder at each point (inf where two codes decode alike).
    torn : ndarray (K, n) bool
        Whether each seed tears at each point.
    metrics : dict
        Summary metric -> {"mean", "std", "min", "max", "values"} over the seeds.
    """

    dataset: str
    model: str
    seeds: List[int]
    points: np.ndarray
    bilip: np.ndarray
    torn: np.ndarray
    metrics: Dict[str, Dict[str, Any]]

    @property
    def bilip_cv(self) -> np.ndarray:
        """Coefficient of variation (n,) of the bi-Lipschitz constant over the seeds (finite values only)."""
        B = np.where(np.isfinite(self.bilip), self.bilip, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nanstd(B, axis=0, ddof=1) / np.nanmean(B, axis=0)

    @property
    def tear_share(self) -> np.ndarray:
        """Share (n,) of the seeds that tear at each point."""
        return self.torn.mean(axis=0)

    def summary(self) -> Dict[str, Any]:
        share = self.tear_share
        cv = self.bilip_cv
        return {"dataset": self.dataset, "model": self.model, "seeds": self.seeds, "n_points": int(len(self.points)),
                "bilip_cv_median": float(np.nanmedian(cv)), "bilip_cv_p90": float(np.nanquantile(cv, 0.9)),
                "torn_points_per_seed": [int(t.sum()) for t in self.torn],
                "points_torn_by_every_seed": int((share == 1).sum()),
                "points_torn_by_some_seeds": int(((share > 0) & (share < 1)).sum()),
                "metrics": self.metrics}


def stability_of_runs(runs: List[Any], rows: List[Dict[str, Any]], points: np.ndarray, k: int = 10) -> Stability:
    """Read already trained ``runs`` (same model and dataset, one per seed) on the common ``points`` (n, m)."""
    from vdae_core.study.analysis import per_point_bilipschitz
    from vdae_core.study.metric_specs import METRIC_COLUMNS
    from vdae_core.metrics.tears import tears_and_folds

    if len(runs) < 2:
        raise UserInputError("seed stability needs at least 2 seeds")
    P = np.asarray(points, dtype=np.float32)
    bilip, torn = [], []
    for run in runs:
        if not run.model.has_encoder:
            raise UserInputError(run.model.lacks("has_encoder", "its per-point maps are read at the codes of "
                                                                "common data points, and it has none"))
        b = per_point_bilipschitz(run.model, P, k=k, n_points=len(P), seed=0)
        if not np.array_equal(b.idx, np.arange(len(P))):
            raise RuntimeError("per_point_bilipschitz did not keep the common points in order")
        bilip.append(np.asarray(b.scale_free, dtype=np.float64))
        tf = tears_and_folds(P, b.z, k=k, max_points=len(P))  # b.z: the codes of P, in order
        torn.append(tf.per_point()["tears"] > 0)
    metrics = {}
    for key in METRIC_COLUMNS:
        vals = [float(r[key]) for r in rows if isinstance(r.get(key), (int, float)) and np.isfinite(r[key])]
        if len(vals) == len(rows):
            metrics[key] = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)),
                            "min": float(np.min(vals)), "max": float(np.max(vals)), "values": vals}
    first = runs[0]
    return Stability(first.data_config.dataset, first.model_name, [int(r.seed) for r in runs], P.astype(np.float64),
                     np.stack(bilip), np.stack(torn), metrics)


def seed_stability(dataset: str, model: str, seeds: int = 5, n_points: int = 1000, k: int = 10,
                   cache: Optional[str] = None, workers: int = 1, steps_scale: float = 1.0, n_train: int = 2000,
                   progress: Optional[Callable[[int, int, Dict], None]] = None, batch_seeds: bool = False) -> Stability:
    """Train (or reuse from ``cache``) ``model`` on ``dataset`` with seeds 0..seeds−1 and measure its stability."""
    from vdae_core.study.compare import compare_rows
    from vdae_core.data import DataConfig, make_dataset
    from vdae_core.pipeline.runs import load_run

    if seeds < 2:
        raise UserInputError("seed stability needs at least 2 seeds")
    rows = compare_rows([dataset], [model], int(seeds), steps_scale=steps_scale, n_points=n_train, cache=cache,
                        workers=workers, progress=progress, batch_seeds=batch_seeds)
    rows = sorted(rows, key=lambda r: r["seed"])
    runs = [load_run(r["path"]) for r in rows]
    P = make_dataset(DataConfig(dataset=dataset, n=int(n_points), seed=COMMON_SEED)).X
    return stability_of_runs(runs, rows, P, k=k)


def stability_candidates(infos: List[Any], info: Any) -> List[Any]:
    """The runs among ``infos`` (:class:`vdae_core.pipeline.run_index.RunInfo`) that train the same model as ``info`` on the
    same dataset with the same latent dimension and number of points, one per seed (the newest), none that stopped
    early, ordered by seed — the runs a seed-stability reading of ``info`` can compare."""
    best: Dict[int, Any] = {}
    for r in infos:
        if (r.model, r.dataset, r.latent_dim, r.n) == (info.model, info.dataset, info.latent_dim, info.n) \
                and not r.stopped_early and (r.seed not in best or r.mtime > best[r.seed].mtime):
            best[r.seed] = r
    return [best[s] for s in sorted(best)]


def stability_of_paths(paths: List[str], n_points: int = 1000, k: int = 10, n_samples: int = 1000) -> Stability:
    """:func:`stability_of_runs` of saved runs (one model, one built-in dataset, one per seed) on a fresh common
    point set; the metric spread uses each run's cached evaluation (``n_samples``, ``k``, its own seed: the
    Compare page's defaults) where every run has one."""
    from vdae_core.data import DataConfig, make_dataset
    from vdae_core.data.split import has_fresh_samples
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.evaluation_cache import read_cached_evaluation

    runs = [load_run(p) for p in paths]
    name = runs[0].data_config.dataset
    if not has_fresh_samples(name):
        raise UserInputError(f"seed stability reads every seed on fresh points of the data's law, and '{name}' is a "
                             f"file: it has none")
    rows = [dict(read_cached_evaluation(p, n_samples, k, r.seed) or {}) for p, r in zip(paths, runs)]
    P = make_dataset(DataConfig(dataset=name, n=int(n_points), seed=COMMON_SEED)).X
    return stability_of_runs(runs, rows, P, k=k)

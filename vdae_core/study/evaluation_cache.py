"""A saved run's evaluation summaries, cached in ``<run>/ui_metrics.json`` by their parameters."""
from __future__ import annotations

import json
import os
from typing import Dict, Optional

import numpy as np

from vdae_core.foundation.files import write_json_atomic
from vdae_core.pipeline.runs import Run
from vdae_core.study.evaluation import evaluate

UI_METRICS_FILE = "ui_metrics.json"


#: Bumped when the evaluation changes meaning (2: samples against held-out data, with floors), so older
#: cached numbers are recomputed rather than shown as if they were today's.
EVALUATION_VERSION = 7  # 3: Betti numbers and bottleneck distances of the samples; 4: the subsample stops once covered;
#                          5: off_data; 6: robust gw beside gw_paper, off_data counts outliers;
#                          7: memorisation's held-out set a random half of a file's split


def _metrics_key(n_samples: int, k: int, seed: int) -> str:
    return f"v{EVALUATION_VERSION}_n{int(n_samples)}_k{int(k)}_s{int(seed)}"


def _read_ui_metrics(run_path: str) -> Dict:
    """The run's ``ui_metrics.json`` (summaries keyed by :func:`_metrics_key`), or {} if absent or unreadable."""
    try:
        with open(os.path.join(run_path, UI_METRICS_FILE)) as fh:
            cache = json.load(fh)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def read_cached_evaluation(run_path: str, n_samples: int = 1000, k: int = 10, seed: int = 0) -> Optional[Dict]:
    """The summary :func:`evaluate_run_cached` stored for these parameters, or None."""
    return _read_ui_metrics(run_path).get(_metrics_key(n_samples, k, seed))


def evaluate_run_cached(run_path: str, run: Run, n_samples: int = 1000, k: int = 10, seed: int = 0,
                        floor_dir: Optional[str] = None) -> Dict:
    """:func:`vdae_core.study.evaluation.evaluate` summary of a saved run, cached in ``<run>/ui_metrics.json`` by
    its parameters (and :data:`EVALUATION_VERSION`); ``floor_dir`` as in :func:`vdae_core.study.evaluation.evaluate`."""
    cached = read_cached_evaluation(run_path, n_samples, k, seed)
    if cached is not None:
        return cached
    summary, _ = evaluate(run, n_samples=int(n_samples), k=int(k), seed=int(seed), floor_dir=floor_dir)
    return store_evaluation(run_path, summary, n_samples, k, seed)


def store_evaluation(run_path: str, summary: Dict, n_samples: int, k: int, seed: int) -> Dict:
    """Keep an :func:`vdae_core.study.evaluation.evaluate` summary (5 floor draws) in ``<run>/ui_metrics.json`` under
    its parameters, where the Compare page finds it; returns it JSON-ready (non-finite floats as strings).
    A read-only run folder keeps nothing and is not an error."""
    summary = {key_: (str(v) if isinstance(v, float) and not np.isfinite(v) else v) for key_, v in summary.items()}
    cache = _read_ui_metrics(run_path)
    cache[_metrics_key(n_samples, k, seed)] = summary
    path = os.path.join(run_path, UI_METRICS_FILE)
    try:
        write_json_atomic(path, cache, indent=1)
    except OSError:
        pass  # a read-only run folder still gets its numbers, just not cached on disk
    return summary

"""The held-out split policy: which points of a dataset evaluation keeps out of training."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from vdae_core.data.base import DataConfig, Dataset
from vdae_core.foundation.registry import DATASETS

#: Fewest held-out points worth keeping (below, every point goes to training and evaluation says why).
MIN_HELDOUT = 20


def has_fresh_samples(dataset: str) -> bool:
    """Whether a dataset name gives an unlimited supply of independent samples (a generator or a surface),
    as opposed to a file or a registered set that subsamples a fixed pool (``finite=True``, the image sets)."""
    return dataset in DATASETS and not DATASETS.tags(dataset).get("finite", False)


def split_heldout(ds: Dataset, data_config: DataConfig) -> Tuple[Dataset, Optional[Dataset]]:
    """Training and held-out parts of a finite dataset (a file, or a registered fixed pool such as MNIST):
    ``data_config.holdout`` of the points, drawn with ``data_config.seed``, are held out, when that makes at
    least :data:`MIN_HELDOUT` points.

    Datasets with fresh samples are returned whole with ``None``: their held-out reference is a fresh sample.
    """
    k = int(round(data_config.holdout * ds.n))
    if has_fresh_samples(data_config.dataset) or k < MIN_HELDOUT or ds.n - k < MIN_HELDOUT:
        return ds, None
    perm = np.random.default_rng([int(data_config.seed), 0x4E1D]).permutation(ds.n)
    return ds.subset(np.sort(perm[k:])), ds.subset(np.sort(perm[:k]))

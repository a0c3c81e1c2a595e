"""Building a registered model from its config overrides and the data (sizes, latent dimension, network family)."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from vdae_core.data import Dataset
from vdae_core.foundation.registry import MODELS
from vdae_core.foundation.runtime import choose_device
from vdae_core.models.base import GenerativeModel, ModelConfig, seeded_init
from vdae_core.models.networks import resolve_network

def build_model(model_name: str, overrides: Optional[Dict] = None, dataset: Optional[Dataset] = None,
                data_shape=None, latent_dim: Optional[int] = None, seed: int = 0) -> GenerativeModel:
    """Instantiate a registered model from config overrides, resolving its sizes from the dataset.

    The weights are initialised from ``seed`` inside :func:`torch.random.fork_rng` under a lock, so the same
    config and seed give the same model whatever other threads (Streamlit sessions) do with the global RNG,
    and the caller's RNG state is left as it was.
    """
    cls = MODELS.get(model_name)
    cfg: ModelConfig = cls.config_class.from_dict(dict(overrides or {}))
    if dataset is not None:
        data_shape = dataset.data_shape
        asked = []

        def from_data() -> int:  # called only when the config leaves D to the data
            asked.append(dataset.latent_dim_choice())
            return int(asked[-1].dim)

        latent_dim = cls.latent_dim_for(cfg, from_data, dataset.n)
        cls.check_data(cfg, dataset.n)
    if data_shape is not None and cfg.network == "auto":  # the run records the family it was built with
        device = str(choose_device(cfg.device))
        cfg = cfg.replace(network=resolve_network("auto", tuple(np.atleast_1d(data_shape)), device))
    with seeded_init(seed):
        model = cls(cfg, data_shape, latent_dim or 0)
    if dataset is not None and asked:  # how D was chosen, kept in the run's info (run.json)
        model.latent_dim_rule = {"reason": asked[-1].reason, **asked[-1].to_dict()}
    return model

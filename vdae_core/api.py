"""The public API shared by the CLI and the Streamlit app. Importing it registers everything."""
from __future__ import annotations

from vdae_core import data as _data  # noqa: F401
from vdae_core import models as _models  # noqa: F401
from vdae_core.data import DataConfig, Dataset, Mesh, make_dataset, read_points
from vdae_core.foundation.errors import TrainingDiverged, UserInputError
from vdae_core.geometry.diffusion_maps import DiffusionMap, canonical_correlations, diffusion_map
from vdae_core.models.base import GenerativeModel, ModelConfig
from vdae_core.geometry.manifolds import MANIFOLDS, Manifold
from vdae_core.foundation.registry import DATASETS, EMBEDDERS, METRICS, MODELS
from vdae_core.pipeline.runs import Run, build_model, list_runs, load_run, save_run, train_run
from vdae_core.foundation.runtime import choose_device, device_summary, seed_everything
from vdae_core.pipeline.sampling import burst, prior_samples, random_walk
from vdae_core.training.trainer import History, Progress, Trainer

try:  # metrics and embeddings register themselves on import
    from vdae_core.study import embeddings as _embeddings  # noqa: F401
    from vdae_core import metrics as _metrics  # noqa: F401
except ImportError:  # pragma: no cover - only while the metrics package is being written
    pass

__all__ = [
    "DataConfig", "Dataset", "Mesh", "make_dataset", "read_points", "TrainingDiverged", "UserInputError",
    "DiffusionMap", "canonical_correlations", "diffusion_map", "GenerativeModel", "ModelConfig",
    "DATASETS", "EMBEDDERS", "MANIFOLDS", "Manifold", "METRICS", "MODELS", "Run", "build_model", "list_runs", "load_run", "save_run",
    "train_run", "choose_device", "device_summary", "seed_everything", "burst", "prior_samples",
    "random_walk", "History", "Progress", "Trainer",
]

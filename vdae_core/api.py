"""The public API shared by the CLI and the Streamlit app. Importing it registers everything."""
from __future__ import annotations

from . import data as _data  # noqa: F401
from . import models as _models  # noqa: F401
from .data import DataConfig, Dataset, Mesh, make_dataset, read_points
from .errors import TrainingDiverged, UserInputError
from .geometry.diffusion_maps import DiffusionMap, canonical_correlations, diffusion_map
from .models.base import GenerativeModel, ModelConfig
from .geometry.manifolds import MANIFOLDS, Manifold
from .registry import DATASETS, EMBEDDERS, METRICS, MODELS
from .runs import Run, build_model, list_runs, load_run, save_run, train_run
from .runtime import choose_device, device_summary, seed_everything
from .sampling import burst, prior_samples, random_walk
from .training import History, Progress, Trainer

try:  # metrics and embeddings register themselves on import
    from . import embeddings as _embeddings  # noqa: F401
    from . import metrics as _metrics  # noqa: F401
except ImportError:  # pragma: no cover - only while the metrics package is being written
    pass

__all__ = [
    "DataConfig", "Dataset", "Mesh", "make_dataset", "read_points", "TrainingDiverged", "UserInputError",
    "DiffusionMap", "canonical_correlations", "diffusion_map", "GenerativeModel", "ModelConfig",
    "DATASETS", "EMBEDDERS", "MANIFOLDS", "Manifold", "METRICS", "MODELS", "Run", "build_model", "list_runs", "load_run", "save_run",
    "train_run", "choose_device", "device_summary", "seed_everything", "burst", "prior_samples",
    "random_walk", "History", "Progress", "Trainer",
]

"""The public API shared by the CLI and the Streamlit app (registries fill themselves on first lookup)."""
from __future__ import annotations

from vdae_core.data import DataConfig, Dataset, Mesh, make_dataset, read_points
from vdae_core.foundation.errors import TrainingDiverged, UserInputError
from vdae_core.geometry.diffusion_maps import DiffusionMap, canonical_correlations, diffusion_map
from vdae_core.models.base import GenerativeModel, ModelConfig
from vdae_core.geometry.manifolds import MANIFOLDS, Manifold
from vdae_core.foundation.registry import DATASETS, EMBEDDERS, METRICS, MODELS
from vdae_core.pipeline.runs import Run, list_runs, load_run, save_run
from vdae_core.pipeline.build import build_model
from vdae_core.pipeline.train import train_run
from vdae_core.foundation.runtime import choose_device, device_summary
from vdae_core.pipeline.sampling import burst, prior_samples, random_walk
from vdae_core.training.trainer import History, Progress, Trainer

__all__ = [
    "DataConfig", "Dataset", "Mesh", "make_dataset", "read_points", "TrainingDiverged", "UserInputError",
    "DiffusionMap", "canonical_correlations", "diffusion_map", "GenerativeModel", "ModelConfig",
    "DATASETS", "EMBEDDERS", "MANIFOLDS", "Manifold", "METRICS", "MODELS", "Run", "build_model", "list_runs", "load_run", "save_run",
    "train_run", "choose_device", "device_summary", "burst", "prior_samples",
    "random_walk", "History", "Progress", "Trainer",
]

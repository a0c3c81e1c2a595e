"""Run folders: everything needed to restore a trained model exactly.

Layout of a run folder::

    run.json        model name, model config, data config, seed, latent_dim, versions, timings
    weights.pt      the model's state_dict (CPU tensors)
    history.json    loss terms per step and phase
    data.npz        the training points X and ground-truth params (so a run is self-contained even
                    for uploaded data)
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from . import data as _data  # noqa: F401  (registers datasets)
from . import models as _models  # noqa: F401  (registers models)
from .data import DataConfig, Dataset, make_dataset
from .errors import UserInputError
from .models.base import GenerativeModel, ModelConfig, resolve_latent_dim
from .registry import MODELS
from .runtime import seed_everything
from .training import History, Trainer

RUN_FILES = ("run.json", "weights.pt", "history.json", "data.npz")


@dataclasses.dataclass
class Run:
    """A trained model with its data and history."""

    model: GenerativeModel
    model_name: str
    data_config: DataConfig
    dataset: Dataset
    seed: int
    history: History
    path: Optional[str] = None
    info: Dict = dataclasses.field(default_factory=dict)
    #: The owner id of the browser whose upload the run was trained on (None: a shared run, e.g. on a
    #: built-in dataset or made with the CLI). See ``vdae_core/ui/identity.py``.
    owner: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.model_name} · {self.dataset.name} · seed {self.seed}"


def build_model(model_name: str, overrides: Optional[Dict] = None, dataset: Optional[Dataset] = None,
                data_dim: Optional[int] = None, latent_dim: Optional[int] = None, seed: int = 0) -> GenerativeModel:
    """Instantiate a registered model from config overrides, resolving D from the dataset.

    The weights are initialised from ``seed``, so the same config and seed give the same model.
    """
    cls = MODELS.get(model_name)
    cfg: ModelConfig = cls.config_class.from_dict(dict(overrides or {}))
    if dataset is not None:
        data_dim = dataset.ambient_dim
        latent_dim = resolve_latent_dim(cfg, dataset.suggested_dim, dataset.n)
    if cfg.__dict__.get("knn") and dataset is not None and cfg.knn >= dataset.n:
        raise UserInputError(f"knn={cfg.knn} neighbours needs more points than the {dataset.n} in the data")
    seed_everything(seed)
    return cls(cfg, data_dim, latent_dim)


def scaled_steps(model_name: str, overrides: Optional[Dict], scale: float) -> Dict[str, int]:
    """Overrides multiplying every ``*steps`` training field of a model's config by ``scale`` (quick runs).

    ``sample_steps`` (walk length at sampling time) is not a training length and is left alone.
    """
    cls = MODELS.get(model_name)
    base = cls.config_class.from_dict(dict(overrides or {}))
    return {f.name: max(1, int(round(getattr(base, f.name) * scale))) for f in dataclasses.fields(base)
            if f.name.endswith("steps") and f.name != "sample_steps"}


def train_run(model_name: str, data_config: DataConfig, model_overrides: Optional[Dict] = None, seed: int = 0,
              device: Optional[str] = None, callbacks: Optional[List[Callable]] = None,
              dataset: Optional[Dataset] = None) -> Run:
    """Build data and model, train to the end, return the :class:`Run` (not yet saved)."""
    ds = dataset if dataset is not None else make_dataset(data_config)
    overrides = dict(model_overrides or {})
    if device is not None:
        overrides["device"] = device
    model = build_model(model_name, overrides, ds, seed=seed)
    trainer = Trainer(model, ds.X, seed=seed, device=model.config.device, callbacks=callbacks)
    t = time.perf_counter()
    hist = trainer.run()
    model.to("cpu")
    return Run(model, model_name, data_config, ds, seed, hist,
               info={"train_seconds": time.perf_counter() - t, "device": str(trainer.device)})


def save_run(run: Run, path: str) -> str:
    """Write the run folder (created if needed); returns the path."""
    os.makedirs(path, exist_ok=True)
    ds = run.dataset
    meta = {
        "model": run.model_name,
        "model_config": run.model.config.to_dict(),
        "data_config": run.data_config.to_dict(),
        "dataset_name": ds.name,
        "seed": run.seed,
        "data_dim": run.model.data_dim,
        "latent_dim": run.model.latent_dim,
        "param_names": list(ds.param_names),
        "periodic": list(ds.periodic),
        "param_laws": {k: dataclasses.asdict(v) for k, v in ds.param_laws.items()},
        "manifold": ds.manifold.to_dict() if ds.manifold is not None else None,
        "intrinsic_dim": ds.intrinsic_dim,
        "suggested_dim": ds.suggested_dim,
        "source": ds.source,
        "data_hash": ds.content_hash,
        "owner": run.owner,
        "torch": torch.__version__,
        "info": run.info,
        "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    state = {k: v.detach().cpu() for k, v in run.model.state_dict().items()}
    torch.save(state, os.path.join(path, "weights.pt"))
    arrays = {"X": ds.X, "params": ds.params}
    if ds.labels is not None:
        arrays["labels"] = ds.labels
    if ds.images is not None:
        arrays["images"] = ds.images
    if ds.mesh is not None:
        arrays["mesh_vertices"] = ds.mesh.vertices
        arrays["mesh_faces"] = ds.mesh.faces
    if ds.face_index is not None:
        arrays["face_index"] = ds.face_index
    np.savez_compressed(os.path.join(path, "data.npz"), **arrays)
    with open(os.path.join(path, "history.json"), "w") as fh:
        json.dump(run.history.to_dict(), fh)
    with open(os.path.join(path, "run.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
    run.path = path
    return path


def load_run(path: str) -> Run:
    """Restore a run folder written by :func:`save_run`; the model is in eval mode on the CPU.

    Raises
    ------
    UserInputError
        Not a run folder, missing files, or weights that do not fit the recorded config.
    """
    if not os.path.isdir(path):
        raise UserInputError(f"run folder not found: {path}")
    missing = [f for f in RUN_FILES if not os.path.exists(os.path.join(path, f))]
    if missing:
        raise UserInputError(f"{path} is not a complete run folder (missing {', '.join(missing)})")
    try:
        with open(os.path.join(path, "run.json")) as fh:
            meta = json.load(fh)
        with open(os.path.join(path, "history.json")) as fh:
            hist = History.from_dict(json.load(fh))
        z = np.load(os.path.join(path, "data.npz"), allow_pickle=False)
        state = torch.load(os.path.join(path, "weights.pt"), map_location="cpu", weights_only=True)
    except UserInputError:
        raise
    except Exception as e:
        raise UserInputError(f"{path}: could not read the run ({type(e).__name__}: {str(e)[:120]})") from None
    cls = MODELS.get(meta["model"])
    cfg = cls.config_class.from_dict(cls.saved_config(meta["model_config"], state))
    model = cls(cfg, meta["data_dim"], meta["latent_dim"])
    # Buffers missing from runs saved by older versions keep their initial values.
    buffers = dict(model.named_buffers())
    state = {**{k: v for k, v in model.state_dict().items() if k in buffers and k not in state}, **state}
    # Buffers whose size depends on the data (e.g. VDAE's seed points) are resized before loading.
    for name, buf in list(model.named_buffers()):
        if name in state and tuple(state[name].shape) != tuple(buf.shape):
            mod_name, _, attr = name.rpartition(".")
            mod = model.get_submodule(mod_name) if mod_name else model
            setattr(mod, attr, torch.empty_like(state[name]))
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserInputError(f"{path}: weights do not fit the recorded model ({str(e)[:160]})") from None
    model.eval()
    from .data.base import CosineAngleLaw, Mesh
    from .geometry.exact_manifolds import ExactManifold

    mesh = Mesh(z["mesh_vertices"], z["mesh_faces"]) if "mesh_vertices" in z.files else None
    ds = Dataset(meta["dataset_name"], z["X"], z["params"], tuple(meta["param_names"]), tuple(meta["periodic"]),
                 intrinsic_dim=meta["intrinsic_dim"], suggested_dim=meta["suggested_dim"], mesh=mesh,
                 face_index=z["face_index"] if "face_index" in z.files else None,
                 images=z["images"] if "images" in z.files else None,
                 labels=z["labels"] if "labels" in z.files else None, source=meta["source"],
                 param_laws={k: CosineAngleLaw(**v) for k, v in meta.get("param_laws", {}).items()},
                 manifold=ExactManifold.from_dict(meta["manifold"]) if meta.get("manifold") else None)
    return Run(model, meta["model"], DataConfig.from_dict(meta["data_config"]), ds, meta["seed"], hist, path,
               info=meta.get("info", {}), owner=meta.get("owner"))


def list_runs(root: str) -> List[str]:
    """Run folders directly under ``root``, newest first."""
    if not os.path.isdir(root):
        return []
    out = [os.path.join(root, d) for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "run.json"))]
    return sorted(out, key=lambda p: os.path.getmtime(os.path.join(p, "run.json")), reverse=True)

"""Run folders: everything needed to restore a trained model exactly.

Layout of a run folder::

    run.json        model name, model config, data config, seed, latent_dim, versions, timings
    weights.pt      the model's state_dict (CPU tensors)
    history.json    loss terms per step and phase
    data.npz        the training points X and ground-truth params (so a run is self-contained even
                    for uploaded data)

This module holds the :class:`Run` record and the folder's I/O only; building and training a run is
:mod:`vdae_core.pipeline.train`, its cached evaluation :mod:`vdae_core.study.evaluation_cache`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from vdae_core.data import DataConfig, Dataset
from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import GenerativeModel, seeded_init
from vdae_core.training.trainer import History

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
    #: Points of a file's data kept out of training (issue 10's held-out reference); None for built-in
    #: datasets, whose reference is a fresh sample (see ``vdae_core/study/evaluation.py``).
    heldout: Optional[Dataset] = None
    #: SHA-256 of all the points the user gave (training + held out): matches the upload it came from.
    data_hash: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.model_name} · {self.dataset.name} · seed {self.seed}"



def is_run_folder(path: str) -> bool:
    """Whether ``path`` is a folder holding a run (its ``run.json``)."""
    return os.path.isfile(os.path.join(path, "run.json"))


def check_run_target(path: str, overwrite: bool = False) -> str:
    """Check, before any training, that a run can be saved at ``path``; returns the absolute path.

    Allowed: a new path under a writable folder (missing parents are created); an empty folder; an existing run folder when
    ``overwrite`` is given (it is replaced atomically by :func:`save_run`).

    Raises
    ------
    UserInputError
        ``path`` is a file, a non-empty folder that is not a run, a run without ``overwrite``, or its
        parent folder is missing or not writable.
    """
    p = os.path.abspath(path)
    if os.path.lexists(p) and not os.path.isdir(p):
        raise UserInputError(f"--out {path} is a file, not a run folder: choose a folder path")
    if os.path.isdir(p) and os.listdir(p):
        if not is_run_folder(p):
            raise UserInputError(f"--out {path} is a folder with other files in it (not a run folder): choose a new "
                                 "folder path; nothing was changed")
        if not overwrite:
            raise UserInputError(f"--out {path} already holds a run: pass --overwrite to replace it, or choose "
                                 "another folder")
    parent = os.path.dirname(p)
    while not os.path.isdir(parent):  # missing parents are created by save_run: test the nearest existing one
        if os.path.lexists(parent):
            raise UserInputError(f"--out {path}: {parent} is a file, not a folder")
        parent = os.path.dirname(parent)
    try:  # a real write test: permissions, read-only mounts and quotas all show up here
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".vdae-probe-"))
    except OSError as e:
        raise UserInputError(f"cannot write to {parent}: {e.strerror or e}") from None
    return p


def _fsync_file(path: str) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def save_run(run: Run, path: str, overwrite: bool = False) -> str:
    """Write the run folder atomically; returns the path.

    Every file is written into a hidden temporary folder beside ``path``, flushed to disk, and the folder
    is renamed into place, so a kill or a full disk at any moment leaves either the previous state (no run,
    or the old run intact) or the complete new run — never files of two trainings side by side. An existing
    run at ``path`` is replaced only with ``overwrite=True`` (it is moved aside, the new folder renamed in,
    then the old one deleted; a kill between the two renames leaves the old run in ``.<name>.old-*``).

    Raises
    ------
    UserInputError
        The target is not allowed (see :func:`check_run_target`) or the disk could not take the files;
        the message says that nothing was changed.
    """
    target = check_run_target(path, overwrite)
    parent, name = os.path.split(target)
    tmp = old = None
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix=f".{name}.partial-")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private to its creator; a run folder is an ordinary folder
        _write_run_files(run, tmp)
        if os.path.isdir(target) and os.listdir(target):
            old = tempfile.mkdtemp(dir=parent, prefix=f".{name}.old-")
            os.rmdir(old)
            os.rename(target, old)
        elif os.path.isdir(target):
            os.rmdir(target)
        os.rename(tmp, target)
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.exists(target):
            os.rename(old, target)
        if isinstance(e, OSError):
            raise UserInputError(f"could not save the run to {path} ({e.strerror or e}); nothing was changed "
                                 "there") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    run.path = target
    return target


def _write_run_files(run: Run, path: str) -> None:
    """The four files of a run folder, written into ``path`` (an existing, empty folder) and flushed."""
    ds = run.dataset
    meta = {
        "model": run.model_name,
        "model_config": run.model.config.to_dict(),
        "data_config": run.data_config.to_dict(),
        "dataset_name": ds.name,
        "seed": run.seed,
        "data_dim": run.model.data_dim,
        "data_shape": list(run.model.data_shape),
        "latent_dim": run.model.latent_dim,
        "latent_space": run.model.latent_space.to_dict(),
        "param_names": list(ds.param_names),
        "periodic": list(ds.periodic),
        "param_laws": {k: dataclasses.asdict(v) for k, v in ds.param_laws.items()},
        "manifold": ds.manifold.to_dict() if ds.manifold is not None else None,
        "intrinsic_dim": ds.intrinsic_dim,
        "suggested_dim": ds.suggested_dim,
        "source": ds.source,
        "data_hash": run.data_hash or ds.content_hash,
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
    if run.heldout is not None:
        arrays["heldout_X"], arrays["heldout_params"] = run.heldout.X, run.heldout.params
        if run.heldout.labels is not None:
            arrays["heldout_labels"] = run.heldout.labels
    np.savez_compressed(os.path.join(path, "data.npz"), **arrays)
    with open(os.path.join(path, "history.json"), "w") as fh:
        json.dump(run.history.to_dict(), fh)
    with open(os.path.join(path, "run.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
    for f in RUN_FILES:
        _fsync_file(os.path.join(path, f))


def load_run(path: str) -> Run:
    """Restore a run folder written by :func:`save_run`; the model is in eval mode on the CPU.

    Everything read is validated inside one error boundary: the files, the keys and types of ``run.json``,
    the model and dataset it names, the shapes of the weights and that they are finite.

    Raises
    ------
    UserInputError
        Not a run folder, missing or unreadable files, a malformed ``run.json``, weights that do not fit
        the recorded config, or non-finite weights.
    """
    if not os.path.isdir(path):
        raise UserInputError(f"run folder not found: {path}")
    missing = [f for f in RUN_FILES if not os.path.exists(os.path.join(path, f))]
    if missing:
        raise UserInputError(f"{path} is not a complete run folder (missing {', '.join(missing)})")
    try:
        return _read_run(path)
    except UserInputError:
        raise
    except KeyError as e:
        raise UserInputError(f"{path}: run.json lacks the entry {e}; the folder is damaged") from None
    except Exception as e:
        raise UserInputError(f"{path}: could not read the run ({type(e).__name__}: {str(e)[:160]})") from None


def _read_run(path: str) -> Run:
    with open(os.path.join(path, "run.json")) as fh:
        meta = json.load(fh)
    if not isinstance(meta, dict):
        raise UserInputError(f"{path}: run.json is not a JSON object; the folder is damaged")
    with open(os.path.join(path, "history.json")) as fh:
        hist = History.from_dict(json.load(fh))
    z = np.load(os.path.join(path, "data.npz"), allow_pickle=False)
    state = torch.load(os.path.join(path, "weights.pt"), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserInputError(f"{path}: weights.pt is not a state dict of tensors")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise UserInputError(f"{path}: the weights contain NaN or inf ({', '.join(bad[:3])}); the run is unusable, "
                             "train it again")
    cls = MODELS.get(str(meta["model"]))
    cfg = cls.config_class.from_dict(cls.saved_config(meta["model_config"], state))
    data_shape = tuple(int(v) for v in (meta.get("data_shape") or [meta["data_dim"]]))
    with seeded_init(int(meta.get("seed", 0))):  # the weights are loaded below: only keep other threads' RNG intact
        model = cls(cfg, data_shape, int(meta["latent_dim"]))
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
    from vdae_core.data.base import CosineAngleLaw, Mesh
    from vdae_core.geometry.exact_manifolds import ExactManifold

    mesh = Mesh(z["mesh_vertices"], z["mesh_faces"]) if "mesh_vertices" in z.files else None
    ds = Dataset(meta["dataset_name"], z["X"], z["params"], tuple(meta["param_names"]), tuple(meta["periodic"]),
                 intrinsic_dim=meta["intrinsic_dim"], suggested_dim=meta["suggested_dim"], mesh=mesh,
                 face_index=z["face_index"] if "face_index" in z.files else None,
                 images=z["images"] if "images" in z.files else None,
                 labels=z["labels"] if "labels" in z.files else None, source=meta["source"],
                 param_laws={k: CosineAngleLaw(**v) for k, v in meta.get("param_laws", {}).items()},
                 manifold=ExactManifold.from_dict(meta["manifold"]) if meta.get("manifold") else None)
    if ds.ambient_dim != model.data_dim:
        raise UserInputError(f"{path}: data.npz has {ds.ambient_dim} coordinates but the model expects "
                             f"{model.data_dim}; the folder is damaged")
    heldout = None
    if "heldout_X" in z.files:
        heldout = dataclasses.replace(ds, X=z["heldout_X"], params=z["heldout_params"], face_index=None, images=None,
                                      labels=z["heldout_labels"] if "heldout_labels" in z.files else None)
        if heldout.ambient_dim != ds.ambient_dim:
            raise UserInputError(f"{path}: the held-out points have {heldout.ambient_dim} coordinates, the training "
                                 f"points {ds.ambient_dim}; the folder is damaged")
    return Run(model, meta["model"], DataConfig.from_dict(meta["data_config"]), ds, int(meta["seed"]), hist, path,
               info=meta.get("info", {}), owner=meta.get("owner"), heldout=heldout,
               data_hash=meta.get("data_hash"))


def list_runs(root: str) -> List[str]:
    """Run folders directly under ``root``, newest first."""
    if not os.path.isdir(root):
        return []
    out = [os.path.join(root, d) for d in os.listdir(root)
           if not d.startswith(".") and os.path.exists(os.path.join(root, d, "run.json"))]
    return sorted(out, key=lambda p: os.path.getmtime(os.path.join(p, "run.json")), reverse=True)

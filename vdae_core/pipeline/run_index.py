"""A light index of saved run folders: reads ``run.json`` only (no torch import), so the app can list
runs, name new ones and zip them without loading any model.

The runs root is ``$VDAE_RUNS_DIR`` when set, else ``./runs``.

Privacy: a run trained on an uploaded file records its ``owner`` (the uploading browser's id, see
``vdae_core/ui/identity.py``); :func:`list_run_infos` lists it only to that owner. Runs without an owner
(built-in datasets, CLI runs) are shared by everyone using the studio.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import time
import uuid
import zipfile
from typing import Dict, List, Optional, Tuple

RUNS_ENV = "VDAE_RUNS_DIR"


def runs_root() -> str:
    """The folder runs are saved under (``$VDAE_RUNS_DIR`` or ``./runs``), as an absolute path."""
    return os.path.abspath(os.environ.get(RUNS_ENV) or "runs")


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` says about a run folder."""

    path: str
    model: str
    dataset: str
    seed: int
    latent_dim: int
    n: int
    saved: str
    train_seconds: float
    device: str
    stopped_early: bool
    mtime: float
    owner: Optional[str] = None
    data_hash: str = ""
    #: The model's config as sorted ``(field, value as text)`` pairs (what :func:`run_labels` compares; the
    #: device and the asked-for latent_dim are left out: the resolved ``latent_dim`` above is what counts).
    settings: Tuple[Tuple[str, str], ...] = ()
    #: The app's preset the run was trained with ("Quick", "Live", "Studio defaults", "Paper"), "" if none.
    preset: str = ""
    #: Noise added to the data (the data config's ``noise``).
    noise: float = 0.0

    def visible_to(self, viewer: Optional[str]) -> bool:
        """Whether ``viewer`` (an owner id, or None for nobody in particular) may list, open or download it."""
        return self.owner is None or (viewer is not None and self.owner == viewer)

    @property
    def name(self) -> str:
        return os.path.basename(self.path.rstrip(os.sep))

    @property
    def label(self) -> str:
        tag = " (stopped early)" if self.stopped_early else ""
        return f"{self.model} · {self.dataset} · seed {self.seed} · {self.saved}{tag}"

    @property
    def key(self) -> Tuple[str, str, int]:
        """(dataset, model, seed): runs sharing it are told apart by :func:`run_labels`."""
        return self.dataset, self.model, self.seed

    def described(self) -> Dict[str, str]:
        """Everything that can tell this run from a sibling, as field -> text (config, n, noise, latent size,
        preset); a field the run does not record (a setting added after it was saved, no preset) is absent."""
        out = dict(self.settings)
        out.update({"n": str(self.n), "noise": _text(float(self.noise)), "latent_dim": str(self.latent_dim)})
        if self.preset:
            out["preset"] = self.preset
        return out


def run_differences(infos: List["RunInfo"]) -> Dict[str, str]:
    """For each run (by path), what sets it apart from the other runs of the same (dataset, model, seed):
    the settings whose values differ within that group, as ``"latent_dim 1 · preset Quick"`` ("" for a run
    with no sibling, or siblings with identical settings: then only the time tells them apart)."""
    groups: Dict[Tuple[str, str, int], List[RunInfo]] = {}
    for r in infos:
        groups.setdefault(r.key, []).append(r)
    out = {}
    for group in groups.values():
        described = [r.described() for r in group]
        fields = sorted({f for d in described for f in d})
        # a field differs when the runs that record it disagree (one an older run lacks is not a difference)
        differing = [f for f in fields if len({d[f] for d in described if f in d}) > 1]
        # what a reader looks for first: latent size, preset, n, then the config fields alphabetically
        first = [f for f in ("latent_dim", "preset", "n") if f in differing]
        differing = first + [f for f in differing if f not in first]
        for r, d in zip(group, described):
            out[r.path] = " · ".join(f"{f} {d.get(f, '—')}" for f in differing)
    return out


def run_labels(infos: List["RunInfo"]) -> Dict[str, str]:
    """A label per run (by path) that names it uniquely among ``infos``: model, dataset and seed, then what
    differs from the runs sharing them (:func:`run_differences`), then the time it was saved (to the second,
    the tiebreak when nothing else differs)."""
    diffs = run_differences(infos)
    out = {}
    for r in infos:
        tag = " (stopped early)" if r.stopped_early else ""
        diff = f" · {diffs[r.path]}" if diffs.get(r.path) else ""
        out[r.path] = f"{r.model} · {r.dataset} · seed {r.seed}{diff} · {r.saved}{tag}"
    counts: Dict[str, int] = {}
    for label in out.values():
        counts[label] = counts.get(label, 0) + 1
    for path, label in out.items():  # the same settings saved in the same second: the folder's id decides
        if counts[label] > 1:
            out[path] = f"{label} · {os.path.basename(path.rstrip(os.sep))[-4:]}"
    return out


def read_run_info(path: str) -> Optional[RunInfo]:
    """The :class:`RunInfo` of a run folder, or None if it is not a readable run folder."""
    meta_path = os.path.join(path, "run.json")
    try:
        with open(meta_path) as fh:
            meta = json.load(fh)
        if not isinstance(meta, dict):
            return None
        info = meta.get("info") or {}
        if not isinstance(info, dict):
            return None
        return RunInfo(path=os.path.abspath(path), model=str(meta["model"]), dataset=str(meta["dataset_name"]),
                       seed=int(meta["seed"]), latent_dim=int(meta.get("latent_dim", 0)),
                       n=int((meta.get("data_config") or {}).get("n", 0)), saved=str(meta.get("saved", "")),
                       train_seconds=float(info.get("train_seconds", float("nan"))),
                       device=str(info.get("device", "")), stopped_early=bool(info.get("stopped_early", False)),
                       mtime=os.path.getmtime(meta_path),
                       owner=str(meta["owner"]) if meta.get("owner") else None,
                       data_hash=str(meta.get("data_hash") or ""),
                       settings=tuple(sorted((str(k), _text(v)) for k, v in
                                             (meta.get("model_config") or {}).items()
                                             if k not in ("device", "latent_dim"))),
                       preset=str(info.get("preset") or ""),
                       noise=float((meta.get("data_config") or {}).get("noise", 0.0) or 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _text(v) -> str:
    """A config value as short text (floats to 4 significant digits, sequences joined by commas)."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ",".join(_text(x) for x in v)
    return str(v)


def list_run_infos(root: Optional[str] = None, viewer: Optional[str] = None) -> List[RunInfo]:
    """Readable run folders directly under ``root`` that ``viewer`` may see, newest first.

    Incomplete folders are skipped; so are runs owned by anyone but ``viewer`` (with ``viewer=None``:
    the shared runs only).
    """
    root = root or runs_root()
    if not os.path.isdir(root):
        return []
    out = []
    for d in os.listdir(root):
        p = os.path.join(root, d)
        if not d.startswith(".") and os.path.isdir(p) and os.path.exists(os.path.join(p, "weights.pt")):
            info = read_run_info(p)
            if info is not None and info.visible_to(viewer):
                out.append(info)
    return sorted(out, key=lambda r: r.mtime, reverse=True)


def find_runs(infos: List[RunInfo], dataset: Optional[str] = None, model: Optional[str] = None,
              seed: Optional[int] = None, data_hash: Optional[str] = None) -> List[RunInfo]:
    """The runs matching every given field, in the order given (``data_hash``: the training points' content)."""
    return [r for r in infos if (dataset is None or r.dataset == dataset) and (model is None or r.model == model)
            and (seed is None or r.seed == int(seed)) and (data_hash is None or r.data_hash == data_hash)]


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-.")[:40] or "data"


def new_run_dir(root: str, dataset: str, model: str, seed: int) -> str:
    """A fresh, unused folder path ``<root>/<dataset>_<model>_s<seed>_<time>_<id>`` (not created)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join(root, f"{slug(dataset)}_{slug(model)}_s{int(seed)}_{stamp}_{uuid.uuid4().hex[:4]}")


def zip_folder(path: str) -> bytes:
    """The folder's regular files as a zip archive (in memory), under a top folder named like it.

    Symbolic links are left out (files and folders alike), so nothing outside the folder is ever packed.
    """
    buf = io.BytesIO()
    base = os.path.basename(path.rstrip(os.sep))
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for dirpath, dirs, files in os.walk(path, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
            for f in sorted(files):
                full = os.path.join(dirpath, f)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                z.write(full, os.path.join(base, os.path.relpath(full, path)))
    return buf.getvalue()

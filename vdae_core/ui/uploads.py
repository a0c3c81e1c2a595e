"""Uploaded point clouds, meshes and image zips: kept per browser, validated by the library loaders.

Each browser's uploads live in ``<tmp>/vdae_uploads/<owner id>/<upload id>/<file>`` (the owner id is the
browser's private token, see :mod:`.identity`), so no other browser can reach them. A rejected upload is
deleted at once. Accepted uploads are deleted once unused for :data:`MAX_AGE_S` (24 h), and the whole
uploads folder is kept under :data:`CAP_BYTES` (1 GB) by deleting the least recently used uploads first;
a run trained on an upload keeps its own copy of the points, so it outlives the file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from typing import List, Optional, Tuple


ACCEPTED = (".npy", ".npz", ".csv", ".txt", ".ply", ".obj", ".off", ".stl", ".zip")
MAX_BYTES = 200 * 1024 * 1024
MAX_AGE_S = 24 * 3600
CAP_BYTES = 1024 * 1024 * 1024
ROOT_ENV = "VDAE_UPLOADS_DIR"


def uploads_root() -> str:
    """The folder holding every browser's uploads (``$VDAE_UPLOADS_DIR`` or ``<tmp>/vdae_uploads``)."""
    return os.environ.get(ROOT_ENV) or os.path.join(tempfile.gettempdir(), "vdae_uploads")


def session_dir() -> str:
    """This browser's private uploads folder."""
    from vdae_core.ui.identity import owner_id

    path = os.path.join(uploads_root(), owner_id())
    os.makedirs(path, exist_ok=True)
    return path


def _size(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


def sweep(now: Optional[float] = None, max_age: float = MAX_AGE_S, cap: int = CAP_BYTES) -> List[str]:
    """Delete uploads unused for ``max_age`` seconds, then the least recently used until under ``cap`` bytes.

    Returns the deleted upload folders.
    """
    root = uploads_root()
    now = time.time() if now is None else now
    if not os.path.isdir(root):
        return []
    folders = []
    for owner in os.listdir(root):
        op = os.path.join(root, owner)
        if os.path.isdir(op) and not os.path.islink(op):
            folders += [os.path.join(op, u) for u in os.listdir(op) if os.path.isdir(os.path.join(op, u))]
    stamped = sorted(((os.path.getmtime(f), f) for f in folders))
    total = sum(_size(f) for _, f in stamped)
    deleted = []
    for mtime, f in stamped:
        if now - mtime > max_age or total > cap:
            size = _size(f)
            shutil.rmtree(f, ignore_errors=True)
            total -= size
            deleted.append(f)
    return deleted


def touch(path: Optional[str]) -> None:
    """Mark an upload as used now (it is kept :data:`MAX_AGE_S` after its last use)."""
    if path and os.path.exists(path):
        try:
            os.utime(os.path.dirname(path))
        except OSError:
            pass


def accept_upload(uploaded, n: int, seed: int, noise: float) -> Tuple[Optional[str], Optional[str]]:
    """Validate an uploaded file by building the dataset from it.

    Returns
    -------
    (path, None) on success: the saved file, whose dataset is now cached;
    (None, message) on failure: a one-line reason; nothing in the session is changed and the file is deleted.
    """
    from vdae_core.ui import cache

    return _keep(uploaded, ACCEPTED, "a point cloud (.npy, .npz with key X, .csv, .txt), a mesh (.ply, .obj, .off, "
                                     ".stl) or a .zip of images",
                 lambda path: cache.dataset({"dataset": path, "n": int(n), "seed": int(seed), "noise": float(noise)}))


#: What a file of points may be.
POINT_FILES = (".npy", ".npz", ".csv", ".txt")


def accept_points(uploaded) -> Tuple[Optional[str], Optional[str]]:
    """Keep an uploaded point array (generated samples to judge) in this browser's private folder, validated by
    :func:`vdae_core.data.read_points`; the same contract as :func:`accept_upload`."""
    from vdae_core.data import read_points

    return _keep(uploaded, POINT_FILES, "a point array (.npy, .npz with key X, .csv, .txt)", read_points)


def accept_codes(uploaded) -> Tuple[Optional[str], Optional[str]]:
    """Keep an uploaded codes file (as :func:`accept_points`; a .npy vector is one column)."""
    from vdae_core.data import read_codes

    return _keep(uploaded, POINT_FILES, "an array of codes (.npy, .npz with key X, .csv, .txt)", read_codes)


#: What a model file may be: TorchScript (torch.jit.save), read without unpickling (its contents are checked).
MODEL_FILES = (".pt", ".pth", ".pt2")


def accept_model(uploaded) -> Tuple[Optional[str], Optional[str]]:
    """Keep an uploaded model file (TorchScript) in this browser's private folder, validated by
    loading it with :class:`vdae_core.models.scripted.ScriptedModel` (never unpickled); the contract of
    :func:`accept_upload`."""
    from vdae_core.models.scripted import ScriptedModel

    return _keep(uploaded, MODEL_FILES, "a TorchScript model file (.pt)", ScriptedModel)


def _keep(uploaded, accepted, kinds: str, validate) -> Tuple[Optional[str], Optional[str]]:
    """Store ``uploaded`` in a new folder of this browser's private uploads and run ``validate(path)`` on it; a
    rejected file is deleted at once and its reason returned in one line."""
    from vdae_core.foundation.errors import UserInputError

    name = os.path.basename(uploaded.name or "upload")
    ext = os.path.splitext(name)[1].lower()
    if ext not in accepted:
        return None, f"{name}: unsupported file type '{ext or 'none'}'. Upload {kinds}."
    data = uploaded.getvalue()
    if len(data) == 0:
        return None, f"{name}: the file is empty."
    if len(data) > MAX_BYTES:
        return None, f"{name}: the file is larger than {MAX_BYTES // 2**20} MB."
    sweep()
    folder = os.path.join(session_dir(), uuid.uuid4().hex[:12])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    try:
        with open(path, "wb") as fh:
            fh.write(data)
        validate(path)
    except UserInputError as e:
        shutil.rmtree(folder, ignore_errors=True)
        return None, str(e)
    except OSError as e:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"{name}: could not store the upload ({e.strerror or type(e).__name__})"
    except Exception as e:  # a loader crashed on a corrupt file: still the user's file, not a bug to show
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"{name}: could not read the file ({type(e).__name__}: {str(e)[:160]})"
    return path, None

"""Uploaded point clouds, meshes and image zips: saved per session, validated by the library loaders."""
from __future__ import annotations

import os
import tempfile
import uuid
from typing import Optional, Tuple

import streamlit as st

ACCEPTED = (".npy", ".npz", ".csv", ".txt", ".ply", ".obj", ".off", ".stl", ".zip")
MAX_BYTES = 200 * 1024 * 1024


def session_dir() -> str:
    """A private folder for this browser session's uploads."""
    ss = st.session_state
    if "upload_dir" not in ss:
        ss["upload_dir"] = os.path.join(tempfile.gettempdir(), "vdae_uploads", uuid.uuid4().hex)
    os.makedirs(ss["upload_dir"], exist_ok=True)
    return ss["upload_dir"]


def accept_upload(uploaded, n: int, seed: int, noise: float) -> Tuple[Optional[str], Optional[str]]:
    """Validate an uploaded file by building the dataset from it.

    Returns
    -------
    (path, None) on success: the saved file, whose dataset is now cached;
    (None, message) on failure: a one-line reason; nothing in the session is changed.
    """
    from ..errors import UserInputError
    from . import cache

    name = os.path.basename(uploaded.name or "upload")
    ext = os.path.splitext(name)[1].lower()
    if ext not in ACCEPTED:
        return None, (f"{name}: unsupported file type '{ext or 'none'}'. Upload a point cloud "
                      f"(.npy, .npz with key X, .csv, .txt), a mesh (.ply, .obj, .off, .stl) or a .zip of images.")
    data = uploaded.getvalue()
    if len(data) == 0:
        return None, f"{name}: the file is empty."
    if len(data) > MAX_BYTES:
        return None, f"{name}: the file is larger than {MAX_BYTES // 2**20} MB."
    folder = os.path.join(session_dir(), uuid.uuid4().hex[:8])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        cache.dataset({"dataset": path, "n": int(n), "seed": int(seed), "noise": float(noise)})
    except UserInputError as e:
        return None, str(e)
    except Exception as e:  # a loader crashed on a corrupt file: still the user's file, not a bug to show
        return None, f"{name}: could not read the file ({type(e).__name__}: {str(e)[:160]})"
    return path, None

"""User point clouds and the dispatch from a ``--dataset`` string (name or path) to a Dataset."""
from __future__ import annotations

import os

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import DATASETS
from vdae_core.foundation.validation import MIN_DISTINCT_POINTS
from vdae_core.data.base import DataConfig, Dataset, check_points
from vdae_core.data.images import IMAGE_EXTS, load_image_collection
from vdae_core.data.meshes import MESH_EXTS, file_mesh_dataset

POINT_EXTS = (".npy", ".csv", ".npz", ".txt")


def read_codes(path: str) -> np.ndarray:
    """Codes from a file as :func:`read_points` reads points, and a .npy vector (n,) as one column (an angle
    saved as a vector is a 1-D code)."""
    name = os.path.basename(path)
    if path.lower().endswith(".npy") and os.path.exists(path):
        try:
            a = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 (any unreadable file: one line)
            raise UserInputError(f"{name}: could not read ({type(e).__name__})") from None
        if a.ndim == 1:
            return check_points(a.reshape(-1, 1), what=name)
    return read_points(path)


def read_points(path: str) -> np.ndarray:
    """Read an (n, m) point array from ``.npy``, ``.csv``/``.txt`` (comma or whitespace separated,
    an optional header line) or ``.npz`` (key ``X``).

    Raises
    ------
    UserInputError
        Missing file, unknown extension, unreadable contents, wrong shape, NaN/inf.
    """
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise UserInputError(f"file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            X = np.load(path, allow_pickle=False)
        elif ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "X" not in z.files:
                    raise UserInputError(f"{name}: .npz has no key 'X' (keys: {', '.join(z.files) or 'none'})")
                X = z["X"]
        elif ext in (".csv", ".txt"):
            X = _read_text(path)
        else:
            raise UserInputError(f"{name}: unsupported extension '{ext}' (points: {', '.join(POINT_EXTS)}; "
                                 f"meshes: {', '.join(MESH_EXTS)}; images: a folder or .zip)")
    except UserInputError:
        raise
    except Exception as e:
        raise UserInputError(f"{name}: could not read ({type(e).__name__}: {str(e)[:120]})") from None
    return check_points(X, what=name)


def _read_text(path: str) -> np.ndarray:
    with open(path, "r", errors="replace") as fh:
        lines = [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise UserInputError(f"{os.path.basename(path)}: the file is empty")
    delim = "," if "," in lines[0] else None
    rows = []
    for i, ln in enumerate(lines):
        parts = ln.split(delim)
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            if i == 0:  # header line
                continue
            raise UserInputError(f"{os.path.basename(path)}: line {i + 1} is not numeric: {ln[:60]!r}") from None
    if not rows:
        raise UserInputError(f"{os.path.basename(path)}: no numeric rows")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise UserInputError(f"{os.path.basename(path)}: rows have different numbers of columns {sorted(widths)}")
    return np.asarray(rows, dtype=np.float64)


def point_cloud_dataset(path: str, n: int, seed: int) -> Dataset:
    """A user point cloud; colour by the first principal coordinate (no ground truth is known)."""
    X = read_points(path)
    if n < len(X):
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), n, replace=False))]
    Xc = X - X.mean(0)
    pc1 = Xc @ np.linalg.svd(Xc, full_matrices=False)[2][0] if len(X) > 1 else Xc[:, 0]
    return Dataset(os.path.basename(path), X, pc1[:, None], ("PC1",), (False,), intrinsic_dim=min(2, X.shape[1]),
                   source=f"{path} ({len(X)} points)")


def looks_like_path(s: str) -> bool:
    return os.sep in s or s.startswith(".") or os.path.splitext(s)[1] != "" or os.path.exists(s)


def check_enough_points(ds: Dataset) -> None:
    """A user's file must hold :data:`MIN_DISTINCT_POINTS` distinct points, the rule training applies (said at
    loading, before anything is trained). Built-in generators give what is asked: the evaluation draws small
    samples of a law (cell centres), and training checks their size itself."""
    if ds.n < MIN_DISTINCT_POINTS:
        raise UserInputError(f"dataset '{ds.name}' has only {ds.n} points; at least {MIN_DISTINCT_POINTS} are needed "
                             "(the neighbour graphs use up to 20 neighbours)")
    distinct = len(np.unique(ds.X, axis=0))
    if distinct < MIN_DISTINCT_POINTS:
        raise UserInputError(f"dataset '{ds.name}' has only {distinct} distinct points among its {ds.n}; at least "
                             f"{MIN_DISTINCT_POINTS} are needed")


def make_dataset(cfg: DataConfig) -> Dataset:
    """Build the dataset a :class:`DataConfig` names: a registered name, or a file/folder path.

    Raises
    ------
    UserInputError
        Unknown name, bad file, a file with fewer than :data:`MIN_DISTINCT_POINTS` distinct points.
    """
    name = cfg.dataset
    if name in DATASETS:
        ds = DATASETS.build(name, n=cfg.n, seed=cfg.seed, noise=cfg.noise)
    elif looks_like_path(name):
        ext = os.path.splitext(name)[1].lower()
        if os.path.isdir(name) or ext == ".zip":
            if not os.path.exists(name):
                raise UserInputError(f"not found: {name}")
            ds = load_image_collection(name, cfg.n, cfg.seed, cfg.order)
        elif ext in MESH_EXTS:
            ds = file_mesh_dataset(name, cfg.n, cfg.seed, cfg.noise)
        elif ext in IMAGE_EXTS:
            raise UserInputError(f"{os.path.basename(name)}: a single image is not a dataset; give a folder or "
                                 ".zip of images")
        else:
            ds = point_cloud_dataset(name, cfg.n, cfg.seed)
        check_enough_points(ds)
    else:
        DATASETS.get(name)  # raises the 'unknown dataset' message with the known names
        raise AssertionError
    return ds

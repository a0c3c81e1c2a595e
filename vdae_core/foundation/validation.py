"""One check for every array a user hands the studio: points, latent codes, walk starts and metric inputs.

The CLI, the app, the library and every metric call :func:`check_array` (the metrics through
:func:`as_points`, its float64 form), so a bad array gets the same one-line message wherever it comes from
(issue 12 §3).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError

#: Distinct points a dataset needs at least to train (the default neighbour graphs use k = 10 to 20).
MIN_DISTINCT_POINTS = 21
#: The widest latent codes a map audit accepts (uploaded codes, a model file's encode): a code, not a feature
#: vector; the kNN graphs and persistence of a wider cloud say little.
MAX_CODE_DIM = 64

#: The largest magnitude float32 holds; larger values would become inf after the cast.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_array(a, what: str, width: Optional[int] = None, min_rows: int = 1, min_distinct: int = 0,
                allow_vector: bool = False, dtype=np.float32) -> np.ndarray:
    """``a`` as a finite float32 (or ``dtype``) array (n, m), or a :class:`UserInputError` that says what is wrong.

    Parameters
    ----------
    a : array-like (n, m), or (m,) with ``allow_vector`` (one row); torch tensors are detached and moved to the CPU
    what : str
        What the array is, for the message ("points", "latent codes", "walk start").
    width : int, optional
        The number of columns required (the model's data or latent dimension).
    min_rows : int
        At least this many rows.
    min_distinct : int
        At least this many distinct rows (a k-nearest-neighbour graph needs k + 1).
    dtype : numpy dtype
        float32 (what models take; values beyond its range are refused) or float64 (what metrics compute in).

    Returns
    -------
    ndarray (n, m), ``dtype``, C-contiguous

    Raises
    ------
    UserInputError
        Not numeric (strings, objects), complex (the imaginary part would be lost), not 2-D, the wrong width,
        too few rows or distinct rows, NaN or inf, or values beyond float32's range (they would become inf).
    """
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor, without importing torch here
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise UserInputError(f"{what}: not a rectangular array of numbers ({e})") from None
    if np.iscomplexobj(arr):
        raise UserInputError(f"{what}: complex values (their imaginary part would be lost); give real numbers")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise UserInputError(f"{what}: values are not numeric (dtype {arr.dtype})")
    if arr.ndim == 1 and allow_vector:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise UserInputError(f"{what}: expected a 2-D array (n rows x m coordinates), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UserInputError(f"{what}: empty (shape {arr.shape})")
    if width is not None and arr.shape[1] != width:
        raise UserInputError(f"{what}: expected shape (n, {width}), {width} coordinates per row; got {arr.shape}")
    if arr.shape[0] < min_rows:
        raise UserInputError(f"{what}: {arr.shape[0]} rows, need at least {min_rows}")
    wide = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(wide)
    if bad.any():
        rows = int(bad.any(axis=1).sum())
        raise UserInputError(f"{what}: {rows} of {arr.shape[0]} rows contain NaN or inf values")
    big = np.abs(wide) > FLOAT32_MAX
    if np.dtype(dtype) == np.float32 and big.any():
        raise UserInputError(f"{what}: {int(big.any(axis=1).sum())} rows hold values beyond ±{FLOAT32_MAX:.3g}, "
                             f"which float32 cannot hold; rescale the data")
    out = np.ascontiguousarray(wide if np.dtype(dtype) == np.float64 else arr, dtype=dtype)
    if min_distinct:
        distinct = len(np.unique(out, axis=0))
        if distinct < min_distinct:
            raise UserInputError(f"{what}: only {distinct} distinct rows, need at least {min_distinct}")
    return out


def as_points(a, what: str = "points", min_points: int = 1) -> np.ndarray:
    """:func:`check_array` for a metric's input: ``a`` (n, m) as finite float64, at least ``min_points`` rows."""
    return check_array(a, what, min_rows=min_points, dtype=np.float64)


def check_same_length(a: np.ndarray, b: np.ndarray, what: str, names=("x", "z")) -> None:
    """Raise :class:`UserInputError` unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise UserInputError(f"{what}: {names[0]} has {a.shape[0]} points but {names[1]} has {b.shape[0]}; "
                             "they must be paired row by row")


def check_not_constant(a: np.ndarray, what: str) -> None:
    """Raise :class:`UserInputError` if all rows of ``a`` are the same point."""
    if not (a != a[:1]).any():
        raise UserInputError(f"{what}: all {a.shape[0]} points are identical")


def check_k(k, n: int, what: str) -> int:
    """Validate a neighbour count ``k`` against ``n`` points (needs ``n >= k + 1``); return it as int."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise UserInputError(f"{what}: k must be a positive integer, got {k!r}")
    if n < k + 1:
        raise UserInputError(f"{what}: k={k} neighbours need at least {k + 1} points, got {n}")
    return int(k)

"""One check for every array a user hands the studio: points, latent codes and walk starts.

The CLI, the app and the library call :func:`check_array`, so a bad array gets the same one-line message
wherever it comes from (issue 12 §3).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError

#: Distinct points a dataset needs at least to train (the default neighbour graphs use k = 10 to 20).
MIN_DISTINCT_POINTS = 21

#: The largest magnitude float32 holds; larger values would become inf after the cast.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_array(a, what: str, width: Optional[int] = None, min_rows: int = 1, min_distinct: int = 0,
                allow_vector: bool = False) -> np.ndarray:
    """``a`` as a finite float32 array (n, m), or a :class:`UserInputError` that says what is wrong.

    Parameters
    ----------
    a : array-like (n, m), or (m,) with ``allow_vector`` (one row)
    what : str
        What the array is, for the message ("points", "latent codes", "walk start").
    width : int, optional
        The number of columns required (the model's data or latent dimension).
    min_rows : int
        At least this many rows.
    min_distinct : int
        At least this many distinct rows (a k-nearest-neighbour graph needs k + 1).

    Returns
    -------
    ndarray (n, m), float32

    Raises
    ------
    UserInputError
        Not numeric (strings, objects), complex (the imaginary part would be lost), not 2-D, the wrong width,
        too few rows or distinct rows, NaN or inf, or values beyond float32's range (they would become inf).
    """
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
    if big.any():
        raise UserInputError(f"{what}: {int(big.any(axis=1).sum())} rows hold values beyond ±{FLOAT32_MAX:.3g}, "
                             f"which float32 cannot hold; rescale the data")
    out = arr.astype(np.float32, copy=False)
    if min_distinct:
        distinct = len(np.unique(out, axis=0))
        if distinct < min_distinct:
            raise UserInputError(f"{what}: only {distinct} distinct rows, need at least {min_distinct}")
    return out

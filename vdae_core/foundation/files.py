"""Atomic file writes: a kill or a full disk at any moment leaves the previous file (or none), never half of one.

Every file the studio writes (CLI outputs, run metrics caches, sweep rows, shared floors, the app's static copy of
plotly) goes through :func:`write_atomic`. Run folders and image folders, written as a whole, are renamed into
place the same way by their own writers (:func:`vdae_core.pipeline.runs.save_run`).
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, BinaryIO, Callable

# The process's umask, read once at import (reading it means setting it, which is not thread-safe later).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: str, write: Callable[[BinaryIO], Any]) -> None:
    """Call ``write(binary file)`` on a temporary file beside ``path``, flush it to disk, then rename it to ``path``.

    Raises
    ------
    OSError
        The folder is not writable or the disk is full (the temporary file is removed; ``path`` is untouched).
    """
    d, base = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{base}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private to its creator; an ordinary file is not
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str, obj: Any, **dump_kwargs: Any) -> None:
    """``obj`` as JSON in ``path``, atomically (:func:`write_atomic`); ``dump_kwargs`` go to :func:`json.dumps`."""
    data = json.dumps(obj, **dump_kwargs).encode()
    write_atomic(path, lambda fh: fh.write(data))

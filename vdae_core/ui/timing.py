"""Server time of a script run or a fragment run, for benchmarks/bench_display.py.

Nothing is recorded unless ``VDAE_TIMING_LOG`` names a file: then each timed block appends one JSON line
``{"what", "seconds", "t"}`` to it (``t``: wall-clock time at the end).
"""
from __future__ import annotations

import contextlib
import json
import os
import time

ENV = "VDAE_TIMING_LOG"


def record(what: str, seconds: float) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, "a") as fh:
            fh.write(json.dumps({"what": what, "seconds": round(seconds, 4), "t": time.time()}) + "\n")
    except OSError:
        pass  # a benchmark's log must never break the app


@contextlib.contextmanager
def timed(what: str):
    """Record the time of the ``with`` block, however it ends (st.stop and st.rerun end a run by raising)."""
    t = time.perf_counter()
    try:
        yield
    finally:
        record(what, time.perf_counter() - t)

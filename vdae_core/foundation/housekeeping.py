"""A long-running server's garbage collection: freeze what the imports made, then collect on a timer.

Streamlit collects every generation after each script run (``runner.postScriptGC``). In the studio's process a full
collection walks the ~440,000 objects that torch, plotly, scikit-learn and Streamlit leave behind at import and
took 0.23 s holding the interpreter lock (``benchmarks/bench_server_costs.py``): after every fragment rerun of every
watching session, that starved the server (issue 34), so the app turns it off (``.streamlit/config.toml``). Without
it, cyclic garbage waits for Python's own full collections, which come rarely in a process with that many
long-lived objects: a closed browser session's objects (its script event loop with an epoll handle and a socket
pair, its state) stayed in memory, and the soak benchmark saw file handles and RSS climb (``benchmarks/soak.py``).

:func:`freeze_imports` moves every object alive after the warm-up into the permanent generation
(:func:`gc.freeze`): later collections never walk them, and a full one takes milliseconds. :func:`start_collector`
then runs a full collection every ``every`` seconds in a daemon thread, so garbage is bounded in time whatever
Python's thresholds do.
"""
from __future__ import annotations

import gc
import threading
import time
from typing import Optional

_COLLECTOR: Optional["Collector"] = None
_LOCK = threading.Lock()
COLLECT_EVERY_S = 30.0


def freeze_imports() -> int:
    """Freeze every object alive (the imported modules' and the caches'); returns how many are frozen. Call it once
    the server has imported what it will use. No collection first: on a cold server sessions are clicking while the
    warm-up ends, and one full collection holds the interpreter lock 0.2 s; the imports leave little garbage, and
    what is frozen with them is kept for good."""
    gc.freeze()
    return gc.get_freeze_count()


class Collector(threading.Thread):
    """A daemon thread that runs a full collection every ``every`` seconds until :meth:`stop`; ``last`` holds the
    latest one's seconds and objects collected."""

    def __init__(self, every: float = COLLECT_EVERY_S):
        super().__init__(name="vdae-gc", daemon=True)
        self.every = float(every)
        self.last = (0.0, 0)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            t0 = time.perf_counter()
            n = gc.collect()
            self.last = (time.perf_counter() - t0, n)

    def stop(self) -> None:
        self._stop_event.set()


def start_collector(every: float = COLLECT_EVERY_S) -> Collector:
    """Start (once per process) the server's :class:`Collector`; returns it."""
    global _COLLECTOR
    with _LOCK:
        if _COLLECTOR is None or not _COLLECTOR.is_alive():
            _COLLECTOR = Collector(every)
            _COLLECTOR.start()
        return _COLLECTOR

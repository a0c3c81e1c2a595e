"""Small pieces the benchmark scripts share: the CPU's name, a free port, waiting for a Streamlit server,
appending JSON lines to a log, and a process keeping one core busy."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown CPU" where there is none)."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a Streamlit server the benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, tries: int = 120, pause: float = 0.5) -> None:
    """Poll ``url``'s Streamlit health endpoint until it answers (at most ``tries`` × ``pause`` seconds)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(pause)


def append_log(path, *rows: dict) -> None:
    """Append each row as one JSON line to ``path`` (nothing without a path)."""
    if path:
        with open(path, "a") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")


def start_busy() -> subprocess.Popen:
    """A background process spinning one core (the "busy machine" case of a benchmark)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def stop_busy(proc) -> None:
    """End the spinning process started by :func:`start_busy` (nothing for None)."""
    if proc is not None:
        proc.kill()
        proc.wait()

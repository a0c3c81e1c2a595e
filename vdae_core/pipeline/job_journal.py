"""What was training when the server stopped (issue 34, item 3).

Every training the studio accepts writes one small record, ``<runs>/.jobs/<id>.json``, before it is queued: what
to train (model, settings, data, seed, preset), whose it is (the browser's owner id) and which server process
holds it (pid and the process's start time). The record is deleted when the job ends in any way the server sees
(saved, failed, discarded, cancelled). A server that stops mid-training (Ctrl-C, SIGTERM, a killed process, a
power cut) cannot delete it, so after a restart a record whose process is gone is an *interrupted* training: the
Train page lists it with "Retrain", the Home page's run index counts it.

A run folder only ever appears whole (:func:`vdae_core.pipeline.runs.save_run` renames a finished temporary
folder into place), so an interrupted training never shows as a run. :func:`recover_saves` finishes what a kill
during a save left: a replaced run moved aside but not yet deleted is put back if the new one never arrived, and
temporary folders of dead saves are removed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from typing import Any, Dict, List, Optional

from vdae_core.foundation.files import write_json_atomic

JOURNAL = ".jobs"
#: One JSON line per job that ended, under the journal folder: when it was submitted, got its slot and ended (what a
#: server operator, or ``benchmarks/load.py``, reads to tell the queue's wait from the training's time).
ENDED = "ended.jsonl"
#: A temporary save folder younger than this is left alone: another server on the same folder may be writing it.
PARTIAL_GRACE_S = 60.0
_PROCESS_START = time.time()


def proc_start_ticks(pid: int) -> Optional[int]:
    """The start time of process ``pid`` in clock ticks since boot (Linux /proc), or None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int, start_ticks: Optional[int]) -> bool:
    """Whether the process that wrote a record still runs (the same process, not a later one with its pid: in a
    container a restarted server may get the pid of the one before)."""
    if pid == os.getpid() and (start_ticks is None or start_ticks == proc_start_ticks(pid)):
        return True
    if os.path.isdir("/proc"):
        return start_ticks is not None and proc_start_ticks(pid) == start_ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def journal_dir(root: str) -> str:
    return os.path.join(root, JOURNAL)


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def write(root: str, job_id: str, **fields: Any) -> None:
    """Create or update the record of a job this process holds (atomically; ``fields`` must be JSON)."""
    d = journal_dir(root)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{job_id}.json")
    rec: Dict[str, Any] = {}
    if os.path.isfile(path):
        rec = _read(path) or {}
    rec.update(fields, id=job_id, pid=os.getpid(), proc_start=proc_start_ticks(os.getpid()))
    write_json_atomic(path, rec, indent=1)


def remove(root: str, job_id: str) -> None:
    """Forget a job (it ended, or its owner dismissed or retrained it)."""
    try:
        os.unlink(os.path.join(journal_dir(root), f"{job_id}.json"))
    except FileNotFoundError:
        pass


def record_end(root: str, job_id: str, **fields: Any) -> None:
    """Append a line for an ended job to ``<root>/.jobs/ended.jsonl`` (``fields``: JSON; no owner id is written).
    A full disk loses the line, never the run."""
    try:
        os.makedirs(journal_dir(root), exist_ok=True)
        with open(os.path.join(journal_dir(root), ENDED), "a") as fh:
            fh.write(json.dumps(dict(fields, id=job_id)) + "\n")
    except (OSError, TypeError, ValueError):
        pass


def ended(root: str) -> List[Dict[str, Any]]:
    """The lines :func:`record_end` wrote, oldest first (unreadable lines skipped)."""
    out = []
    try:
        with open(os.path.join(journal_dir(root), ENDED)) as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return out


def _read(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path) as fh:
            rec = json.load(fh)
        return rec if isinstance(rec, dict) else None
    except (OSError, ValueError):
        return None


def interrupted(root: str, browser: Optional[str]) -> List[Dict[str, Any]]:
    """The records of ``browser``'s trainings whose server process is gone, oldest first.

    Parameters
    ----------
    root : str
        The runs root.
    browser : str or None
        The owner id of the browser asking: a record is only ever shown to the browser that started it.
    """
    d = journal_dir(root)
    if browser is None or not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        rec = _read(os.path.join(d, name))
        if rec is None or rec.get("browser") != browser:
            continue
        if not alive(int(rec.get("pid", -1)), rec.get("proc_start")):
            out.append(rec)
    return out


def recover_saves(root: str) -> List[str]:
    """Finish what a kill during :func:`~vdae_core.pipeline.runs.save_run` left in ``root``; returns what it did.

    Only folders last changed before this process started and more than :data:`PARTIAL_GRACE_S` ago are touched
    (a younger one may belong to a save still going on). ``.<name>.old-*``: a run being replaced; put back when
    ``<name>`` is missing (the new run never arrived), deleted when ``<name>`` exists (it did).
    ``.<name>.partial-*``: a new run being written; deleted.
    """
    done: List[str] = []
    if not os.path.isdir(root):
        return done
    now = time.time()
    for entry in sorted(os.listdir(root)):
        m = re.match(r"^\.(.+)\.(old|partial)-[^/]+$", entry)
        if not m:
            continue
        path, target = os.path.join(root, entry), os.path.join(root, m.group(1))
        if not os.path.isdir(path):
            continue
        st = os.stat(path)
        changed = max(st.st_mtime, st.st_ctime)  # a rename sets ctime: when the folder was moved aside
        if changed >= _PROCESS_START or now - changed <= PARTIAL_GRACE_S:
            continue  # a save that may still be going on (this process's, or another server's on the same folder)
        if m.group(2) == "old":
            if os.path.exists(target):
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed {entry} (the run replacing it was saved)")
            else:
                os.rename(path, target)
                done.append(f"restored {m.group(1)} (a replacement was interrupted)")
        else:
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {entry} (an interrupted save)")
    return done

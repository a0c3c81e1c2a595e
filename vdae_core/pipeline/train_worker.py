"""Trainings in worker processes, so that they do not fight the studio's server for the interpreter.

Why (issue 34, measured on the 2-core machine, ``docs/BENCHMARKS.md``): the studio's networks are small, so a
training is thousands of short torch operations, and torch releases Python's global interpreter lock around each
one. Any other thread that runs Python (the server rendering a page, another training) takes the lock in between
and keeps it for up to the interpreter's switch interval (5 ms): beside one busy Python thread in the same process
the demo's training is many times slower (``benchmarks/bench_server_costs.py``; its table is in
docs/BENCHMARKS.md). A worker process has its own interpreter: the server only relays progress.

A :class:`Worker` is ``python -m vdae_core.pipeline.train_worker FD THREADS``, talking over a socket pair with
:mod:`multiprocessing.connection` messages (no ``multiprocessing`` start method, so nothing depends on how the
server's ``__main__`` was started). It imports torch once and trains one order after another: it builds the data
from its config (checked against the server's by content hash), trains in slices of a quarter second, sends a
snapshot after each (progress, new loss records, time left), obeys pause / resume / stop / discard between
slices, and saves the run folder itself (atomically). It exits when the server closes the socket or dies (its
parent pid changes): a training whose server is gone is never saved, it is journalled as interrupted.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any, Dict, List, Optional

SLICE_S = 0.25  # seconds of training between two snapshots (pause/stop latency)
_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _spawn(sock: socket.socket, threads: int, *flags: str) -> subprocess.Popen:
    """``python -m vdae_core.pipeline.train_worker [flags] FD THREADS`` with ``sock``'s descriptor passed to it (the
    caller closes its copy)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_PKG_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return subprocess.Popen([sys.executable, "-m", "vdae_core.pipeline.train_worker", *flags, str(sock.fileno()),
                             str(int(threads))], pass_fds=[sock.fileno()], env=env, stdin=subprocess.DEVNULL)


#: Fork workers from a zygote (Linux): one process pays the imports (torch, the models: about 4-6 s of CPU on the
#: 2-core machine) once, and each worker is a fork of it, ready in milliseconds. Elsewhere each worker is its own
#: interpreter (fork after importing torch is not safe on macOS).
FORK_TIMEOUT_S = 120.0  # the zygote's imports on a busy 2-core machine take seconds, never minutes
USE_ZYGOTE = sys.platform.startswith("linux") and hasattr(socket, "send_fds")


class Zygote:
    """``python -m vdae_core.pipeline.train_worker --zygote FD THREADS``: imports, then forks a worker for each
    socket end the server sends it (SCM_RIGHTS), and answers with the worker's pid."""

    def __init__(self, threads: int):
        ours, theirs = socket.socketpair()
        self.proc = _spawn(theirs, threads, "--zygote")
        theirs.close()
        self.sock, self.threads = ours, int(threads)
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self, fd: int) -> int:
        """A new worker serving the socket ``fd`` (duplicated into it); returns its pid."""
        with self._lock:
            self.sock.settimeout(FORK_TIMEOUT_S)  # a zygote that hangs fails the training instead of holding its slot
            socket.send_fds(self.sock, [b"w"], [fd])
            answer = self.sock.recv(32)
        if not answer:
            raise OSError("the training zygote has ended")
        return int(answer)

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker:
    """One training process and the server's end of its socket: a fork of ``zygote``, or its own interpreter."""

    def __init__(self, threads: int, zygote: Optional[Zygote] = None):
        ours, theirs = socket.socketpair()
        self.proc = self.pid = None
        if zygote is not None:
            self.pid = zygote.fork(theirs.fileno())
        else:
            self.proc = _spawn(theirs, threads)
            self.pid = self.proc.pid
        theirs.close()
        self.conn = Connection(ours.detach())
        self.threads = int(threads)

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        try:  # the zygote's child: reaped by the zygote, so a pid that is gone is a worker that ended
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    @property
    def exit_text(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        return f"exit code {code}" if code is not None else "it was killed or crashed"

    def close(self) -> None:
        """End the process (politely, then by force)."""
        try:
            self.conn.close()
        except OSError:
            pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            return
        for _ in range(40):
            if not self.alive():
                return
            time.sleep(0.05)
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass


class WorkerPool:
    """Idle workers kept between trainings (starting one costs an interpreter and torch's import, about 2-3 s).

    Parameters
    ----------
    threads : int
        Torch threads of each worker.
    """

    def __init__(self, threads: int):
        self.threads = int(threads)
        self._idle: List[Worker] = []
        self._lock = threading.Lock()
        self._zygote: Optional[Zygote] = None
        self._zygote_lock = threading.Lock()

    def _new(self) -> Worker:
        if not USE_ZYGOTE:
            return Worker(self.threads)
        with self._zygote_lock:
            if self._zygote is None or not self._zygote.alive():
                self._zygote = Zygote(self.threads)
            z = self._zygote
        return Worker(self.threads, z)

    def acquire(self) -> Worker:
        """An idle live worker, or a new one."""
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
        return self._new()

    def release(self, worker: Worker, keep: int = 2) -> None:
        """Keep a worker that finished an order cleanly for the next one (at most ``keep`` idle); close any other."""
        if worker.alive():
            with self._lock:
                if len(self._idle) < keep:
                    self._idle.append(worker)
                    return
        worker.close()

    def warm(self, n: int) -> None:
        """Start workers until ``n`` are idle (in the calling thread)."""
        with self._lock:
            missing = n - len([w for w in self._idle if w.alive()])
        for _ in range(max(0, missing)):
            w = self._new()
            with self._lock:
                self._idle.append(w)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None


# -- the worker process -------------------------------------------------------------------------------
def snapshot(trainer, sent: Dict[str, int]) -> Dict[str, Any]:
    """What the server shows of a training: progress, the loss records not sent yet (``sent`` is updated), the
    time left, and whether it is done."""
    new = {}
    for phase, recs in trainer.history.records.items():
        k = sent.get(phase, 0)
        if len(recs) > k:
            new[phase] = [dict(r) for r in recs[k:]]
            sent[phase] = len(recs)
    return {"progress": trainer.progress(), "steps_done": trainer.steps_done, "total_steps": trainer.total_steps,
            "eta": trainer.eta_seconds(), "records": new, "done": trainer.done,
            "stopped_early": bool(trainer.history.stopped_early)}


def _dataset(order: Dict[str, Any], cache: Dict[str, Any]):
    import json

    from vdae_core.data import DataConfig, make_dataset
    from vdae_core.foundation.errors import UserInputError

    key = json.dumps(order["data_config"], sort_keys=True)
    want = order.get("data_hash")
    if key in cache and want and cache[key].content_hash != want:
        del cache[key]  # the file was replaced since this process read it: the server's copy is the newer one
    if key not in cache:
        cache.clear()  # one dataset kept: the next training is most often on the same data
        cache[key] = make_dataset(DataConfig.from_dict(order["data_config"]))
    ds = cache[key]
    if want and ds.content_hash != want:
        raise UserInputError("the data changed on disk since the training was queued (its file was replaced): "
                             "start the training again")
    return ds


def _train(conn: Connection, order: Dict[str, Any], cache: Dict[str, Any]) -> None:
    from vdae_core.data import DataConfig
    from vdae_core.foundation.errors import TrainingDiverged, UserInputError
    from vdae_core.pipeline.run_index import new_run_dir
    from vdae_core.pipeline.runs import save_run
    from vdae_core.pipeline.job_journal import alive
    from vdae_core.pipeline.train import finish, start

    def server_alive() -> bool:  # the server, not the zygote: a worker outlives a zygote that died
        return alive(int(order.get("server_pid", os.getppid())), order.get("server_start"))

    try:
        ds = _dataset(order, cache)
        training = start(order["model_name"], DataConfig.from_dict(order["data_config"]), dict(order["overrides"]),
                         int(order["seed"]), dataset=ds, report_every=5)
        tr, sent, secs, paused = training.trainer, {}, 0.0, False
        while not tr.done:
            while conn.poll():
                cmd = conn.recv()
                if cmd == "discard":
                    conn.send(("discarded",))
                    return
                paused = {"pause": True, "resume": False}.get(cmd, paused)
                if cmd == "stop":
                    tr.request_stop()
                    paused = False
            if not server_alive():  # the server is gone: nobody will see this run, and it is journalled
                os._exit(0)
            if paused:
                time.sleep(0.05)
                continue
            t0 = time.perf_counter()
            tr.advance(max_steps=1_000_000, max_seconds=SLICE_S)
            secs += time.perf_counter() - t0
            conn.send(("progress", snapshot(tr, sent), secs))
        run = finish(training, secs, owner=order.get("owner"), source=order.get("source") or "studio",
                     preset=order.get("preset", ""))
        if not server_alive():
            os._exit(0)
        if order.get("folder"):  # a lesson's or a sweep's run: its own folder, replaced whole
            os.makedirs(os.path.dirname(os.path.abspath(order["folder"])), exist_ok=True)
            path = save_run(run, order["folder"], overwrite=True)
        else:
            path = save_run(run, new_run_dir(order["root"], ds.name, order["model_name"], int(order["seed"])))
        conn.send(("done", path, run.history.message, snapshot(tr, sent), secs))
    except (TrainingDiverged, UserInputError) as e:
        conn.send(("failed", str(e)))
    except Exception as e:  # a bug or an out-of-memory: report it, keep the worker
        traceback.print_exc()
        conn.send(("failed", f"training failed ({type(e).__name__}: {str(e)[:300]})"))


NICE = 5  # trainings yield the CPU to the server's pages and health checks when the machine is short of cores


def _prepare(threads: int) -> None:
    """What every worker needs before its first order: lower priority, torch, the models, the optimiser's imports."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        os.nice(NICE)
    except (AttributeError, OSError):  # not on this platform, or not allowed: train at normal priority
        pass
    import torch

    import vdae_core.data  # noqa: F401  (the datasets, registered)
    import vdae_core.models  # noqa: F401  (the models, registered)
    import vdae_core.pipeline.train  # noqa: F401

    # torch.optim imports torch._dynamo on the first optimiser it builds (about 2 s): pay it while idle
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])


def zygote(fd: int, threads: int) -> None:
    """Import once, then fork a worker (:func:`serve`) for every socket end the server sends."""
    import signal

    _prepare(threads)
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 1)
        except OSError:
            return
        if not msg or not fds:
            return  # the server is gone
        assert threading.active_count() == 1, "the zygote forks with one thread only"
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                serve(fds[0], threads)
            finally:
                os._exit(0)
        os.close(fds[0])
        sock.sendall(str(pid).encode())


def main(fd: int, threads: int) -> None:
    """A worker in its own interpreter."""
    _prepare(threads)
    serve(fd, threads)


def serve(fd: int, threads: int) -> None:
    """Train the orders that arrive on socket ``fd`` until the server closes it or dies."""
    import torch

    torch.set_num_threads(max(1, threads))
    conn = Connection(fd)
    cache: Dict[str, Any] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if not isinstance(msg, tuple) or not msg:
            continue  # a control that arrived after its training ended
        if msg[0] == "train":
            try:
                _train(conn, msg[1], cache)
            except (BrokenPipeError, EOFError, OSError):
                return  # the server closed the socket mid-training


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        zygote(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(int(sys.argv[1]), int(sys.argv[2]))

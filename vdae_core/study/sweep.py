"""Sweeps: a grid of (dataset, model, seed) runs, trained and evaluated independently, cached and resumable,
in this process, in worker processes, or on a Ray cluster.

Every job is a pure function of its :class:`Job` (the seed fixes data, weights and every batch; each job
runs with ``threads`` torch threads wherever it runs), so the three engines give the same rows. Each job's
trained run is the folder ``cache/<job key>/`` (with its row of metrics, ``row.json``, written last); a
rerun loads a finished row instead of training again, so an interrupted sweep resumes where it stopped.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from vdae_core.foundation.errors import UserInputError

#: Bump when a row's contents change meaning (invalidates cached rows, not cached runs).
ROW_VERSION = 2  # 2: robust gw beside gw_paper; off_data


@dataclasses.dataclass(frozen=True)
class Job:
    """One run of a sweep: train ``model`` on ``dataset`` (``n`` points) with
    ``seed`` and config ``overrides``, then evaluate ``n_samples`` generated points (floors over ``reps``)."""

    dataset: str
    model: str
    seed: int
    overrides: Dict[str, Any] = dataclasses.field(default_factory=dict)
    n: int = 2000
    n_samples: int = 1000
    reps: int = 5

    @property
    def key(self) -> str:
        """A folder name that changes with anything that changes the result, the model's defaults included
        (a new default must not reuse runs trained under the old one)."""
        from vdae_core.foundation.registry import MODELS

        defaults = MODELS.get(self.model).config_class().to_dict()
        spec = json.dumps([dataclasses.asdict(self), defaults, ROW_VERSION], sort_keys=True, default=str)
        from vdae_core.study.evaluation_cache import EVALUATION_VERSION

        digest = hashlib.sha256(f"{spec}|{EVALUATION_VERSION}".encode()).hexdigest()[:10]
        return f"{self.dataset}__{self.model}__s{self.seed}__{digest}"


def grid(datasets: Sequence[str], models: Sequence[str], seeds: int, *, overrides: Callable[[str, str], Dict] = None,
         n: Callable[[str], int] = None, n_samples: int = 1000, reps: int = 5) -> List[Job]:
    """Jobs for every dataset × model × seed 0..seeds-1, checked against the registries before any training.

    ``overrides(model, dataset)`` gives each job's config overrides, ``n(dataset)`` its training size."""
    from vdae_core.foundation.registry import DATASETS, MODELS

    for d in datasets:
        DATASETS.get(d)
    for m in models:
        MODELS.get(m)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UserInputError(f"seeds must be a whole number of at least 1, got {seeds!r}")
    return [Job(d, m, s, dict(overrides(m, d) if overrides else {}), int(n(d) if n else 2000), int(n_samples), int(reps))
            for d in datasets for m in models for s in range(seeds)]


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: Sub-folder of a sweep's cache where noise floors are shared between its worker processes (they depend on
#: the dataset, seed and sizes, not on the model: the four models of one (dataset, seed) share one).
FLOOR_FOLDER = ".floors"


def _write_json(path: str, obj: Any) -> None:
    """Atomically (temporary file, then rename): a kill never leaves half a row."""
    from vdae_core.foundation.files import write_json_atomic

    write_json_atomic(path, obj, indent=1, default=float)


def train_job(job: Job, cache: str, train=None) -> tuple:
    """The trained run of ``job``: loaded from ``cache/<job.key>/`` when there, else trained (on the CPU) by
    ``train`` (a :data:`~vdae_core.pipeline.train.TrainInto`: in this process by default; the app's sweeps pass its
    queue's) and saved there. Returns ``(run, folder, train_seconds)`` (0 seconds when loaded)."""
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.runs import is_run_folder, load_run
    from vdae_core.pipeline.train import train_into

    folder = os.path.join(cache, job.key)
    if is_run_folder(folder):  # trained before (an interrupted sweep, or evaluated with other settings)
        return load_run(folder), folder, 0.0
    t0 = time.perf_counter()
    run = (train or train_into)(job.model, DataConfig(dataset=job.dataset, n=job.n, seed=job.seed).to_dict(),
                                {**job.overrides, "device": "cpu"}, job.seed, folder, {"source": "sweep"})
    # here: data, model and training, as the grid's timings always were; queued: the training alone (no wait)
    return run, folder, (time.perf_counter() - t0) if train is None else float(run.info.get("train_seconds", 0.0))


def run_job(job: Job, cache: str, threads: int = 1, train_s: Optional[float] = None) -> Dict[str, Any]:
    """Train (or load the cached run of) ``job``, evaluate it, cache and return its row.

    ``train_s``: the job's share of its group's training time when its seed was just trained with others
    (:func:`train_group`; the run is then read from its folder and the row reports this time).

    ``cache/<job.key>/`` is an ordinary run folder (the app lists it and opens it in every page) with the
    row written into it as ``row.json`` once evaluated. The row holds ``dataset``, ``model``, ``seed``,
    ``key``, ``path``, ``n_train``, ``train_s`` (0 when the run was cached), ``eval_s``, ``cached`` and every
    number of :func:`vdae_core.study.evaluation.evaluate`.
    """
    from vdae_core.study.evaluation import evaluate
    from vdae_core.study.evaluation_cache import store_evaluation

    row_path = os.path.join(cache, job.key, "row.json")
    if os.path.isfile(row_path):
        with open(row_path) as fh:
            return {**json.load(fh), "cached": True}
    with torch_threads(threads):
        run, folder, trained_s = train_job(job, cache)
        train_s = trained_s if train_s is None else train_s
        t1 = time.perf_counter()
        summary, _ = evaluate(run, n_samples=job.n_samples, k=10, seed=job.seed, reps=job.reps, with_gw_paper=True,
                              floor_dir=os.path.join(cache, FLOOR_FOLDER))
    if job.reps == 5:  # the Compare page's settings with "each run's seed": it shows these without recomputing
        store_evaluation(folder, summary, job.n_samples, 10, job.seed)
    row = {"dataset": job.dataset, "model": job.model, "seed": job.seed, "key": job.key, "path": folder,
           "n_train": int(run.dataset.n), "train_s": round(train_s, 2), "eval_s": round(time.perf_counter() - t1, 2),
           **summary}
    _write_json(row_path, row)
    return {**row, "cached": False}


def seed_groups(jobs: Sequence[Job], batch_seeds: bool) -> List[List[int]]:
    """Indices of ``jobs`` in units of work: the seeds of one dataset, model, settings and size together where the
    model trains seeds as one (``seed_batch``) and ``batch_seeds``, every other job alone; in the grid's order."""
    from vdae_core.foundation.registry import MODELS

    units: Dict[str, List[int]] = {}
    for i, job in enumerate(jobs):
        if batch_seeds and MODELS.get(job.model).seed_batch:
            key = json.dumps([job.dataset, job.model, job.overrides, job.n, job.n_samples, job.reps], sort_keys=True,
                             default=str)
        else:
            key = f"alone {i}"
        units.setdefault(key, []).append(i)
    return list(units.values())


def train_group(jobs: Sequence[Job], cache: str, threads: int = 1) -> Dict[str, float]:
    """Train the seeds of ``jobs`` (one dataset, model, settings and size) that have no run in ``cache`` together
    (:func:`vdae_core.training.seed_batch.train_together`), each saved in its job's folder as an ordinary run whose
    info says ``seed_batch`` (how many trained together; ``train_seconds`` is the group's). Returns
    ``{job key: train seconds ÷ seeds}``; a seed that failed is left out (:func:`run_job` then trains it alone and
    reports its error as it always did). The evaluations are separate jobs (:func:`run_job`), so that workers
    share them."""
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.runs import is_run_folder, save_run
    from vdae_core.pipeline.train import finish, start
    from vdae_core.training.seed_batch import train_together

    todo = [j for j in jobs if not is_run_folder(os.path.join(cache, j.key))
            and not os.path.isfile(os.path.join(cache, j.key, "row.json"))]
    if len(todo) < 2:  # nothing to stack: run_job trains a lone seed as always
        return {}
    with torch_threads(threads):
        t0 = time.perf_counter()
        trainings = [start(j.model, DataConfig(dataset=j.dataset, n=j.n, seed=j.seed),
                           {**j.overrides, "device": "cpu"}, j.seed, device="cpu") for j in todo]
        failed = train_together([t.trainer for t in trainings])
        secs = time.perf_counter() - t0  # data, models and training, as a lone job's train_s counts
    out = {}
    for job, training, why in zip(todo, trainings, failed):
        if why is None:
            run = finish(training, secs, seed_batch=len(todo))
            os.makedirs(cache, exist_ok=True)
            save_run(run, os.path.join(cache, job.key), overwrite=True)
            out[job.key] = round(secs / len(todo), 2)
    return out


def _init_worker(threads: int) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _die_with_parent()
    import torch

    torch.set_num_threads(max(1, int(threads)))


def _die_with_parent() -> None:
    """On Linux, have the kernel send this worker SIGTERM when the sweep's process dies (a killed ``compare``
    would otherwise leave its workers training their current job to the end). Elsewhere a no-op."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


def run_grid(jobs: Sequence[Job], cache: str, workers: int = 1, ray_address: Optional[str] = None,
             threads: int = 1, progress: Optional[Callable[[int, int, Dict], None]] = None,
             should_stop: Optional[Callable[[], bool]] = None, batch_seeds: bool = False) -> List[Dict[str, Any]]:
    """Run ``jobs`` and return their rows in the order of ``jobs`` (missing where stopped early).

    Parameters
    ----------
    jobs : the grid (see :func:`grid`).
    cache : folder of the cached runs and rows (created).
    workers : processes on this machine (1: in this process). Ignored with ``ray_address``.
    ray_address : run on Ray instead: ``"local"`` starts an instance on this machine, ``"auto"`` joins the
        running cluster, else the cluster's address. Needs the optional ``ray`` package.
    threads : torch threads per job (the same everywhere, so every engine gives the same numbers).
    progress : called as ``progress(done, total, row)`` after every finished job (cached ones included).
    should_stop : polled between units of work; when it returns True no new one starts (finished rows are kept).
    batch_seeds : train the seeds of a model that stacks them (``seed_batch``) together, one unit of work per
        dataset and model (:func:`seed_groups`; ``--batch-seeds``). Off by default: the grid trains on the CPU,
        where a stacked WGAN-GP step of 5 seeds took longer than 5 single-seed steps and one unit of work leaves
        the other workers idle (``benchmarks/bench_seed_batch.py``, docs/BENCHMARKS.md).
    """
    os.makedirs(cache, exist_ok=True)
    total, rows = len(jobs), {}

    units = seed_groups(jobs, batch_seeds)

    def done(i, row):
        rows[i] = row
        if progress:
            progress(len(rows), total, row)

    # a unit of several seeds is trained first (train_group), then its seeds are evaluated as separate jobs
    if ray_address:
        _run_ray(jobs, units, cache, ray_address, threads, done, should_stop)
    elif workers <= 1:
        for unit in units:
            if should_stop and should_stop():
                break
            shares = train_group([jobs[i] for i in unit], cache, threads) if len(unit) > 1 else {}
            for i in unit:
                done(i, run_job(jobs[i], cache, threads, shares.get(jobs[i].key)))
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=int(workers), mp_context=mp.get_context("spawn"),
                                    initializer=_init_worker, initargs=(threads,)) as pool:
            futures = {}
            for unit in units:
                if len(unit) > 1:
                    futures[pool.submit(train_group, [jobs[i] for i in unit], cache, threads)] = ("train", unit)
                else:
                    futures[pool.submit(run_job, jobs[unit[0]], cache, threads)] = ("row", unit[0])
            stopping = False
            while futures:
                finished, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    kind, what = futures.pop(fut)
                    if fut.cancelled():
                        continue
                    if kind == "row":
                        done(what, fut.result())
                    elif not stopping:  # the group's seeds are trained: their evaluations go to every worker
                        shares = fut.result()
                        for i in what:
                            futures[pool.submit(run_job, jobs[i], cache, threads, shares.get(jobs[i].key))] = ("row", i)
                if not stopping and should_stop and should_stop():
                    stopping = True
                    for f in futures:
                        f.cancel()
    return [rows[i] for i in range(total) if i in rows]


def _run_ray(jobs, units, cache, address, threads, done, should_stop) -> None:
    try:
        import ray
    except ImportError:
        raise UserInputError("--ray needs the optional package ray: pip install 'ray==2.60.0' (or run without --ray "
                             "to use worker processes on this machine)") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
    try:
        cache = os.path.abspath(cache)
        row_task = ray.remote(num_cpus=max(1, int(threads)))(run_job)
        train_task = ray.remote(num_cpus=max(1, int(threads)))(train_group)
        refs = {}
        for unit in units:
            if len(unit) > 1:
                refs[train_task.remote([jobs[i] for i in unit], cache, threads)] = ("train", unit)
            else:
                refs[row_task.remote(jobs[unit[0]], cache, threads)] = ("row", unit[0])
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            kind, what = refs.pop(ready[0])
            if kind == "row":
                done(what, ray.get(ready[0]))
            else:
                shares = ray.get(ready[0])
                for i in what:
                    refs[row_task.remote(jobs[i], cache, threads, shares.get(jobs[i].key))] = ("row", i)
            if should_stop and should_stop():
                for r in refs:
                    ray.cancel(r)
                break
    finally:
        if started:
            ray.shutdown()


def progress_bar(done: int, total: int, row: Dict, width: int = 30) -> str:
    """``[#######-------]  7/20 runs · vdae on circle, seed 2 (71 s)`` for a terminal."""
    filled = int(round(width * done / max(1, total)))
    what = f"{row.get('model')} on {row.get('dataset')}, seed {row.get('seed')}"
    how = "cached" if row.get("cached") else f"{row.get('train_s', 0):.0f} s train, {row.get('eval_s', 0):.0f} s eval"
    return f"[{'#' * filled}{'-' * (width - filled)}] {done:>3}/{total} runs · {what} ({how})"

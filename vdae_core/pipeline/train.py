"""The one path from a config to a trained :class:`~vdae_core.pipeline.runs.Run`, for library, CLI and app."""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Dict, List, Optional

import torch

from vdae_core.data import DataConfig, Dataset, make_dataset
from vdae_core.data.split import split_heldout
from vdae_core.foundation.validation import MIN_DISTINCT_POINTS, check_array
from vdae_core.pipeline.build import build_model
from vdae_core.pipeline.runs import Run
from vdae_core.training.trainer import Trainer


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
    """What a run is made of, besides the trained model: fixed when training starts.

    Attributes
    ----------
    model_name : str
        Registered model name.
    data_config : DataConfig
        The data as asked for (name or file, n, seed, holdout).
    dataset : Dataset
        The training points (n_train, m) after the held-out split.
    seed : int
        Training seed.
    overrides : dict
        The model config overrides the run was built from (``device`` included when given).
    heldout : Dataset or None
        Points of a finite dataset kept out of training (:func:`vdae_core.data.split.split_heldout`).
    data_hash : str or None
        SHA-256 of all the points the user gave (training + held out).
    """

    model_name: str
    data_config: DataConfig
    dataset: Dataset
    seed: int
    overrides: Dict
    heldout: Optional[Dataset]
    data_hash: Optional[str]


@dataclasses.dataclass
class Training:
    """A started training: its :class:`TrainingSpec` and the :class:`Trainer` that drives it; :func:`finish` turns
    it into a :class:`Run`.

    It is driven like its trainer: every attribute it does not hold itself is the trainer's (``run()``,
    ``advance()``, ``model``, ``history``, ``eta_seconds()``...).
    """

    spec: TrainingSpec
    trainer: Trainer

    def __getattr__(self, name: str):
        if name in ("spec", "trainer"):  # not set yet (copying, unpickling): no trainer to ask
            raise AttributeError(name)
        return getattr(self.trainer, name)


def start(model_name: str, data_config: DataConfig, model_overrides: Optional[Dict] = None, seed: int = 0,
          device: Optional[str] = None, callbacks: Optional[List[Callable]] = None,
          dataset: Optional[Dataset] = None, report_every: int = 10) -> Training:
    """Build data, model and trainer (the one path from a config to training, for library, CLI and app)."""
    full = dataset if dataset is not None else make_dataset(data_config)
    ds, heldout = split_heldout(full, data_config)
    overrides = dict(model_overrides or {})
    if device is not None:
        overrides["device"] = device
    model = build_model(model_name, overrides, ds, seed=seed)
    # Neighbour graphs, covariances and the floors need spread: repeated points are not enough (k + 1 distinct).
    check_array(ds.X, "training points", min_distinct=MIN_DISTINCT_POINTS)
    trainer = Trainer(model, ds.X, seed=seed, device=model.config.device, callbacks=callbacks,
                      report_every=report_every)
    spec = TrainingSpec(model_name, data_config, ds, int(seed), overrides, heldout, full.content_hash)
    return Training(spec, trainer)


def finish(training: Training, train_seconds: Optional[float] = None, owner: Optional[str] = None,
           **info) -> Run:
    """The :class:`Run` of a finished (or stopped) training: model on the CPU, history, timings (not yet saved)."""
    spec, trainer = training.spec, training.trainer
    trainer.model.to("cpu")
    hist = trainer.history
    secs = float(sum(hist.phase_seconds.values())) if train_seconds is None else float(train_seconds)
    # CPU results repeat for a seed at a given thread count only (reductions split differently): record it.
    info = {"train_seconds": secs, "device": str(trainer.device), "stopped_early": bool(hist.stopped_early),
            "cpu_threads": int(torch.get_num_threads()), **info}
    rule = getattr(trainer.model, "latent_dim_rule", None)
    if rule is not None:  # the model's latent size was read off the data: say how (docs/METHODS.md)
        info["latent_dim_rule"] = rule
    return Run(trainer.model, spec.model_name, spec.data_config, spec.dataset, spec.seed, hist, info=info,
               owner=owner, heldout=spec.heldout, data_hash=spec.data_hash)


def train_run(model_name: str, data_config: DataConfig, model_overrides: Optional[Dict] = None, seed: int = 0,
              device: Optional[str] = None, callbacks: Optional[List[Callable]] = None,
              dataset: Optional[Dataset] = None) -> Run:
    """Build data and model, train to the end, return the :class:`Run` (not yet saved)."""
    training = start(model_name, data_config, model_overrides, seed, device, callbacks, dataset)
    t = time.perf_counter()
    training.trainer.run()
    return finish(training, time.perf_counter() - t)


#: A function that trains one run and saves it in a given folder: ``(model_name, data_config, overrides, seed,
#: folder, info) -> Run``, ``info`` added to the run's info (its source and preset). :func:`train_into` trains in this
#: process; :func:`vdae_core.pipeline.jobs.train_queued` through the server's queue, in a worker process. Lessons
#: and comparison sweeps take either: the app passes the queued one, the command line the direct one.
TrainInto = Callable[[str, Dict[str, Any], Dict[str, Any], int, str, Dict[str, Any]], Run]


def train_into(model_name: str, data_config: Dict[str, Any], overrides: Dict[str, Any], seed: int, folder: str,
               info: Optional[Dict[str, Any]] = None) -> Run:
    """Train a run in this process and save it as ``folder`` (replacing a run there, atomically); returns it."""
    from vdae_core.pipeline.runs import save_run

    run = train_run(model_name, DataConfig.from_dict(dict(data_config)), overrides, seed)
    run.info.update(info or {})
    os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
    save_run(run, folder, overwrite=True)
    return run

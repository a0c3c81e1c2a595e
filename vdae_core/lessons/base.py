"""Guided experiments (issue 33, item 1): what a lesson is, and the one way to run it.

A lesson sets up one experiment (data, models, settings), trains its runs with the models' short presets
through the studio's one training path, measures what it is about with the studio's own analyses, and draws
one figure with the studio's own views. Its answer is written from the numbers measured on those runs, never
typed into the text.

Runs are saved as ordinary run folders under the runs root (``lesson-<model>-<dataset>-<hash>``: the hash is of
the model, its whole resolved config, the whole data config and the seed, so a change of any of them — a
model's default included — trains a new run) and so are shared by everyone using the server, as every run on
built-in data is; a lesson's numbers and figure are cached beside them (``<root>/.lessons/``), keyed by the
lesson's code and the measures' code and valid only for the runs they were measured on (their ``saved``
stamps), so a lesson computed once opens at once for everyone after, also after a restart of the server.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
import traceback
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

import plotly.graph_objects as go
import plotly.io as pio

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import LESSONS

#: Bump to retrain and remeasure every lesson (a change in how runs are made or measured).
LESSON_FORMAT = 2
log = logging.getLogger("vdae_studio")
CACHE_DIR = ".lessons"

Progress = Callable[[float, str], None]


@dataclasses.dataclass(frozen=True)
class LessonRun:
    """One training of a lesson.

    Attributes
    ----------
    role : str
        The run's name inside the lesson, what it stands for there (``"line_latent"``), used by its measurements and its folder name.
    label : str
        What the lesson calls it ("β-VAE, 1-D Gaussian latent").
    model : str
        Registered model.
    data : dict
        The data config (``dataset``, ``n``, ...): built-in data only, so the run may be shared.
    overrides : dict
        Settings on top of the model's short preset (``live`` where it has one, else ``quick``).
    seed : int
        Training seed.
    """

    role: str
    label: str
    model: str
    data: Dict[str, Any]
    overrides: Dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: int = 0

    def settings(self, scale: float = 1.0) -> Dict[str, Any]:
        """The model's config overrides: its Quick preset, this run's overrides, training lengths × ``scale``.

        Returns
        -------
        dict
            Field -> value, as :func:`vdae_core.pipeline.presets.compose` returns them.
        """
        from vdae_core.pipeline.presets import compose, quick_name

        return compose(self.model, quick_name(self.model), self.overrides, scale=scale)

    def digest(self, scale: float = 1.0) -> str:
        """10 hex digits naming this run (its folder's suffix): the model, its whole resolved config (defaults
        included, so a changed default is another run), the whole data config and the seed."""
        from vdae_core.data import DataConfig
        from vdae_core.foundation.registry import MODELS

        config = MODELS.get(self.model).config_class.from_dict(self.settings(scale)).to_dict()
        blob = json.dumps([LESSON_FORMAT, self.model, config, DataConfig.from_dict(dict(self.data)).to_dict(),
                           int(self.seed)], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


@dataclasses.dataclass
class LessonResult:
    """A lesson's measured numbers and figure, and where its runs are.

    Attributes
    ----------
    key, title : str
    numbers : dict
        Everything the answer quotes (JSON: floats, ints, strings, lists and dicts of them).
    figure : go.Figure
    runs : dict
        role -> run folder.
    seconds : float
        Wall time of this call (training and measuring on a first call, reading the cache after).
    cached : bool
        Whether the numbers and figure came from the cache.
    """

    key: str
    title: str
    numbers: Dict[str, Any]
    figure: go.Figure
    runs: Dict[str, str]
    seconds: float
    cached: bool


class Lesson:
    """A guided experiment. Subclasses set the class attributes and implement :meth:`study` and :meth:`answer`.

    Attributes
    ----------
    key : str
        Registry name (also the ``?lesson=`` value of its link).
    title : str
    goal : str
        One sentence: what the student sees.
    intro : str
        Markdown: the idea, in a few sentences.
    question : str
        The question to the student.
    runs : tuple of LessonRun
    open_page : str
        The studio page "open in the studio" goes to (``data``, ``latent``, ``walks``, ``bilipschitz``, ``audit``).
    open_role : str
        The run that page opens (the lesson's data when the page is ``data``).
    version : int
        Bump when the lesson's measurements or figure change (its cache is then rebuilt; runs are kept).
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    goal: ClassVar[str] = ""
    intro: ClassVar[str] = ""
    question: ClassVar[str] = ""
    runs: ClassVar[Tuple[LessonRun, ...]] = ()
    open_page: ClassVar[str] = "latent"
    open_role: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def study(self, runs: Dict[str, Any]) -> Tuple[Dict[str, Any], go.Figure]:
        """Measure the lesson's numbers and draw its figure from its trained runs (role -> Run)."""
        raise NotImplementedError

    def answer(self, numbers: Dict[str, Any]) -> str:
        """The answer (markdown), written from the measured ``numbers``."""
        raise NotImplementedError

    def run_spec(self, role: str) -> LessonRun:
        """The :class:`LessonRun` of ``role`` (StopIteration for an unknown role: a lesson's own error)."""
        return next(r for r in self.runs if r.role == role)


def lessons() -> List[Lesson]:
    """Every registered lesson, in the order of its ``order`` tag."""
    names = LESSONS.names()
    return [LESSONS.get(n)() for n in sorted(names, key=lambda n: (LESSONS.tags(n).get("order", 99), n))]


def get_lesson(key: str) -> Lesson:
    """The lesson registered as ``key`` (UserInputError naming the known ones otherwise)."""
    return LESSONS.get(key)()


def run_folder(root: str, lesson: Lesson, spec: LessonRun, scale: float = 1.0) -> str:
    """Where the run of ``spec`` is saved: named by its model, data and digest, so lessons that train the same
    thing (the 2-D β-VAE on the circle) share one run."""
    return os.path.join(root, f"lesson-{spec.model}-{spec.data.get('dataset')}-{spec.digest(scale)}")


def _code_digest(lesson: Lesson) -> str:
    """A hash of the lesson's source and of the shared measures': a change in how it measures or draws is a new
    cache entry without a hand-bumped version."""
    import inspect

    import vdae_core.lessons.measures as measures

    try:
        src = inspect.getsource(type(lesson)) + inspect.getsource(measures)
    except (OSError, TypeError):  # no source (a frozen install): the version alone
        src = ""
    return hashlib.sha256(src.encode()).hexdigest()[:10]


def cache_path(root: str, lesson: Lesson, scale: float = 1.0) -> str:
    """Where the lesson's numbers and figure are cached: ``<root>/.lessons/<key>-<hash>.json``, the hash of the
    format, the lesson's version and code, and its runs' folders."""
    blob = json.dumps([LESSON_FORMAT, lesson.version, _code_digest(lesson),
                       [run_folder(root, lesson, s, scale) for s in lesson.runs]])
    return os.path.join(root, CACHE_DIR, f"{lesson.key}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}.json")


_LOCKS: Dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock(path: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path, threading.Lock())


def _train_or_load(root: str, lesson: Lesson, spec: LessonRun, scale: float, train=None):
    """The run of ``spec``: loaded when its folder exists, else trained by ``train`` (a
    :data:`~vdae_core.pipeline.train.TrainInto`; default :func:`~vdae_core.pipeline.train.train_into`, in this
    process) and saved there atomically. Another process (the CLI beside the app) saving the same run meanwhile is
    not an error: the folder holds one whole run either way.

    Raises
    ------
    UserInputError
        Data that is not built in, or a training or save that failed (the message names the run).
    """
    from vdae_core.foundation.registry import DATASETS
    from vdae_core.pipeline.runs import load_run
    from vdae_core.pipeline.train import train_into

    if spec.data.get("dataset") not in DATASETS:
        raise UserInputError(f"a lesson runs on built-in data only, not {spec.data.get('dataset')!r}")
    path = run_folder(root, lesson, spec, scale)
    with _lock(path):
        if os.path.isfile(os.path.join(path, "run.json")):
            return load_run(path), path
        try:
            (train or train_into)(spec.model, dict(spec.data), spec.settings(scale), spec.seed, path,
                                  {"source": "lesson", "preset": f"Lesson: {lesson.title}"})
        except UserInputError:
            raise
        except Exception as e:  # a diverged or failed training: one line for the page, the traceback in the log
            log.error("lesson %s: training %s failed\n%s", lesson.key, spec.label, traceback.format_exc())
            raise UserInputError(f"training {spec.label} failed ({type(e).__name__}: {str(e)[:200]})") from None
        return load_run(path), path


def _stamps(folders: Dict[str, str]) -> Dict[str, str]:
    """Each run folder's ``saved`` stamp (what the cached numbers were measured on)."""
    from vdae_core.pipeline.run_index import read_run_info

    out = {}
    for role, path in folders.items():
        info = read_run_info(path)
        out[role] = info.saved if info is not None else ""
    return out


def _read_cache(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path) as fh:
            blob = json.load(fh)
        return blob if isinstance(blob, dict) and "numbers" in blob and "figure" in blob else None
    except (OSError, ValueError):
        return None


def _write_cache(path: str, blob: Dict[str, Any]) -> None:
    """Atomically (a temporary file renamed into place): a reader sees the old cache, none, or the new one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        with open(tmp, "w") as fh:
            json.dump(blob, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:  # a full disk or a read-only root: the lesson still shows, it is just not cached
        try:
            os.remove(tmp)
        except OSError:
            pass


def run_lesson(lesson: Lesson, root: Optional[str] = None, scale: float = 1.0,
               progress: Optional[Progress] = None, use_cache: bool = True, train=None) -> LessonResult:
    """Train (or load) the lesson's runs, measure and draw it; cached under ``root`` after the first call.

    Parameters
    ----------
    lesson : Lesson
    root : str, optional
        The runs root (default :func:`vdae_core.pipeline.run_index.runs_root`).
    scale : float
        Training lengths × ``scale`` (tests shrink them; 1 in the app).
    progress : callable(fraction, text), optional
        Told before each run is trained and before the measurements.
    use_cache : bool
        False measures again from the runs (they are still reused).
    train : TrainInto, optional
        How a missing run is trained (:data:`~vdae_core.pipeline.train.TrainInto`): in this process by default; the
        app passes its queue's (:func:`vdae_core.pipeline.jobs.train_queued`).

    Raises
    ------
    UserInputError
        A run could not be trained, saved or read (the message says which).
    """
    from vdae_core.pipeline.run_index import runs_root

    root = os.path.abspath(root or runs_root())
    t0 = time.perf_counter()
    cpath = cache_path(root, lesson, scale)
    folders = {s.role: run_folder(root, lesson, s, scale) for s in lesson.runs}
    with _lock(cpath):
        blob = _read_cache(cpath) if use_cache else None
        if blob is not None and blob.get("runs") == _stamps(folders):  # measured on exactly these runs
            try:
                fig = pio.from_json(json.dumps(blob["figure"]))
            except (ValueError, TypeError, KeyError):  # a figure an older plotly wrote: measure again
                fig = None
            if fig is not None:
                return LessonResult(lesson.key, lesson.title, blob["numbers"], fig, folders,
                                    time.perf_counter() - t0, True)
        runs = {}
        for i, spec in enumerate(lesson.runs):
            if progress:
                progress(i / (len(lesson.runs) + 1), f"Training {spec.label} ({i + 1} of {len(lesson.runs)})…")
            runs[spec.role], _ = _train_or_load(root, lesson, spec, scale, train)
        if progress:
            progress(len(lesson.runs) / (len(lesson.runs) + 1), "Measuring…")
        try:
            numbers, fig = lesson.study(runs)
            numbers = json.loads(json.dumps(numbers, default=_plain))
        except UserInputError:
            raise
        except Exception as e:  # a measurement that failed: one line for the page, the traceback in the log
            log.error("lesson %s: measuring failed\n%s", lesson.key, traceback.format_exc())
            raise UserInputError(f"measuring the lesson failed ({type(e).__name__}: {str(e)[:200]})") from None
        numbers["train_seconds"] = {r: round(float(run.info.get("train_seconds", 0.0)), 2) for r, run in runs.items()}
        _write_cache(cpath, {"numbers": numbers, "figure": json.loads(fig.to_json()), "lesson": lesson.key,
                             "version": lesson.version, "runs": _stamps(folders),
                             "saved": time.strftime("%Y-%m-%d %H:%M:%S")})
        return LessonResult(lesson.key, lesson.title, numbers, fig, folders, time.perf_counter() - t0, False)


def _plain(v):
    """JSON for NumPy scalars and arrays in the numbers."""
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"a lesson's number must be plain JSON, got {type(v).__name__}")


def is_ready(lesson: Lesson, root: Optional[str] = None, scale: float = 1.0) -> bool:
    """Whether :func:`run_lesson` would answer from its cache: numbers and figure measured on the runs now on disk.

    Parameters
    ----------
    lesson : Lesson
    root : str, optional
        The runs root (default :func:`vdae_core.pipeline.run_index.runs_root`).
    scale : float
        The training-length scale the lesson runs at.
    """
    from vdae_core.pipeline.run_index import runs_root

    root = os.path.abspath(root or runs_root())
    blob = _read_cache(cache_path(root, lesson, scale))
    folders = {s.role: run_folder(root, lesson, s, scale) for s in lesson.runs}
    return blob is not None and blob.get("runs") == _stamps(folders) and all(folders.values())

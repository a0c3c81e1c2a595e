"""Cached wrappers of the heavy library calls the pages make.

Datasets, embeddings, walks and metrics are cached with ``st.cache_data`` (per argument values, shared
across sessions; results are copied per caller); loaded models with ``st.cache_resource`` keyed by the
run folder and its ``run.json`` modification time, so a re-saved folder is reloaded. Run-derived
results take ``(path, mtime)`` for the same reason. Exceptions are not cached.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import numpy as np
import streamlit as st


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(os.path.join(path, "run.json"))
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=12)
def _dataset(cfg: Tuple[Tuple[str, Any], ...]):
    from vdae_core.data import DataConfig, make_dataset

    return make_dataset(DataConfig.from_dict(dict(cfg)))


def dataset(cfg: Dict[str, Any]):
    """The dataset a DataConfig dict describes (raises UserInputError for bad input)."""
    return _dataset(tuple(sorted(cfg.items())))


@st.cache_data(show_spinner=False, max_entries=8)
def _diffusion(cfg: Tuple[Tuple[str, Any], ...], k: int, n_components: int):
    from vdae_core.study.analysis import exact_diffusion

    ds = _dataset(cfg)
    dm = exact_diffusion(ds.X, n_components=n_components, k=k)
    return dm.coords, dm.eigenvalues, dm.seconds


def diffusion(cfg: Dict[str, Any], k: int = 10, n_components: int = 3):
    """(coords (n, D), eigenvalues (D,), seconds) of the exact diffusion map of the dataset."""
    return _diffusion(tuple(sorted(cfg.items())), int(k), int(n_components))


@st.cache_data(show_spinner=False, max_entries=4)
def _transition(cfg: Tuple[Tuple[str, Any], ...], k: int):
    from vdae_core.study.analysis import exact_transition

    return exact_transition(_dataset(cfg).X, k=k)


@st.cache_data(show_spinner=False, max_entries=32)
def _transition_row(cfg: Tuple[Tuple[str, Any], ...], k: int, i: int, t: int) -> np.ndarray:
    from vdae_core.geometry.diffusion_maps import transition_row as _row

    return _row(_transition(cfg, k), i, t)


def transition_row(cfg: Dict[str, Any], k: int, i: int, t: int) -> np.ndarray:
    """Row ``i`` of P^t (n,) for the graph of :func:`diffusion` (same ``k``): where a t-step walk from point i is."""
    return _transition_row(tuple(sorted(cfg.items())), int(k), int(i), int(t))


@st.cache_resource(show_spinner=False, max_entries=6)
def _run(path: str, mtime: float):
    from vdae_core.pipeline.runs import load_run as _load

    return _load(path)


def load_run(path: str):
    """The saved :class:`vdae_core.pipeline.runs.Run` at ``path`` (model on the CPU, eval mode)."""
    return _run(os.path.abspath(path), _mtime(path))


@st.cache_resource(show_spinner=False, max_entries=16)
def _projection(path: str, mtime: float):
    from vdae_core.study.analysis import DisplayProjection

    return DisplayProjection(_run(path, mtime).dataset.X)


def display_projection(path: str):
    """The :class:`vdae_core.study.analysis.DisplayProjection` of the run's data (an SVD for m > 3: once per run)."""
    return _projection(os.path.abspath(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=16)
def _latent(path: str, mtime: float) -> np.ndarray:
    run = _run(path, mtime)
    return run.model.encode(run.dataset.X)


def latent_codes(path: str) -> np.ndarray:
    """Codes of every training point of the run, (n, D)."""
    return _latent(os.path.abspath(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=16)
def _walks(path, mtime, start_vertex, n, steps, seed, substeps):
    from vdae_core.study.diagnostics import compare_walks

    run = _run(path, mtime)
    mesh = run.dataset.mesh
    return compare_walks(run.model, mesh.vertices, mesh.faces, start_vertex, n, steps, seed=seed, substeps=substeps)


def walk_comparison(path: str, start_vertex: int, n: int, steps: int, seed: int, substeps=None):
    return _walks(os.path.abspath(path), _mtime(path), int(start_vertex), int(n), int(steps), int(seed),
                  None if substeps is None else int(substeps))


@st.cache_data(show_spinner=False, max_entries=16)
def _point_walk(path, mtime, start_index, n, steps, seed):
    from vdae_core.study.diagnostics import point_cloud_walk

    run = _run(path, mtime)
    return point_cloud_walk(run.model, run.dataset.X, start_index, n, steps, seed=seed)


def point_walk(path: str, start_index: int, n: int, steps: int, seed: int):
    return _point_walk(os.path.abspath(path), _mtime(path), int(start_index), int(n), int(steps), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _point_walk_end(path, mtime, start_index, n, steps, seed):
    from vdae_core.study.diagnostics import walk_report

    walk = _point_walk(path, mtime, start_index, n, steps, seed)[0]
    return walk_report(_run(path, mtime).dataset, walk[-1:])[0]


def point_walk_end(path: str, start_index: int, n: int, steps: int, seed: int) -> dict:
    """``walk_report`` of the last step of :func:`point_walk` (distances to the data and true manifold)."""
    return _point_walk_end(os.path.abspath(path), _mtime(path), int(start_index), int(n), int(steps), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _burst(path, mtime, start_vertex, n, seed, substeps):
    from vdae_core.study.diagnostics import burst_comparison

    run = _run(path, mtime)
    mesh = run.dataset.mesh
    return burst_comparison(run.model, mesh.vertices, mesh.faces, start_vertex, n, seed=seed, substeps=substeps)


def burst(path: str, start_vertex: int, n: int, seed: int, substeps: int):
    return _burst(os.path.abspath(path), _mtime(path), int(start_vertex), int(n), int(seed), int(substeps))


@st.cache_data(show_spinner=False, max_entries=16)
def _point_burst(path, mtime, start_index, n, seed):
    from vdae_core.pipeline.sampling import burst as _b

    run = _run(path, mtime)
    return _b(run.model, run.dataset.X[start_index], n, seed=seed)


def point_burst(path: str, start_index: int, n: int, seed: int) -> np.ndarray:
    return _point_burst(os.path.abspath(path), _mtime(path), int(start_index), int(n), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _bilip(path, mtime, k, n_points, seed):
    from vdae_core.study.analysis import per_point_bilipschitz

    run = _run(path, mtime)
    return per_point_bilipschitz(run.model, run.dataset.X, k=k, n_points=n_points, seed=seed)


def bilip(path: str, k: int, n_points: int, seed: int):
    return _bilip(os.path.abspath(path), _mtime(path), int(k), int(n_points), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _topology(path, mtime, maxdim, max_points, n, seed):
    from vdae_core.study.topology import topology_report

    return topology_report(_run(path, mtime), maxdim=maxdim, max_points=max_points, n=n, seed=seed)


def topology(path: str, maxdim: int, max_points: int, n: int = 1000, seed: int = 0) -> dict:
    """:func:`vdae_core.study.topology.topology_report` of a saved run, cached per run and settings."""
    return _topology(os.path.abspath(path), _mtime(path), int(maxdim), int(max_points), int(n), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def _tears(path, mtime, k, factor):
    from vdae_core.study.topology import tear_report

    summary, r, _, _ = tear_report(_run(path, mtime), k=k, factor=factor)
    return summary, r


def tears(path: str, k: int, factor: float):
    """:func:`vdae_core.study.topology.tear_report` of a saved run (summary, TearsFolds), cached per run and settings."""
    return _tears(os.path.abspath(path), _mtime(path), int(k), float(factor))


@st.cache_data(show_spinner=False, max_entries=16)
def _rtd(path, mtime):
    from vdae_core.study.topology import rtd_report

    return rtd_report(_run(path, mtime))


def rtd(path: str) -> dict:
    """:func:`vdae_core.study.topology.rtd_report` of a saved run, cached per run."""
    return _rtd(os.path.abspath(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=16)
def _prior_holes(path, mtime, n):
    from vdae_core.study.analysis import latent_plane
    from vdae_core.study.topology import prior_hole_report

    run = _run(path, mtime)
    summary, r, Zd, Zp, Xs, R = prior_hole_report(run, n=n)
    shape = run.model.latent_space.shape
    Zd2, names = latent_plane(run.model, Zd.reshape(len(Zd), *shape))
    Zp2, _ = latent_plane(run.model, Zp.reshape(len(Zp), *shape))
    return summary, r, Zd2, Zp2, Xs, R, names


def prior_holes(path: str, n: int = 2000):
    """:func:`vdae_core.study.topology.prior_hole_report` of a saved run with the codes in two display coordinates:
    (summary, PriorHoles, data codes (N, 2), prior codes (M, 2), decoded (M, m), reference (n, m), axis names)."""
    return _prior_holes(os.path.abspath(path), _mtime(path), int(n))


@st.cache_data(show_spinner=False, max_entries=8)
def _stability(paths, mtimes):
    from vdae_core.study.stability import stability_of_paths

    return stability_of_paths(list(paths))


def stability(paths) -> "object":
    """:func:`vdae_core.study.stability.stability_of_paths` of saved runs (one per seed), cached per set of runs."""
    paths = tuple(os.path.abspath(p) for p in paths)
    return _stability(paths, tuple(_mtime(p) for p in paths))


@st.cache_data(show_spinner=False, max_entries=16)
def _embedding(path, mtime, method, n, seed, params):
    from vdae_core.study.analysis import joint_embedding_for_model

    run = _run(path, mtime)
    return joint_embedding_for_model(run.model, run.dataset.X, method, n=n, seed=seed, **dict(params))


def embedding(path: str, method: str, n: int, seed: int, **params):
    """Joint t-SNE/UMAP of real and generated points, cached per run, method, size, seed and embedder parameters."""
    return _embedding(os.path.abspath(path), _mtime(path), str(method), int(n), int(seed),
                      tuple(sorted(params.items())))


@st.cache_data(show_spinner=False, max_entries=16)
def _grid(path, mtime, g):
    from vdae_core.study.analysis import decoded_grid

    run = _run(path, mtime)
    return decoded_grid(run.model, _latent(path, mtime), g=g)


def decoded_grid(path: str, g: int):
    return _grid(os.path.abspath(path), _mtime(path), int(g))


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluation(path, mtime, n_samples, k, seed):
    from vdae_core.study.evaluation_cache import evaluate_run_cached

    run = _run(path, mtime)
    return evaluate_run_cached(path, run, n_samples=n_samples, k=k, seed=seed)


def evaluation(path: str, n_samples: int, k: int, seed: int) -> Dict[str, Any]:
    return _evaluation(os.path.abspath(path), _mtime(path), int(n_samples), int(k), int(seed))


#: Points of the law each uploaded sample is judged against (half the reference, half five floor samples).
JUDGE_REFERENCE_POINTS = 4000


@st.cache_data(show_spinner=False, max_entries=16)
def _judged(path, mtime, dataset, seed):
    from vdae_core.data import DataConfig, make_dataset, read_points
    from vdae_core.study.evaluation import REF_SEED_BASE, evaluate_points

    ref = make_dataset(DataConfig(dataset=dataset, n=JUDGE_REFERENCE_POINTS, seed=REF_SEED_BASE + int(seed)))
    return evaluate_points(read_points(path), ref.X, seed=int(seed), label=f"fresh points of '{dataset}'")


def judged_samples(path: str, dataset: str, seed: int = 0) -> Dict[str, Any]:
    """The protocol on an uploaded sample file (a path in this browser's private uploads) against a fresh sample of
    a built-in dataset's law (:func:`vdae_core.study.evaluation.evaluate_points`)."""
    return _judged(os.path.abspath(path), _mtime(path), str(dataset), int(seed))


@st.cache_resource(show_spinner=False)
def device_line() -> str:
    from vdae_core.foundation.runtime import device_summary

    return device_summary()


@st.cache_resource(show_spinner=False)
def warm_up() -> bool:
    """Import torch, the models and the figure modules in a background thread (once per server), so the
    first visit to a heavy page does not pay for the imports; then freeze those objects out of the garbage
    collector's walks and collect every 30 s (:mod:`vdae_core.foundation.housekeeping`)."""
    import threading

    def work() -> None:
        try:
            from vdae_core import api
            from vdae_core.study import analysis  # noqa: F401
            from vdae_core.viz import bilip, curves, images, scatter, walks  # noqa: F401
            import torch

            # torch.optim imports torch._dynamo on the first optimiser it builds: 2.1 s on a 2-core CPU that
            # the first training would otherwise pay (benchmarks/bench_presets.py, docs/BENCHMARKS.md).
            torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
            from vdae_core.pipeline.jobs import warm_workers

            warm_workers()  # the training processes, so the first training does not wait for their imports
        except Exception:  # pragma: no cover - warming is best effort
            pass
        from vdae_core.foundation.housekeeping import freeze_imports, start_collector

        freeze_imports()  # a full collection now walks only what the sessions made: milliseconds, not 0.23 s
        start_collector()  # and one runs every 30 s: a closed session's garbage does not wait for Python's thresholds

    threading.Thread(target=work, name="vdae-warm-up", daemon=True).start()
    return True


@st.cache_data(show_spinner=False, max_entries=16)
def _angle_score(path, mtime):
    from vdae_core.metrics.angle_recovery import angle_recovery, angle_recovery_floor

    run = _run(path, mtime)
    ds, space = run.dataset, run.model.latent_space
    Z = _latent(path, mtime)
    out = angle_recovery(space, Z, ds.params, ds.param_names, ds.periodic)
    return {**out, "floor": angle_recovery_floor(space, Z, ds.params, ds.param_names, ds.periodic)}


def angle_score(path: str) -> dict:
    """:func:`~vdae_core.metrics.angle_recovery.angle_recovery` of the run's codes against its data's periodic
    ground truth, with the permutation floor (``floor``); cached per run."""
    return _angle_score(os.path.abspath(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=16)
def _class_walks(path, mtime, per_class, steps, seed):
    from vdae_core.metrics.class_retention import walk_class_retention
    from vdae_core.pipeline.sampling import class_conditional_walks

    run = _run(path, mtime)
    ds = run.dataset
    walk, labels = class_conditional_walks(run.model, ds.X, ds.labels, per_class, steps, seed)
    # The classifier knows every labelled real image (runs saved before held-out labels were kept: the training ones).
    parts = [p for p in (ds, run.heldout) if p is not None and p.labels is not None]
    out = walk_class_retention(walk, labels, np.concatenate([p.X for p in parts]),
                               np.concatenate([p.labels for p in parts]))
    return out


def class_walks(path: str, per_class: int, steps: int, seed: int) -> dict:
    """Walks started on each class and the share of their samples a kNN classifier on the real images labels
    like the start (the VDAE paper's cluster-conditional sampling); cached per run and settings."""
    return _class_walks(os.path.abspath(path), _mtime(path), int(per_class), int(steps), int(seed))


@st.cache_data(show_spinner=False, max_entries=8)
def _map_files(points, codes, samples, mtimes):
    from vdae_core.models.scripted import MODEL_SUFFIXES
    from vdae_core.study.map_audit import load_map

    is_model = codes.lower().endswith(MODEL_SUFFIXES)
    return load_map(points, None if is_model else codes, codes if is_model else None, samples)[:3]


def _map_key(points: str, codes: str, samples: Optional[str]) -> tuple:
    """Absolute paths and modification times of an uploaded map's files: the key of its cached results."""
    paths = [p for p in (points, codes, samples) if p]
    return (os.path.abspath(points), os.path.abspath(codes), os.path.abspath(samples) if samples else None,
            tuple(_mtime(p) for p in paths))


def map_files(points: str, codes: str, samples: Optional[str]):
    """X, Z, samples of an uploaded map (:func:`vdae_core.study.map_audit.load_map`): ``codes`` a codes file or
    a TorchScript model file (by its name; its contents are checked). Read (and a model file's encode run) once
    per set of files: the page's check, its audit and "Open as a run" share it."""
    return _map_files(*_map_key(points, codes, samples))


@st.cache_data(show_spinner=False, max_entries=8)
def _map_tears(points, codes, samples, mtimes, k, factor):
    from vdae_core.study.map_audit import map_audit

    X, Z, _ = _map_files(points, codes, samples, mtimes)
    report, tf = map_audit(X, Z, k=int(k), factor=float(factor))
    return report, {"idx": tf.idx, "torn": tf.torn, "folded": tf.folded, "X": X[tf.idx], "Z": Z[tf.idx]}


@st.cache_data(show_spinner=False, max_entries=8)
def _map_topology(points, codes, samples, mtimes):
    from vdae_core.study.map_audit import map_topology

    return map_topology(*_map_files(points, codes, samples, mtimes))


def map_audit(points: str, codes: str, samples: Optional[str], k: int, factor: float):
    """The audit of an uploaded map (paths in this browser's private uploads): (report of
    :func:`vdae_core.study.map_audit.map_audit`, {idx, torn, folded, X, Z: the rows used} arrays, topology
    report). The persistence does not depend on k or the tear factor, so moving those sliders does not redo it."""
    key = _map_key(points, codes, samples)
    report, edges = _map_tears(*key, int(k), float(factor))
    return report, edges, _map_topology(*key)


@st.cache_data(show_spinner=False, max_entries=256)
def _map_row(path, mtime):
    from vdae_core.study.map_audit import run_map_summary

    return run_map_summary(_run(path, mtime))


def map_row(path: str) -> dict:
    """:func:`vdae_core.study.map_audit.run_map_summary` of a saved run (tears, folds, loops, RTD), cached per run."""
    return _map_row(os.path.abspath(path), _mtime(path))

"""Headless command line: ``python -m vdae_core <command> ...`` (the contract in DESIGN.md).

Every command prints a one-line ``error: ...`` and exits with status 2 on bad input; tracebacks are
only shown for genuine bugs (or with ``VDAE_DEBUG=1``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import List, Optional

import numpy as np

from vdae_core.foundation.errors import TrainingDiverged, UserInputError


def parse_overrides(pairs: List[str]) -> dict:
    """Parse ``--set key=value`` pairs; values are JSON where they parse, else strings."""
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise UserInputError(f"--set expects key=value, got '{p}'")
        k, v = p.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


#: Seeds every generator of the studio accepts (numpy's legacy and new generators, torch.manual_seed).
SEED_MAX = 2**32 - 1
#: The largest array a command builds for its output before it refuses (bytes).
OUTPUT_BYTES_MAX = 2 * 1024**3


def whole(lo: int, hi: int, what: str):
    """An argparse type: a whole number in [lo, hi] (``1e3`` is read as 1000), else a one-line error."""
    def parse(text: str) -> int:
        try:
            v = float(text)
            ok = v == v and abs(v) != float("inf") and v.is_integer()
        except ValueError:
            ok = False
        if not ok or not lo <= int(v) <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number from {lo:,} to {hi:,}, got {text!r}")
        return int(v)
    return parse


def positive(hi: float, what: str):
    """An argparse type: a finite number in (0, hi], else a one-line error."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = float("nan")
        if not 0 < v <= hi:  # False for NaN
            raise argparse.ArgumentTypeError(f"{what} must be a number above 0 and at most {hi:g}, got {text!r}")
        return v
    return parse


def check_output_size(shape, what: str, itemsize: int = 4) -> None:
    """Refuse, before allocating it, an output array larger than :data:`OUTPUT_BYTES_MAX`, with the memory it
    would need."""
    need = float(np.prod([float(d) for d in shape])) * itemsize
    if need > OUTPUT_BYTES_MAX:
        raise UserInputError(f"{what} of shape {tuple(int(d) for d in shape)} would need {need / 1024**3:.1f} GiB "
                             f"(the limit is {OUTPUT_BYTES_MAX / 1024**3:.0f} GiB): ask for fewer")


def _out_path(a, ext: str = "") -> str:
    """Check the command's ``--out`` before any work; returns the file that will be written.

    ``np.save``/``np.savez`` would append ``ext`` when it is missing, so the returned name has it. Refused
    with a one-line message: a folder (or a path ending in a slash), a missing or read-only parent folder,
    and an existing file unless ``--overwrite`` was given.
    """
    path = a.out
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise UserInputError(f"--out {path} is a folder: give a file name (e.g. {path.rstrip('/' + os.sep) or 'out'}/"
                             f"result{ext or '.json'})")
    out = path if path.endswith(ext) else path + ext
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d):
        raise UserInputError(f"output folder does not exist: {d}")
    if os.path.lexists(out) and not getattr(a, "overwrite", False):
        raise UserInputError(f"{out} already exists: pass --overwrite to replace it, or choose another --out")
    if not os.access(d, os.W_OK):
        raise UserInputError(f"cannot write to {d}: permission denied")
    return out


def _write_atomic(out: str, write) -> None:
    """Call ``write(file object)`` on a temporary file beside ``out``, then rename it to ``out``.

    A kill or a full disk leaves the previous ``out`` (or none), never a truncated file.
    """
    from vdae_core.foundation.files import write_atomic

    try:
        write_atomic(out, write)
    except OSError as e:
        raise UserInputError(f"could not write {out} ({e.strerror or e}); nothing was changed") from None


def cmd_list(a) -> None:
    from vdae_core.api import DATASETS, EMBEDDERS, MANIFOLDS, METRICS, MODELS, device_summary
    from vdae_core.study.metric_specs import lines as metric_lines

    for title, reg in (("datasets", DATASETS), ("models", MODELS), ("latent spaces", MANIFOLDS),
                       ("metric functions", METRICS), ("embedders", EMBEDDERS)):
        print(f"{title}:")
        for n in reg.names():
            extra = ""
            if reg is MODELS:
                caps = [k.removeprefix("has_").replace("_", " ") for k, v in MODELS.get(n).capabilities().items() if v]
                extra = f" [{', '.join(caps)}]"
            elif reg is MANIFOLDS:
                m = MANIFOLDS.get(n)()
                extra = f" [default {m.label}: dim {m.dim}, points of shape {m.shape}]"
            print(f"  {n:<20} {reg.help(n)}{extra}")
    print("reported metrics (evaluate, compare and the pages; each beside its floor):")
    for line in metric_lines():
        print(f"  {line}")
    print(f"device: {device_summary()}")


def cmd_data(a) -> None:
    from vdae_core.data import DataConfig, make_dataset

    out = _out_path(a, ".npz")
    ds = make_dataset(DataConfig(dataset=a.dataset, n=a.n, seed=a.seed, noise=a.noise, order=a.order))
    arrays = {"X": ds.X, "params": ds.params, "param_names": np.array(ds.param_names)}
    if ds.images is not None:
        arrays["images"] = ds.images  # uint8 (n, h, w): the pictures themselves, beside their ground truth
    if ds.labels is not None:
        arrays["labels"] = ds.labels
    _write_atomic(out, lambda fh: np.savez(fh, **arrays))
    extra = "".join(f", {k} {arrays[k].shape}" for k in ("images", "labels") if k in arrays)
    print(f"wrote {out}: X {ds.X.shape}, params {list(ds.param_names)}{extra}; data: {ds.source}")


def cmd_train(a) -> None:
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.runs import check_run_target, save_run
    from vdae_core.pipeline.presets import compose
    from vdae_core.pipeline.train import train_run

    check_run_target(a.out, a.overwrite)  # before training: a bad --out must not cost the user the model
    dc = DataConfig(dataset=a.dataset, n=a.n, seed=a.seed, noise=a.noise, order=a.order)
    last = {"phase": None}

    def report(p):
        if a.quiet:
            return
        if p.phase != last["phase"] or p.step == p.phase_steps:
            last["phase"] = p.phase
        loss = p.losses.get("loss")
        msg = f"\r[{p.fraction * 100:5.1f}%] {p.phase:<18} step {p.step:>6}/{p.phase_steps:<6}"
        if loss is not None:
            msg += f" loss {loss:.4g}"
        print(msg, end="", file=sys.stderr, flush=True)

    overrides = compose(a.model, a.preset, parse_overrides(a.set), a.steps_scale, dataset=a.dataset)
    run = train_run(a.model, dc, overrides, seed=a.seed, device=a.device, callbacks=[report])
    if not a.quiet:
        print(file=sys.stderr)
    save_run(run, a.out, overwrite=a.overwrite)
    print(f"saved run to {a.out} ({run.info['train_seconds']:.1f} s on {run.info['device']}); data: {run.dataset.source}")


def cmd_sample(a) -> None:
    from vdae_core.pipeline.runs import load_run
    from vdae_core.pipeline.sampling import random_walk

    out = _out_path(a, ".npz")
    run = load_run(a.run)
    check_output_size((a.steps + 1, a.n, run.dataset.X.shape[1]), "the walk")
    if a.start is not None and a.start >= run.dataset.n:
        raise UserInputError(f"--start {a.start} is not a training point: the run has {run.dataset.n} "
                             f"(0 to {run.dataset.n - 1})")
    walk = random_walk(run.model, run.dataset.X, a.n, a.steps, start=a.start, seed=a.seed)
    _write_atomic(out, lambda fh: np.savez(fh, walk=walk))
    print(f"wrote {out}: walk {walk.shape} (steps+1, n, dim)")


def _read_array(path: str, what: str, model=None) -> np.ndarray:
    """Points from an array file, or, for a model of images, the images of a folder or ``.zip`` in file-name
    order (resized to the model's image size)."""
    from vdae_core.data import read_points
    from vdae_core.data.images import images_as_points

    if os.path.isdir(path) or path.lower().endswith(".zip"):
        if not os.path.exists(path):
            raise UserInputError(f"not found: {path}")
        if model is None or len(model.data_shape) != 3:
            raise UserInputError(f"{os.path.basename(path.rstrip('/'))}: a folder or zip of images, but the run "
                                 f"was not trained on images: give {what} as .npy/.csv/.npz")
        X, names = images_as_points(path, model.data_shape)
        print(f"read {len(names)} images in file-name order ({names[0]} … {names[-1]}), as "
              f"{model.data_shape[1]}×{model.data_shape[2]} {'RGB' if model.data_shape[0] == 3 else 'grayscale'}")
        return X
    return read_points(path)


def _decode_target(a, model) -> str:
    """Where ``decode`` writes: a folder of PNGs for a model of images when ``--out`` has no extension or
    ends with a slash, else an ``.npy`` file (checked by :func:`_out_path`)."""
    out = a.out
    to_folder = out.endswith(("/", os.sep)) or os.path.isdir(out) or not os.path.splitext(out)[1]
    if not (to_folder and len(model.data_shape) == 3):
        return _out_path(a, ".npy")
    out = out.rstrip("/" + os.sep)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserInputError(f"output folder does not exist: {parent}")
    if os.path.exists(out) and (not os.path.isdir(out) or (os.listdir(out) and not a.overwrite)):
        raise UserInputError(f"{out} already exists and is not an empty folder: pass --overwrite to replace it")
    return out + os.sep


def _write_pngs(folder: str, x: np.ndarray, shape) -> None:
    """Write decoded pixels (n, C·H·W) as ``000000.png``… into ``folder``, atomically (a temporary folder
    renamed into place, so a failure leaves what was there before)."""
    from PIL import Image

    folder = folder.rstrip(os.sep)
    c, h, w = shape
    imgs = np.round(255 * np.clip(x.reshape(len(x), c, h, w), 0, 1)).astype(np.uint8)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(folder)), prefix=f".{os.path.basename(folder)}.")
    try:
        width = max(6, len(str(len(imgs) - 1)))
        for i, im in enumerate(imgs):
            Image.fromarray(im[0] if c == 1 else im.transpose(1, 2, 0)).save(os.path.join(tmp, f"{i:0{width}d}.png"))
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserInputError(f"could not write {folder} ({e.strerror or e}); nothing was changed") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cmd_encode(a) -> None:
    from vdae_core.pipeline.runs import load_run

    out = _out_path(a, ".npy")
    run = load_run(a.run)
    if not run.model.has_encoder:
        raise UserInputError(run.model.lacks("has_encoder", "there are no codes of data points to write"))
    z = run.model.encode(_read_array(a.input, "points", run.model))
    if a.coords:
        z = run.model.latent_coords(z)
        print(f"intrinsic coordinates of {run.model.latent_space.label}: "
              f"{', '.join(run.model.latent_space.coord_names)}")
    _write_atomic(out, lambda fh: np.save(fh, z))
    print(f"wrote {out}: {z.shape}")


def cmd_decode(a) -> None:
    from vdae_core.pipeline.runs import load_run

    run = load_run(a.run)
    out = _decode_target(a, run.model)
    x = run.model.decode(_read_array(a.input, "latent codes"))
    if out.endswith(os.sep):
        _write_pngs(out, x, run.model.data_shape)
        print(f"wrote {len(x)} images of {run.model.data_shape[1]}×{run.model.data_shape[2]} to {out}")
        return
    _write_atomic(out, lambda fh: np.save(fh, x))
    print(f"wrote {out}: {x.shape}")


def cmd_evaluate(a) -> None:
    from vdae_core.study.evaluation import evaluate, evaluate_points
    from vdae_core.pipeline.runs import load_run

    if a.run is not None and (a.reference or a.train):
        raise UserInputError("--reference and --train go with --samples or --model (a run carries its own "
                             "reference)")
    if a.run is None and not a.reference:
        raise UserInputError(f"{'--samples' if a.samples else '--model'} needs --reference: the points of the data's "
                             f"law the samples are judged against, never trained on")
    out = _out_path(a)
    npy = os.path.splitext(out)[0] + "_bilip.npy"
    if a.run is None:
        from vdae_core.data import read_points

        train = read_points(a.train) if a.train else None
        R = read_points(a.reference)
        model = _scripted(a)
        S = read_points(a.samples) if model is None else model.sample(a.n, a.seed, R.shape[1])
        summary = evaluate_points(S, R, train, seed=a.seed, reps=a.reps, with_gw_paper=a.gw_paper)
        if model is not None:
            summary["model"] = model.description()
        per_point = None
    else:
        if os.path.lexists(npy) and not a.overwrite:
            raise UserInputError(f"{npy} already exists: pass --overwrite to replace it, or choose another --out")
        run = load_run(a.run)
        summary, per_point = evaluate(run, n_samples=a.n, k=a.k, seed=a.seed, reps=a.reps, with_gw_paper=a.gw_paper)
    # Strict JSON: an infinite bi-Lipschitz value (a decoder that is not injective) is written as "inf".
    summary = _jsonable(summary)
    text = json.dumps(summary, indent=2, allow_nan=False).encode()
    _write_atomic(out, lambda fh: fh.write(text))
    if per_point is not None:
        _write_atomic(npy, lambda fh: np.save(fh, per_point))
    print(json.dumps(summary, indent=2))
    print(f"samples judged against {summary['reference']}; each sample metric has <name>_floor (mean over "
          f"{a.reps} independent samples of the data's law) and <name>_flagged (beyond 3 floor sds)")
    print(f"wrote {out}" + (f" and {npy}" if per_point is not None else ""))


def _check_map_args(a) -> None:
    """``--codes``, ``--model`` and ``--samples`` only with ``--points``; ``--points`` with one of ``--codes`` and
    ``--model``."""
    model = getattr(a, "model", None)
    if a.run is not None and (a.codes or a.samples_file or model):
        raise UserInputError("--codes, --model and --samples go with --points (a run carries its own codes and "
                             "samples)")
    if a.points is not None and bool(a.codes) == bool(model):
        raise UserInputError("--points needs --codes or --model (not both): row i of the codes is the code of row "
                             "i of the points, or the model's encode() gives them")


def _map_files(a):
    """Points, codes (``--codes``, or ``--model``'s encode) and samples (``--samples``, or the model's sampler) of
    a map given as files: :func:`vdae_core.study.map_audit.load_map`."""
    from vdae_core.study.map_audit import load_map

    _check_map_args(a)
    return load_map(a.points, a.codes, getattr(a, "model", None), getattr(a, "samples_file", None), a.seed)


def _map_source_args(s, model_gives: str) -> None:
    """``--run`` or ``--points`` (one of them), and with ``--points`` the codes: ``--codes`` or ``--model``."""
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="a run folder")
    src.add_argument("--points", help="points X (n × m: .npy, .npz with X, .csv, .txt) whose codes --codes holds")
    s.add_argument("--codes", help="with --points: codes Z (n × d, d ≤ 64; a vector is one column), row i the code "
                                   "of row i of X")
    s.add_argument("--model", help=f"with --points, instead of --codes: a TorchScript file whose encode(x) gives the "
                                   f"codes {model_gives}; never unpickled")


def _jsonable(obj):
    """``obj`` with every non-finite float written as a string ("inf": a map that is not injective), for strict
    JSON."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj


def _scripted(a):
    """``--model``'s file as a :class:`~vdae_core.models.scripted.ScriptedModel` (never unpickled), or None."""
    if not getattr(a, "model", None):
        return None
    from vdae_core.foundation.runtime import choose_device
    from vdae_core.models.scripted import ScriptedModel

    return ScriptedModel(a.model, device=str(choose_device(getattr(a, "device", "auto"))))


def cmd_likelihood(a) -> None:
    from vdae_core.api import MODELS
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.likelihood import held_out_likelihood

    out = _out_path(a, ".json")
    run = load_run(a.run)
    if not run.model.has_likelihood:
        raise UserInputError(run.model.lacks("has_likelihood", "models with one: " + ", ".join(
            n for n in MODELS.names() if MODELS.get(n).has_likelihood)))
    t0 = time.perf_counter()
    rep = held_out_likelihood(run, samples=a.samples, n=a.n, seed=a.seed)
    rep["seconds"] = round(time.perf_counter() - t0, 2)
    text = json.dumps(_jsonable(rep), indent=1, allow_nan=False).encode()
    _write_atomic(out, lambda fh: fh.write(text))
    for side in ("held_out", "training"):
        r = rep[side]
        print(f"{side.replace('_', '-'):9s} log-likelihood {r['log_likelihood']:.3f} ± {r['log_likelihood_se']:.3f}, "
              f"ELBO {r['elbo']:.3f}, reconstruction {r['recon']:.3f}, KL {r['kl']:.3f} ({rep['units']})")
    print(f"L = {rep['samples']} importance samples a point (Burda et al. 2016), {rep['points']} points a side; "
          f"held-out points: {rep['reference']}; training minus held-out: {rep['gap']:.3f}")
    print(f"wrote {out}")


def _seed_and_out_args(s) -> None:
    """--seed, --out and --overwrite of a command that writes one JSON report."""
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--out", required=True)
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def cmd_fd(a) -> None:
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.image_fd import image_fd

    out = _out_path(a, ".json")
    run = load_run(a.run)
    t0 = time.perf_counter()
    rep = image_fd(run, n=a.n, reps=a.reps, seed=a.seed)
    rep["seconds"] = round(time.perf_counter() - t0, 2)
    text = json.dumps(_jsonable(rep), indent=1, allow_nan=False).encode()
    _write_atomic(out, lambda fh: fh.write(text))
    print(f"FD {rep['fd']:.3f} (floor {rep['floor_mean']:.3f} ± {rep['floor_sd']:.3f}: training images against the "
          f"same {rep['n']} held-out images, {rep['reps']} draws)")
    print(f"in {rep['features']}; its quality on held-out images: "
          + ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in rep["feature_quality"].items()))
    print(f"wrote {out}")


def cmd_topology(a) -> None:
    out = _out_path(a, ".json")
    t0 = time.perf_counter()
    if a.points is not None:
        from vdae_core.study.map_audit import map_topology

        X, Z, S, _ = _map_files(a)
        rep = map_topology(X, Z, S, maxdim=a.maxdim, max_points=a.max_points, seed=a.seed, reps=a.reps)
    else:
        from vdae_core.pipeline.runs import load_run
        from vdae_core.study.topology import topology_report

        _check_map_args(a)
        run = load_run(a.run)
        rep = topology_report(run, maxdim=a.maxdim, max_points=a.max_points, n=a.n, seed=a.seed, reps=a.reps)
    rep["seconds"] = round(time.perf_counter() - t0, 2)
    text = json.dumps(_jsonable(rep), indent=1, allow_nan=False).encode()
    _write_atomic(out, lambda fh: fh.write(text))
    for name, c in rep["clouds"].items():
        if c is None:
            print(f"{name:8s} —  {rep['latent_note']}")
            continue
        sub = (f", a farthest-point subsample of {c['n_used']} (cover radius {c['cover_radius']:.3g})"
               if c["n_used"] < c["n_points"] else "")
        taus = ", ".join(f"{t:.3g}" for t in c["tau"])
        print(f"{name:8s} Betti {c['betti']} at persistence > τ = ({taus}) ({c['n_points']} points{sub})")
    for k, line in enumerate(rep["summary"]):
        if rep["distances"] is None:
            print(f"H{k}: {line}")
            continue
        b, (fm, fs) = rep["distances"]["bottleneck"][k], rep["floor"]["bottleneck"][k]
        print(f"H{k}: {line}; bottleneck data–samples {b:.3g} (floor {fm:.3g} ± {fs:.3g})")
    print(f"data = {rep['reference']}; wrote {out} ({rep['seconds']} s)")


def cmd_audit(a) -> None:
    from vdae_core.pipeline.runs import load_run
    from vdae_core.study.topology import prior_hole_report, rtd_report, tear_report

    out = _out_path(a, ".json")
    npz = os.path.splitext(out)[0] + "_per_point.npz"
    if os.path.lexists(npz) and not a.overwrite:
        raise UserInputError(f"{npz} already exists: pass --overwrite to replace it, or choose another --out")
    a.samples_file = None
    if a.points is not None:
        return _audit_map(a, out, npz)
    _check_map_args(a)
    run = load_run(a.run)
    report, arrays, skipped = {"per_point_file": os.path.basename(npz)}, {}, []
    t0 = time.perf_counter()
    try:
        summary, r, _, _ = tear_report(run, k=a.k, factor=a.factor, max_points=a.max_points, seed=a.seed)
        pp = r.per_point()
        arrays.update(index=r.idx, tears=pp["tears"], folds=pp["folds"], torn_edges=r.idx[r.torn],
                      folded_edges=r.idx[r.folded])
        report["tears_folds"] = summary
    except UserInputError as e:
        report["tears_folds"] = {"skipped": str(e)}
        skipped.append(f"tears and folds: {e}")
    try:
        report["rtd"] = rtd_report(run, max_points=a.max_points, seed=a.seed)
    except UserInputError as e:
        report["rtd"] = {"skipped": str(e)}
        skipped.append(f"RTD: {e}")
    try:
        summary, h, _, Zp, _, _ = prior_hole_report(run, n=a.n_prior, seed=a.seed)
        arrays.update(prior_codes=Zp, log10_density_ratio=h.log_ratio, decoded_spacings_off=h.off)
        report["prior_holes"] = summary
    except UserInputError as e:
        report["prior_holes"] = {"skipped": str(e)}
        skipped.append(f"prior holes: {e}")
    if not arrays:
        raise UserInputError("nothing to audit: " + "; ".join(skipped))
    report["seconds"] = round(time.perf_counter() - t0, 2)
    text = json.dumps(report, indent=1).encode()
    _write_atomic(npz, lambda fh: np.savez(fh, **arrays))
    _write_atomic(out, lambda fh: fh.write(text))
    tf, ph = report["tears_folds"], report["prior_holes"]
    if "skipped" not in tf:
        _print_tears(tf)
    if "skipped" not in report["rtd"]:
        _print_rtd(report["rtd"])
    if "skipped" not in ph:
        hf, of = ph["hole_share_floor"], ph["off_share_floor"]
        print(f"prior holes: {ph['hole_share']:.1%} of {ph['n_prior']} prior codes where the data's density is "
              f"below {ph['hole_ratio']:g} of the prior's (floor {hf[0]:.1%} ± {hf[1]:.1%}); "
              f"{ph['off_share']:.1%} decode beyond {ph['t_spacings']:g} data spacing of the data "
              f"(floor {of[0]:.1%} ± {of[1]:.1%})")
    for line in skipped:
        print(f"skipped {line}")
    print(f"wrote {out} and {npz} (per point: tears, folds, edges as training-point indices; per prior code: "
          f"codes, log10 density ratio, distance off the data in spacings) in {report['seconds']} s")


def _print_tears(tf) -> None:
    print(f"tears: {tf['torn_edges']} of {tf['data_edges']} data-neighbour edges longer than "
          f"{tf['factor']:g} typical edges in the latent ({tf['points_at_a_tear']} points); folds: "
          f"{tf['folded_edges']} of {tf['latent_edges']} latent-neighbour edges longer than "
          f"{tf['factor']:g} typical edges in the data ({tf['points_at_a_fold']} points); "
          f"{tf['n_points']} points, k = {tf['k']}")


def _print_rtd(r) -> None:
    print(f"RTD of the codes against the data: {r['value']:.3g} (0: the same topology; {r['trials']} batches of "
          f"{r['batch']} pairs)")


def _audit_map(a, out: str, npz: str) -> None:
    """``audit --points X --codes Z``: tears, folds, bi-Lipschitz, trustworthiness and continuity of any map."""
    from vdae_core.study.map_audit import map_audit

    X, Z, _, model = _map_files(a)
    t0 = time.perf_counter()
    report, tf = map_audit(X, Z, k=a.k, factor=a.factor, max_points=a.max_points, seed=a.seed)
    report["prior_holes"] = {"skipped": "codes given without a prior: no hole map"}
    if model is not None:
        report["model"] = model.description()
        if model.has_decoder:  # the decoder's constants over latent neighbours, as for a run (Eq. 12)
            from vdae_core.metrics.bilipschitz import bilipschitz_both, bilipschitz_summary

            Zs = Z[tf.idx]
            raw, free = bilipschitz_both(Zs, model.decode(Zs, X.shape[1]), k=a.k)
            report["decoder_bilipschitz"] = {"median": bilipschitz_summary(raw)["median"],
                                             "scale_free_median": bilipschitz_summary(free)["median"]}
    report["per_point_file"] = os.path.basename(npz)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    pp = tf.per_point()
    text = json.dumps(_jsonable(report), indent=1, allow_nan=False).encode()
    _write_atomic(npz, lambda fh: np.savez(fh, index=tf.idx, tears=pp["tears"], folds=pp["folds"],
                                          torn_edges=tf.idx[tf.torn], folded_edges=tf.idx[tf.folded]))
    _write_atomic(out, lambda fh: fh.write(text))
    _print_tears(report["tears_folds"])
    _print_rtd(report["rtd"])
    b = report["bilipschitz"]
    print(f"bi-Lipschitz of the map over {a.k} latent neighbours: median {b['median']:.3g} (scale-free "
          f"{b['scale_free_median']:.3g}); trustworthiness {report['trustworthiness']:.4f}, continuity "
          f"{report['continuity']:.4f}")
    print(f"wrote {out} and {npz} (per point: tears, folds; edges as row indices of --points) in "
          f"{report['seconds']} s")


def cmd_stability(a) -> None:
    from vdae_core.study.stability import seed_stability
    from vdae_core.study.sweep import progress_bar

    out = a.out.rstrip("/" + os.sep)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserInputError(f"output folder does not exist: {parent}")
    files = [os.path.join(out, f) for f in ("stability.json", "per_point.npz")]
    if any(os.path.lexists(f) for f in files) and not a.overwrite:
        raise UserInputError(f"{out} already holds a stability result: pass --overwrite to replace it")
    os.makedirs(out, exist_ok=True)
    workers = a.workers if a.workers is not None else (os.cpu_count() or 1)
    t0 = time.perf_counter()
    st = seed_stability(a.dataset, a.model, seeds=a.seeds, n_points=a.n, k=a.k, cache=os.path.join(out, "runs"),
                        workers=workers, steps_scale=a.steps_scale, batch_seeds=a.batch_seeds,
                        progress=lambda d, t, row: print(progress_bar(d, t, row), file=sys.stderr, flush=True))
    summary = {**st.summary(), "seconds": round(time.perf_counter() - t0, 1)}
    text = json.dumps(summary, indent=1, default=float).encode()
    _write_atomic(files[1], lambda fh: np.savez(fh, points=st.points, bilip=st.bilip, torn=st.torn,
                                                bilip_cv=st.bilip_cv, tear_share=st.tear_share))
    _write_atomic(files[0], lambda fh: fh.write(text))
    from vdae_core.study.analysis import DisplayProjection
    from vdae_core.viz.export import figure_html
    from vdae_core.viz.topology import stability_figure

    fig = stability_figure(DisplayProjection(st.points)(st.points), st.bilip_cv, st.tear_share, f"{a.model} on {a.dataset}, seeds {summary['seeds']}")
    html = figure_html(fig, "seed stability").encode()
    _write_atomic(os.path.join(out, "stability.html"), lambda fh: fh.write(html))
    print(f"{a.model} on {a.dataset}, seeds {summary['seeds']}: per-point bi-Lipschitz CV median "
          f"{summary['bilip_cv_median']:.3g} (90th percentile {summary['bilip_cv_p90']:.3g}); torn points per seed "
          f"{summary['torn_points_per_seed']}: {summary['points_torn_by_every_seed']} torn by every seed, "
          f"{summary['points_torn_by_some_seeds']} by some")
    for key, m in summary["metrics"].items():
        print(f"  {key}: {m['mean']:.4g} ± {m['std']:.2g} (min {m['min']:.4g}, max {m['max']:.4g})")
    print(f"wrote {files[0]}, {files[1]} and stability.html (runs cached in {os.path.join(out, 'runs')})")


def cmd_compare(a) -> None:
    from vdae_core.study.compare import PAPER_MODELS, PAPER_TABLE1, aggregate, compare_rows, markdown_table, table_files
    from vdae_core.foundation.registry import MODELS
    from vdae_core.study.sweep import progress_bar

    out = _out_path(a)
    stem = out[:-3] if out.endswith(".md") else out
    # 'all': every generative model (the encoder-only learners have no samples for Table 1's columns; name them)
    models = ([m for m in MODELS.names() if MODELS.get(m).has_sampler and MODELS.tags(m).get("listed", True)]
              if a.models == "all" else a.models.split(","))
    if a.models == "all":  # the paper's four first, then every other generative model as extra rows
        first = [m for m in PAPER_MODELS if m in models]
        models = first + [m for m in models if m not in first]
    workers = a.workers if a.workers is not None else (os.cpu_count() or 1)
    cache = a.cache or stem + ".runs"
    seeds, scale = (1, 0.1) if a.quick else (a.seeds, a.steps_scale)
    t0 = time.perf_counter()
    rows = compare_rows(a.datasets.split(","), models, seeds, n_samples=a.n, steps_scale=scale,
                        n_points=a.n_points, reps=a.reps, cache=cache, workers=workers, ray_address=a.ray,
                        batch_seeds=a.batch_seeds,
                        progress=lambda d, t, row: print(progress_bar(d, t, row), file=sys.stderr, flush=True))
    wall = time.perf_counter() - t0
    md = markdown_table(aggregate(rows), paper=PAPER_TABLE1)
    md += (f"\nCommand: `python -m vdae_core {' '.join(sys.argv[1:])}` · {len(rows)} runs · wall time {wall:.0f} s · "
           f"engine: {'Ray (' + a.ray + ')' if a.ray else f'{workers} worker process(es)'} · cached runs in {cache}\n")
    for ext, data in table_files(rows, {"wall_s": wall}).items():
        _write_atomic(stem + ext, lambda fh, data=data: fh.write(data))
    _write_atomic(out, lambda fh: fh.write(md.encode()))
    print(md)
    print(f"wrote {out}, {stem}.csv and {stem}.json", file=sys.stderr)


def cmd_lessons(a) -> None:
    from vdae_core.lessons import get_lesson, lessons, run_lesson
    from vdae_core.lessons.handout import handout_html

    out = _out_path(a, ".html")
    chosen = [get_lesson(k) for k in a.only.split(",")] if a.only else lessons()
    done = []
    for L in chosen:
        res = run_lesson(L, root=a.runs, scale=a.steps_scale,
                         progress=lambda f, text: print(f"  {text}", file=sys.stderr, flush=True))
        print(f"{L.key}: {'cached' if res.cached else 'computed'} in {res.seconds:.1f} s", file=sys.stderr, flush=True)
        done.append((L, res))
    html = handout_html(done).encode()
    _write_atomic(out, lambda fh: fh.write(html))
    print(f"wrote {out} ({len(done)} lesson{'s' * (len(done) != 1)}; runs under {a.runs or 'the runs root'})")


SEED = whole(0, SEED_MAX, "--seed")
STEPS_SCALE = positive(1000.0, "--steps-scale")


def build_parser() -> argparse.ArgumentParser:
    from vdae_core.pipeline.presets import PRESETS

    p = argparse.ArgumentParser(prog="python -m vdae_core", description="VDAE Studio, headless.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list datasets, models, metrics and the device")
    s.set_defaults(fn=cmd_list)

    def data_args(s, n_default=2000):
        s.add_argument("--dataset", required=True, help="registered name, or a .npy/.csv/.npz (key X) point cloud, "
                                                          ".ply/.obj/.off/.stl mesh, or a folder/.zip of images")
        s.add_argument("--n", type=whole(10, 200_000, "--n"), default=n_default,
                       help="number of points (default %(default)s)")
        s.add_argument("--order", choices=("line", "circle"), default="line",
                       help="for a folder/.zip of images: the file-name order is a line (a video's frames, the "
                            "default) or a circle (a turntable: the angle 2πi/N becomes the ground truth)")
        s.add_argument("--seed", type=SEED, default=0, help="random seed (default 0)")
        s.add_argument("--noise", type=float, default=0.0, help="Gaussian noise std added to synthetic data")

    s = sub.add_parser("data", help="write a dataset to .npz (keys X, params, param_names; images and labels "
                                    "where the set has them)")
    data_args(s)
    s.add_argument("--out", required=True)
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.set_defaults(fn=cmd_data)

    s = sub.add_parser("train", help="train a model and save a run folder")
    data_args(s)
    s.add_argument("--model", default="vdae", help="registered model name (default vdae)")
    s.add_argument("--device", default=None, help="auto (default), cpu, cuda or mps")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="model config override, repeatable "
                                                                       "(e.g. --set latent_dim=3 --set alpha=100)")
    s.add_argument("--steps-scale", type=STEPS_SCALE, default=1.0,
                   help="multiply every training step count (quick runs)")
    s.add_argument("--preset", choices=tuple(PRESETS), default=None,
                   help="start from a preset: 'quick' (a short demo run), 'paper' (the model's paper literally: "
                        "architecture and loss weighting), 'live' (seconds on a laptop CPU, at a measured cost "
                        "in quality; VDAE), 'tuned' (a baseline's settings for the dataset from its validation "
                        "sweep) or 'defaults'; --set overrides it, --steps-scale then scales every training length")
    s.add_argument("--quiet", action="store_true", help="no progress line")
    s.add_argument("--out", required=True, help="run folder to write")
    s.add_argument("--overwrite", action="store_true", help="replace the run already at --out (atomically)")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("sample", help="random walks from a trained run; writes .npz key 'walk' (steps+1, n, dim)")
    s.add_argument("--run", required=True)
    s.add_argument("--n", type=whole(1, 10**9, "--n"), default=1000, help="walkers (default 1000)")
    s.add_argument("--steps", type=whole(0, 100_000, "--steps"), default=20, help="steps (default 20)")
    s.add_argument("--start", type=whole(0, 10**9, "--start"), default=None,
                   help="start every walker at training point I (default: random training points)")
    _seed_and_out_args(s)
    s.set_defaults(fn=cmd_sample)

    for name, fn, what in (("encode", cmd_encode, "points (.npy/.csv/.npz), or for a run on images a folder/.zip of "
                                                  "images in file-name order, to latent codes (.npy): points of the "
                                                  "model's latent space in ambient coordinates, (n, *shape)"),
                           ("decode", cmd_decode, "latent codes (.npy/.csv/.npz) to points (.npy), or for a run on "
                                                  "images to PNGs when --out is a folder (no extension)")):
        s = sub.add_parser(name, help=what)
        s.add_argument("--run", required=True)
        s.add_argument("--input", required=True)
        s.add_argument("--out", required=True)
        if fn is cmd_encode:
            s.add_argument("--coords", action="store_true",
                           help="write the latent space's intrinsic coordinates (angles, axis-angle) instead of its "
                                "ambient coordinates")
        s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
        s.set_defaults(fn=fn)

    s = sub.add_parser("evaluate", help="metrics of a run (--run) or of any samples (--samples with --reference) "
                       "against held-out data, each with its noise floor (JSON): GW, MMD at 3 bandwidths, "
                       "precision/recall/density/coverage, memorisation, lumpiness, off-data share, topology, KS per "
                       "coordinate; bi-Lipschitz, trustworthiness, continuity of a run's encoder")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="a run folder")
    src.add_argument("--samples", help="generated points from any model (.npy, .npz with X, .csv, .txt)")
    src.add_argument("--model", help="a TorchScript file (torch.jit.save) whose samples are judged (--n of them, "
                                     "seeded): sample(n), or generate(z) with a latent_dim attribute; never "
                                     "unpickled")
    s.add_argument("--reference", help="with --samples or --model: points of the data's law never trained on (floors come "
                                       "from a disjoint half of them)")
    s.add_argument("--train", help="with --samples: the generator's training points (memorisation needs them)")
    s.add_argument("--gw-paper", action="store_true", help="also the max-normalised GW of the VDAE paper's code "
                                                          "(gw_paper, as Table 1 reports it; doubles the time)")
    s.add_argument("--n", type=whole(20, 100_000, "--n"), default=1000, help="generated samples (default 1000)")
    s.add_argument("--k", type=whole(1, 1000, "--k"), default=10,
                   help="neighbours for bi-Lipschitz/trustworthiness (default 10)")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--reps", type=whole(2, 100, "--reps"), default=5,
                   help="independent law samples behind each noise floor (default 5)")
    s.add_argument("--out", required=True)
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.set_defaults(fn=cmd_evaluate)

    s = sub.add_parser("likelihood", help="importance-sampled log-likelihood (Burda et al. 2016) of a run with a "
                       "posterior, a prior and a decoder density, on held-out points and on as many training points "
                       "(JSON): log p(x), ELBO, reconstruction and KL in nats per point with standard errors")
    s.add_argument("--run", required=True)
    s.add_argument("--samples", type=whole(1, 10_000, "--samples"), default=100,
                   help="importance samples per point (default 100, the ΔVAE paper's)")
    s.add_argument("--n", type=whole(2, 100_000, "--n"), default=1000, help="points on each side (default 1000)")
    _seed_and_out_args(s)
    s.set_defaults(fn=cmd_likelihood)

    s = sub.add_parser("fd", help="sample quality of a run on images: the Fréchet distance between its samples and "
                       "its held-out images in the features of a network the studio trains on the run's training "
                       "split (a classifier where the images have labels, else an autoencoder; not an Inception FID), "
                       "with the floor of real training images (JSON)")
    s.add_argument("--run", required=True)
    s.add_argument("--n", type=whole(10, 100_000, "--n"), default=None,
                   help="images a side (default: the held-out split, at most 2,000)")
    s.add_argument("--reps", type=whole(2, 100, "--reps"), default=3, help="training draws behind the floor (default 3)")
    _seed_and_out_args(s)
    s.set_defaults(fn=cmd_fd)

    s = sub.add_parser("topology", help="persistent homology (ripser) of a run's data, latent codes and samples: "
                       "diagrams, Betti numbers at a stated threshold, bottleneck/Wasserstein distances data–samples "
                       "with their noise floor (JSON); of a run, or of any map (--points X --codes Z [--samples S])")
    _map_source_args(s, "and whose sampler (if any) the samples")
    s.add_argument("--samples", dest="samples_file",
                   help="with --points: generated points (M × m), judged against a random half of the points with "
                        "floors from the other half")
    s.add_argument("--maxdim", type=whole(0, 2, "--maxdim"), default=1,
                   help="highest homology dimension: 1 = components and loops (default), 2 adds voids (slower)")
    s.add_argument("--max-points", type=whole(20, 2000, "--max-points"), default=400,
                   help="farthest-point subsample size per cloud, at most (default 400; fewer once the cloud is covered to "
                        "1%% of its median distance)")
    s.add_argument("--n", type=whole(20, 100_000, "--n"), default=1000,
                   help="generated samples, and the size of a fresh reference (default 1000)")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--reps", type=whole(2, 20, "--reps"), default=3,
                   help="independent law samples behind each noise floor (default 3)")
    s.add_argument("--out", required=True)
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.set_defaults(fn=cmd_topology)

    s = sub.add_parser("audit", help="tears (data neighbours cut apart in the latent) and folds (latent neighbours "
                       "from far apart in the data) of a run's encoder, and its prior holes (prior codes where the "
                       "data's codes are sparse, and how far they decode from the data); JSON, per-point arrays "
                       "in .npz; of a run, or of any map (--points X --codes Z: tears, folds, bi-Lipschitz, "
                       "trustworthiness, continuity)")
    _map_source_args(s, "(and decode(z), if it has one, the decoder's bi-Lipschitz)")
    s.add_argument("--k", type=whole(2, 100, "--k"), default=10, help="neighbours in both kNN graphs (default 10)")
    s.add_argument("--factor", type=positive(1e6, "--factor"), default=10.0,
                   help="length, in typical edges, above which an edge is torn or folded (default 10)")
    s.add_argument("--max-points", type=whole(50, 100_000, "--max-points"), default=2000,
                   help="seeded random subset above this many training points (default 2000)")
    s.add_argument("--n-prior", type=whole(50, 100_000, "--n-prior"), default=2000,
                   help="prior codes drawn for the hole map, and training codes it compares them with (default 2000)")
    _seed_and_out_args(s)
    s.set_defaults(fn=cmd_audit)

    s = sub.add_parser("stability", help="train one model on one dataset with several seeds (cached, parallel) and "
                       "report per-point variability of its bi-Lipschitz constant and tear map, and the spread of "
                       "each summary metric")
    s.add_argument("--dataset", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--seeds", type=whole(2, 100, "--seeds"), default=5, help="seeds 0..K-1 (default 5)")
    s.add_argument("--n", type=whole(50, 20_000, "--n"), default=1000,
                   help="common points every run is read on (a fresh sample of the law; default 1000)")
    s.add_argument("--k", type=whole(2, 100, "--k"), default=10, help="neighbours (default 10)")
    s.add_argument("--workers", type=whole(1, 256, "--workers"), default=None, help="processes (default: cores)")
    s.add_argument("--steps-scale", type=STEPS_SCALE, default=1.0, help="multiply every training length")
    s.add_argument("--batch-seeds", action="store_true", help="train the seeds of a model that stacks them (wgan_gp) "
                   "as one stacked model (off by default: slower than one by one on a CPU, docs/BENCHMARKS.md)")
    s.add_argument("--out", required=True, help="a folder: stability.json, per_point.npz, stability.html, runs/")
    s.add_argument("--overwrite", action="store_true", help="replace the results in --out")
    s.set_defaults(fn=cmd_stability)

    s = sub.add_parser("compare", help="train and evaluate models x datasets x seeds (cached, resumable, parallel); "
                                       "writes Markdown, CSV and JSON tables")
    s.add_argument("--datasets", required=True, help="comma-separated dataset names")
    s.add_argument("--models", required=True, help="comma-separated model names, or 'all': every generative model, the paper's four first "
                                                        "(encoder-only learners such as pca or umap by name)")
    s.add_argument("--seeds", type=whole(1, 1000, "--seeds"), default=5, help="number of seeds (0..S-1)")
    s.add_argument("--n", type=whole(20, 100_000, "--n"), default=1000, help="generated samples per run")
    s.add_argument("--n-points", type=whole(10, 200_000, "--n-points"), default=2000,
                   help="training points per dataset (the paper states none)")
    s.add_argument("--reps", type=whole(2, 100, "--reps"), default=5, help="draws of the noise floor per metric")
    s.add_argument("--steps-scale", type=STEPS_SCALE, default=1.0)
    s.add_argument("--quick", action="store_true", help="short schedules (0.1x) and one seed: a smoke run")
    s.add_argument("--workers", type=whole(1, 1024, "--workers"), default=None,
                   help="worker processes on this machine (default: cores)")
    s.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run on Ray: 'local' starts an instance here, 'auto' joins the running cluster, or an address")
    s.add_argument("--cache", default=None, help="folder of cached runs (default: <out>.runs); a rerun skips them")
    s.add_argument("--batch-seeds", action="store_true", help="train the seeds of a model that stacks them (wgan_gp) "
                   "together, one unit of work per dataset and model (off by default: slower than one by one on a "
                   "CPU, docs/BENCHMARKS.md)")
    s.add_argument("--out", required=True, help="the Markdown table; .csv and .json are written beside it")
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.set_defaults(fn=cmd_compare)

    s = sub.add_parser("lessons", help="run the Lessons page's guided experiments (cached under the runs root) and "
                                       "write them as one self-contained HTML handout")
    s.add_argument("--only", default=None, help="comma-separated lesson names (default: all, in order)")
    s.add_argument("--runs", default=None, help="runs root to train into and read from (default: $VDAE_RUNS_DIR "
                                                "or ./runs, as the app)")
    s.add_argument("--steps-scale", type=STEPS_SCALE, default=1.0)
    s.add_argument("--out", required=True, help="the handout (.html)")
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.set_defaults(fn=cmd_lessons)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        from vdae_core.foundation.runtime import set_threads

        set_threads()
        a.fn(a)
    except (UserInputError, TrainingDiverged, FileNotFoundError) as e:
        if os.environ.get("VDAE_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0

"""Issue 12: a battery of bad inputs through the CLI and the app, counted by outcome.

    python benchmarks/bad_inputs.py [--only cli|app] [--workers 2] [--log bad_inputs.jsonl]

Every case is an input a user could give by mistake or on purpose: wrong files (corrupt, empty, NaN, inf,
complex, strings, ragged, 1-D, 3-D, repeated points, values beyond float32, meshes with NaN vertices or on a
line, image folders and zips with corrupt, 16-bit, huge or bomb entries), wrong values (--set of every wrong
type, NaN/inf/0/negative scales, seeds out of range, absurd sizes), wrong outputs (a folder, a trailing slash,
a missing or read-only folder, an existing file) and damaged run folders. Each CLI case runs in its own
process under ``/usr/bin/time`` (peak memory) with a time limit, and is classified:

- ``refused``: exit status 2 with an ``error:`` line and no traceback (the goal for every bad input);
- ``traceback``: a Python traceback, or an exit status other than 0 and 2;
- ``silent``: exit status 0, i.e. a bad input accepted without a word;
- ``hang``: still running at the time limit.

Cases marked *accepted with a stated change* (a 16-bit image set, a folder named like an image) must exit 0
and say what changed; they count as ``refused``-equivalent ``stated`` when they do, ``silent`` otherwise.

The app part uploads each bad file to the Data page of a fresh AppTest session (no exception; an error
shown; the session's dataset unchanged), opens each damaged run folder on the Latent, Walks and
Bi-Lipschitz pages (no exception; a message), and runs the three-session privacy tests
(``tests/test_privacy.py``: an upload and the run trained on it are seen by the uploading session only;
a failure counts as a ``leak``).
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TIME_LIMIT = 180
MEMORY_LIMIT_MB = 2048


# -- the files ------------------------------------------------------------------------------------------------
def make_files(d: str) -> dict:
    """Bad (and two stated-change) input files in ``d``; returns name -> path."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ok = rng.normal(size=(200, 3))
    files = {}

    def put(name, data):
        p = os.path.join(d, name)
        if isinstance(data, bytes):
            with open(p, "wb") as fh:
                fh.write(data)
        elif isinstance(data, str):
            with open(p, "w") as fh:
                fh.write(data)
        else:
            np.save(p, data)
        files[name] = p

    put("nan.npy", np.r_[ok, [[np.nan, 1, 2]]])
    put("inf.npy", np.r_[ok, [[np.inf, 1, 2]]])
    put("complex.npy", ok + 1j * ok)
    put("strings.npy", np.array([["a", "b", "c"]] * 50))
    put("object.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }" + b" " * 50
        + b"\n" + b"\x00" * 16)
    put("one_d.npy", ok[:, 0])
    put("three_d.npy", ok.reshape(20, 10, 3))
    put("repeated.npy", np.tile([[1.0, 2.0, 3.0]], (300, 1)))
    put("huge_values.npy", np.r_[ok, [[1e300, 0, 0]]])
    put("empty_array.npy", np.zeros((0, 3)))
    put("few.npy", ok[:5])
    put("empty.npy", b"")
    put("truncated.npy", open(_tmp_npy(ok), "rb").read()[:100])
    put("pickle.npy", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.")
    put("text_as.npy", "this is not numpy")
    put("bad.csv", "1,2,3\nfoo,bar,baz\n")
    put("ragged.csv", "\n".join(["1,2,3"] * 30 + ["4,5"]))
    put("nan.csv", "\n".join(["1,2,3"] * 30 + ["nan,1,2"]))
    put("empty.csv", "")
    put("header_only.csv", "x,y,z\n")
    put("semicolons.csv", "\n".join(f"{a};{b};{c}" for a, b, c in ok))
    put("binary.csv", bytes(range(256)) * 4)
    put("wrongkey.npz", _npz(Y=ok))
    put("nan.npz", _npz(X=np.r_[ok, [[np.nan, 0, 0]]]))
    put("notzip.npz", b"PK\x03\x04 not really")
    put("junk.ply", "this is not a mesh")
    put("noface.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    put("nanvertex.obj", "v 0 0 0\nv 1 0 0\nv nan 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 2 3 4\n")
    put("line.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n")
    put("nearline.obj", "v 0 0 0\nv 1 0 0\nv 2 1e-9 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n")
    put("badindex.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    put("empty.stl", b"")
    put("unknown.xyz", "1 2 3\n")
    put("noext", "1,2,3\n")
    # Image collections.
    for name, make in (("corrupt_imgs", _corrupt_imgs), ("one_img", _one_img), ("mixed_imgs", _mixed_imgs),
                       ("huge_imgs", _huge_imgs), ("empty_dir", lambda p: None)):
        p = os.path.join(d, name)
        os.makedirs(p)
        make(p)
        files[name] = p
    files["bomb.zip"] = _bomb_zip(os.path.join(d, "bomb.zip"))
    files["slip.zip"] = _slip_zip(os.path.join(d, "slip.zip"))
    files["broken.zip"] = os.path.join(d, "broken.zip")
    with open(files["broken.zip"], "wb") as fh:
        fh.write(b"PK\x03\x04" + b"\x00" * 40)
    # Accepted with a stated change.
    p = os.path.join(d, "sixteen_bit")
    os.makedirs(p)
    for i in range(12):
        Image.fromarray((rng.integers(0, 65535, (8, 8))).astype(np.uint16)).save(os.path.join(p, f"i{i}.png"))
    files["sixteen_bit"] = p
    p = os.path.join(d, "folder_named_png")
    os.makedirs(os.path.join(p, "sub.png"))
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(os.path.join(p, f"i{i}.png"))
    files["folder_named_png"] = p
    # Codes for decode: wrong width, NaN, strings.
    put("codes_wide.npy", rng.normal(size=(10, 40)))
    put("codes_nan.npy", np.full((10, 2), np.nan))
    return files


def _tmp_npy(a):
    fd, p = tempfile.mkstemp(suffix=".npy")
    os.close(fd)
    np.save(p, a)
    return p


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _corrupt_imgs(p):
    from PIL import Image

    for i in range(5):
        Image.new("L", (8, 8), i * 40).save(os.path.join(p, f"i{i}.png"))
    with open(os.path.join(p, "bad.png"), "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n garbage")


def _one_img(p):
    from PIL import Image

    Image.new("L", (8, 8)).save(os.path.join(p, "only.png"))


def _mixed_imgs(p):
    from PIL import Image

    Image.new("L", (8, 8)).save(os.path.join(p, "a.png"))
    with open(os.path.join(p, "b.png"), "wb") as fh:
        fh.write(b"")


def _huge_imgs(p):
    from PIL import Image

    for i in range(2):
        Image.new("1", (8000, 6000)).save(os.path.join(p, f"h{i}.png"))


def _bomb_zip(p):
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.png", b"\0" * (300 * 1024**2))
        z.writestr("b.png", b"\0" * 10)
    return p


def _slip_zip(p):
    from PIL import Image

    with zipfile.ZipFile(p, "w") as z:
        for i in range(3):
            buf = io.BytesIO()
            Image.new("L", (8, 8), 30 * i).save(buf, format="PNG")
            z.writestr(f"../../escape{i}.png", buf.getvalue())
    return p


# -- runs ------------------------------------------------------------------------------------------------------
sys.path.insert(0, os.path.join(ROOT, "tests"))
from test_run_folders import DAMAGES, _damage  # noqa: E402  (the run-folder tests' damages, one definition)


def make_runs(d: str) -> dict:
    """A tiny good run and one damaged copy per :data:`DAMAGES`; returns name -> folder."""
    from vdae_core.data import DataConfig
    from vdae_core.pipeline.runs import save_run
    from vdae_core.pipeline.train import train_run

    tiny = dict(spectral_steps=5, vae_steps=5, hidden=16, depth=1, spectral_batch=128, batch_size=64, latent_dim=2)
    run = train_run("vdae", DataConfig(dataset="circle", n=200, seed=0), tiny, seed=0, device="cpu")
    good = os.path.join(d, "good")
    save_run(run, good)
    out = {"good": good}
    for how in DAMAGES:
        p = os.path.join(d, how.replace(" ", "_"))
        shutil.copytree(good, p)
        _damage(p, how)
        out[how] = p
    return out


# -- the CLI cases ---------------------------------------------------------------------------------------------
def cli_cases(files: dict, runs: dict, d: str):
    """(label, argv, expect) with expect 'refuse' or ('state', fragment)."""
    good = runs["good"]
    out = os.path.join(d, "out")
    cases = []
    bad_data = [k for k in files if k not in ("sixteen_bit", "folder_named_png", "codes_wide", "codes_nan")
                and not k.startswith("codes_")]
    for name in bad_data:
        cases.append((f"train --dataset {name}", ["train", "--dataset", files[name], "--model", "beta_vae",
                                                   "--set", "steps=5", "--out", f"{out}/t_{name}"], "refuse"))
    for name in ("nan.npy", "complex.npy", "strings.npy", "one_d.npy", "three_d.npy", "huge_values.npy",
                 "empty_array.npy", "bad.csv", "ragged.csv", "wrongkey.npz"):
        cases.append((f"encode --input {name}", ["encode", "--run", good, "--input", files[name],
                                                  "--out", f"{out}/e_{name}"], "refuse"))
    for name in ("codes_wide.npy", "codes_nan.npy", "strings.npy", "complex.npy", "three_d.npy", "huge_values.npy"):
        cases.append((f"decode --input {name}", ["decode", "--run", good, "--input", files[name],
                                                  "--out", f"{out}/d_{name}"], "refuse"))
    sets = ["hidden=abc", "hidden=3.5", "hidden=true", "hidden=[1,2]", 'hidden={"a":1}', "hidden=null", "hidden=-1",
            "hidden=0", "hidden=1e12", "lr=nan", "lr=inf", "lr=-1", "lr=0", 'lr="fast"', "lr=[0.1]", "beta=-1",
            "beta=nan", "latent_dim=-2", "latent_dim=1000", "steps=0", "steps=2.5", "steps=1e9", "activation=42",
            "activation=swish", "device=tpu", "nope=1", "alpha", "=3", "batch_size=1", "recon_var=0"]
    for s in sets:
        cases.append((f"train --set {s}", ["train", "--dataset", "circle", "--n", "200", "--model", "beta_vae",
                                            "--set", s, "--out", f"{out}/s_{len(cases)}"], "refuse"))
    vdae_sets = ["knn=5000", "knn=0", "decoder_input=sideways", "cov_k=1", "diffusion_time=-1", "neighbour_pool=3"]
    for s in vdae_sets:
        cases.append((f"train vdae --set {s}", ["train", "--dataset", "circle", "--n", "200", "--set", s,
                                                 "--out", f"{out}/v_{len(cases)}"], "refuse"))
    nums = [("--n", "-5"), ("--n", "2.5"), ("--n", "abc"), ("--n", "1e9"), ("--n", "5"), ("--seed", "-1"),
            ("--seed", str(2**64)), ("--seed", "1.5"), ("--seed", "nan"), ("--steps-scale", "nan"),
            ("--steps-scale", "inf"), ("--steps-scale", "0"), ("--steps-scale", "-1"), ("--steps-scale", "1e9"),
            ("--noise", "nan"), ("--noise", "-1"), ("--noise", "1e9"), ("--device", "tpu"), ("--model", "gan9000"),
            ("--dataset", "nope"), ("--preset", "fast")]
    for flag, v in nums:
        argv = ["train", "--dataset", "circle", "--n", "200", "--model", "beta_vae", "--out", f"{out}/n_{len(cases)}"]
        if flag in argv:
            argv[argv.index(flag) + 1] = v
        else:
            argv += [flag, v]
        cases.append((f"train {flag} {v}", argv, "refuse"))
    for flag, v in [("--n", "0"), ("--n", "1e8"), ("--n", "-3"), ("--steps", "-1"), ("--steps", "1e9"),
                    ("--start", "-1"), ("--start", "99999"), ("--start", "x"), ("--seed", "-1"),
                    ("--seed", str(2**70))]:
        cases.append((f"sample {flag} {v}", ["sample", "--run", good, flag, v, "--out", f"{out}/w_{len(cases)}"],
                      "refuse"))
    for flag, v in [("--n", "0"), ("--n", "5"), ("--n", "1e9"), ("--k", "0"), ("--k", "-1"), ("--reps", "1"),
                    ("--reps", "0"), ("--seed", "-4")]:
        cases.append((f"evaluate {flag} {v}", ["evaluate", "--run", good, flag, v, "--out", f"{out}/m_{len(cases)}.json"],
                      "refuse"))
    for how in DAMAGES:
        for cmd in ("sample", "evaluate"):
            cases.append((f"{cmd} on a run with {how}", [cmd, "--run", runs[how], "--n", "20",
                                                          "--out", f"{out}/x_{len(cases)}"], "refuse"))
        cases.append((f"encode on a run with {how}", ["encode", "--run", runs[how], "--input", _ok_points(d),
                                                       "--out", f"{out}/y_{len(cases)}"], "refuse"))
    for args in (["--datasets", "nope", "--models", "vdae"], ["--datasets", "circle", "--models", "gan9000"],
                 ["--datasets", "circle", "--models", "vdae", "--seeds", "0"],
                 ["--datasets", "circle", "--models", "vdae", "--seeds", "-2"],
                 ["--datasets", "circle", "--models", "vdae", "--workers", "0"],
                 ["--datasets", "circle", "--models", "vdae", "--steps-scale", "nan"],
                 ["--datasets", "circle", "--models", "vdae", "--reps", "1"],
                 ["--datasets", "", "--models", "vdae"]):
        cases.append((f"compare {' '.join(args)}", ["compare", *args, "--out", f"{out}/c_{len(cases)}.md"], "refuse"))
    ro = os.path.join(d, "readonly")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    existing = os.path.join(d, "existing.npz")
    open(existing, "w").write("keep me")
    targets = [("a folder", d), ("a trailing slash", out + "/newdir/"), ("a missing folder",
               os.path.join(d, "no", "such", "x.npz")), ("an existing file", existing)]
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0  # root writes into read-only folders: no such input
    if not as_root:
        targets.append(("a read-only folder", os.path.join(ro, "x.npz")))
    for label, target in targets:
        cases.append((f"data --out {label}", ["data", "--dataset", "circle", "--out", target], "refuse"))
        cases.append((f"sample --out {label}", ["sample", "--run", good, "--n", "5", "--out", target], "refuse"))
    if not as_root:
        cases.append(("train --out a read-only folder", ["train", "--dataset", "circle", "--n", "200", "--model",
                                                         "beta_vae", "--out", os.path.join(ro, "r")], "refuse"))
    cases.append(("train --out an existing run", ["train", "--dataset", "circle", "--n", "200", "--model", "beta_vae",
                                                  "--out", good], "refuse"))
    cases.append(("train --out an existing file", ["train", "--dataset", "circle", "--n", "200", "--model", "beta_vae",
                                                   "--out", existing], "refuse"))
    for name, fragment in (("sixteen_bit", "scaled to 0-255"), ("folder_named_png", "skipped 1 folder")):
        cases.append((f"data --dataset {name} (stated change)", ["data", "--dataset", files[name], "--n", "12",
                                                                 "--out", f"{out}/z_{name}.npz"], ("state", fragment)))
    return cases


def _ok_points(d):
    p = os.path.join(d, "ok_points.npy")
    if not os.path.exists(p):
        np.save(p, np.random.default_rng(1).normal(size=(20, 3)))
    return p


def run_cli(case, cwd):
    label, argv, expect = case
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("VDAE_DEBUG", None)
    fd, mem_file = tempfile.mkstemp()
    os.close(fd)
    t = time.perf_counter()
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", mem_file, sys.executable, "-m", "vdae_core", *argv],
                           cwd=cwd, env=env, capture_output=True, text=True, timeout=TIME_LIMIT)
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return {"case": label, "outcome": "hang", "seconds": TIME_LIMIT}
    try:
        peak_mb = int(open(mem_file).read().strip().splitlines()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        peak_mb = float("nan")
    os.unlink(mem_file)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if "Traceback" in err or code not in (0, 2):
        outcome = "traceback"
    elif code == 2 and "error:" in last:
        outcome = "refused" if expect == "refuse" else "silent"
    elif code == 0 and isinstance(expect, tuple) and expect[1] in out + err:
        outcome = "stated"
    else:
        outcome = "silent"
    return {"case": label, "outcome": outcome, "exit": code, "message": last[-160:],
            "peak_mb": round(peak_mb, 1), "seconds": round(time.perf_counter() - t, 1)}


# -- the app cases ---------------------------------------------------------------------------------------------
def app_cases(files: dict, runs: dict, d: str):
    """Results of the app's part: uploads, damaged runs on three pages, and the three-session privacy check."""
    from streamlit.testing.v1 import AppTest

    app = os.path.join(ROOT, "app.py")
    results = []

    def fresh():
        at = AppTest.from_file(app, default_timeout=120)
        at.run()
        return at

    def exceptions(at):
        return [str(e.value)[:160] for e in at.exception]

    os.environ["VDAE_UPLOADS_DIR"] = os.path.join(d, "uploads")
    os.environ["VDAE_RUNS_DIR"] = os.path.join(d, "app_runs_empty")
    uploadable = [k for k in files if os.path.isfile(files[k]) and not k.startswith("codes_")]  # codes: for decode
    for name in uploadable:
        label = f"upload {name}"
        try:
            at = fresh()
            at.switch_page("pages/data.py").run()
            before = at.session_state["dataset"]
            next(r for r in at.radio if r.label == "Source").set_value("Upload a file").run()
            with open(files[name], "rb") as fh:
                at.file_uploader(key="w.upload").upload(name, fh.read()).run()
            exc = exceptions(at)
            errors = " ".join(str(e.value) for e in at.error)
            if exc:
                outcome, msg = "traceback", exc[0]
            elif errors and at.session_state["dataset"] == before:
                outcome, msg = "refused", errors[:160]
            else:
                outcome, msg = "silent", f"dataset now {at.session_state['dataset']}"
        except Exception as e:  # noqa: BLE001 - counted, never raised
            outcome, msg = "traceback", f"{type(e).__name__}: {e}"[:160]
        results.append({"case": label, "outcome": outcome, "message": msg})
    for how in DAMAGES:
        root = os.path.join(d, "app_runs_" + how.replace(" ", "_"))
        os.makedirs(root, exist_ok=True)
        shutil.copytree(runs[how], os.path.join(root, "circle_vdae_s0"), dirs_exist_ok=True)
        os.environ["VDAE_RUNS_DIR"] = root
        for page in ("latent", "walks", "bilipschitz"):
            label = f"{page} page with a run with {how}"
            try:
                at = fresh()
                at.session_state["dataset"] = "circle"  # the damaged run's selection (dataset, model, seed)
                at.session_state["model"], at.session_state["seed"] = "vdae", 0
                at.switch_page(f"pages/{page}.py").run()
                exc = exceptions(at)
                shown = " ".join(str(e.value) for e in list(at.error) + list(at.warning) + list(at.info))
                outcome = "traceback" if exc else ("refused" if shown else "silent")
                msg = exc[0] if exc else shown[:160]
            except Exception as e:  # noqa: BLE001
                outcome, msg = "traceback", f"{type(e).__name__}: {e}"[:160]
            results.append({"case": label, "outcome": outcome, "message": msg})
    results.append(privacy_check(d, fresh))
    return results


def privacy_check(d, fresh):
    """The three-session privacy tests (tests/test_privacy.py: A uploads and trains; B with another data.csv
    and C with nothing never list, open or download A's run), run here as one case of the battery."""
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", os.path.join(ROOT, "tests",
                        "test_privacy.py")], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    last = (p.stdout.strip().splitlines() or [""])[-1]
    return {"case": "three browser sessions (tests/test_privacy.py)", "outcome": "refused" if p.returncode == 0
            else "leak", "message": last[-160:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("cli", "app"), default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log", default=None, help="write every case's result as a JSON line here")
    ap.add_argument("--match", default=None, help="only the CLI cases whose label contains this text")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="bad_inputs_")
    t0 = time.perf_counter()
    files = make_files(d)
    runs = make_runs(d)
    results = []
    if a.only in (None, "cli"):
        cases = [c for c in cli_cases(files, runs, d) if not a.match or a.match in c[0]]
        os.makedirs(os.path.join(d, "out"), exist_ok=True)
        with cf.ThreadPoolExecutor(a.workers) as pool:
            for r in pool.map(lambda c: run_cli(c, d), cases):
                r["part"] = "cli"
                results.append(r)
                print(json.dumps(r), flush=True)
    if a.only in (None, "app"):
        for r in app_cases(files, runs, d):
            r["part"] = "app"
            results.append(r)
            print(json.dumps(r), flush=True)
    os.chmod(os.path.join(d, "readonly"), stat.S_IRWXU) if os.path.isdir(os.path.join(d, "readonly")) else None
    if a.log:
        with open(a.log, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in results)
    print()
    for part in ("cli", "app"):
        rs = [r for r in results if r["part"] == part]
        if rs:
            c = collections.Counter(r["outcome"] for r in rs)
            peak = max((r.get("peak_mb", 0) or 0) for r in rs)
            print(f"{part}: {len(rs)} inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                  + (f"; peak memory {peak:.0f} MB (limit {MEMORY_LIMIT_MB})" if part == "cli" else ""))
    bad = [r for r in results if r["outcome"] not in ("refused", "stated")]
    for r in bad:
        print(f"  {r['outcome']:>9}: {r['case']}: {r.get('message', '')}")
    over = [r for r in results if (r.get("peak_mb") or 0) > MEMORY_LIMIT_MB]
    for r in over:
        print(f"  over {MEMORY_LIMIT_MB} MB: {r['case']}: {r['peak_mb']} MB")
    print(f"{len(results)} inputs in {time.perf_counter() - t0:.0f} s; working folder {d}")
    shutil.rmtree(d, ignore_errors=True)
    return 1 if bad or over else 0


if __name__ == "__main__":
    sys.exit(main())

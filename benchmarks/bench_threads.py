"""Issue 15: which thread settings train fastest both on an idle machine and with one core busy?

    python benchmarks/bench_threads.py [--log docs/bench_threads_log.jsonl] [--reps 1]

Times the README's training command (``python -m vdae_core train --dataset circle --model vdae --seed 0``) in a
fresh process per setting — OpenMP's default (threads spin ~300,000 iterations before sleeping), passive
threads (``OMP_WAIT_POLICY=PASSIVE``), a short spin (``GOMP_SPINCOUNT=10000``) and one thread — each idle and
with another process spinning on a core (the busy machine of a lecture: a browser, a second session).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = {
    "libgomp default (spin)": {},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
}
CLEAN = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "VDAE_THREADS")


def train_seconds(extra_env, busy: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.update(extra_env, PYTHONPATH=ROOT)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vdae_core", "train", "--dataset", "circle", "--model", "vdae",
                            "--seed", "0", "--quiet", "--out", os.path.join(out, "run")], env=env, check=True,
                           cwd=ROOT, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=None)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--only", default=None, help="comma-separated setting names to run")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(SETTINGS)
    print("| setting | idle | one core busy |")
    print("|---|---|---|")
    for name in names:
        times = {}
        for busy in (False, True):
            vals = [train_seconds(SETTINGS[name], busy) for _ in range(a.reps)]
            times["busy" if busy else "idle"] = vals
            if a.log:
                with open(a.log, "a") as fh:
                    fh.write(json.dumps({"setting": name, "env": SETTINGS[name], "busy": busy, "seconds": vals,
                                         "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                                         "date": time.strftime("%Y-%m-%d %H:%M")}) + "\n")
        print(f"| {name} | {min(times['idle']):.1f} s | {min(times['busy']):.1f} s |", flush=True)


if __name__ == "__main__":
    main()

"""Issue 31: the protocol on samples from any model — `evaluate --samples S --reference R [--train T]`."""
import json

import numpy as np
import pytest

from vdae_core.cli import main
from vdae_core.foundation.errors import UserInputError
from vdae_core.study.evaluation import evaluate_points


def _circle(n, seed, radius=1.0):
    t = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return radius * np.c_[np.cos(t), np.sin(t)]


def test_exact_samples_sit_inside_their_floors_and_a_shrunk_ring_does_not():
    R, T = _circle(1200, 0), _circle(800, 1)
    R = R[np.argsort(np.arctan2(R[:, 1], R[:, 0]))]  # a file sorted by angle: floor samples must not be arcs
    good = evaluate_points(_circle(400, 2), R, T, seed=0, reps=4)
    assert {"gw", "gw_floor", "gw_floor_sd", "gw_flagged", "memorisation", "off_data", "betti1"} <= set(good)
    assert good["off_data"] == 0.0 and good["betti1"] == good["betti1_floor"] == 1
    assert not good["gw_flagged"] and not good["mmd2_h_flagged"] and not good["memorisation_flagged"]
    bad = evaluate_points(_circle(400, 3, radius=0.8), R, seed=0, reps=4)
    assert bad["mmd2_h20_flagged"] and bad["coverage_flagged"] and bad["off_data"] == 1.0  # 0.2 inside the ring: every sample is an outlier
    assert "memorisation" not in bad and "no training points" in bad["memorisation_note"]
    copies = evaluate_points(T[:400] + 1e-4, R, T, seed=0, reps=4)  # the training points, barely moved
    assert copies["memorisation"] < 0.05 and copies["memorisation_flagged"]


def test_cli_writes_the_keys_a_run_evaluation_has(tmp_path):
    np.save(tmp_path / "S.npy", _circle(300, 4))
    np.save(tmp_path / "R.npy", _circle(1000, 5))
    np.save(tmp_path / "T.npy", _circle(500, 6))
    out = tmp_path / "m.json"
    assert main(["evaluate", "--samples", str(tmp_path / "S.npy"), "--reference", str(tmp_path / "R.npy"),
                 "--train", str(tmp_path / "T.npy"), "--reps", "3", "--gw-paper", "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    for key in ("gw", "gw_paper", "mmd2_h20", "coverage", "memorisation", "lump_top10", "off_data", "betti1"):
        assert {key, f"{key}_floor", f"{key}_floor_sd", f"{key}_flagged"} <= set(m), key


@pytest.mark.parametrize("case,msg", [
    ("width", "expected shape (n, 2)"),
    ("few", "needs at least 120"),
    ("nan", "rows contain NaN"),
    ("text", "not numeric"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, case, msg):
    S, R = _circle(200, 7), _circle(600, 8)
    if case == "width":
        S = np.c_[S, S[:, :1]]
    elif case == "few":
        R = R[:30]
    elif case == "nan":
        S[3, 1] = np.nan
    np.save(tmp_path / "R.npy", R)
    if case == "text":
        (tmp_path / "S.csv").write_text("this is,not\na,table\n")
        samples = tmp_path / "S.csv"
    else:
        np.save(tmp_path / "S.npy", S)
        samples = tmp_path / "S.npy"
    code = main(["evaluate", "--samples", str(samples), "--reference", str(tmp_path / "R.npy"), "--out",
                 str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(UserInputError):
        evaluate_points(np.zeros((5, 3)), R)


def test_a_sorted_reference_does_not_make_exact_samples_look_like_copies():
    """Review finding: memorisation's held-out set was the head of the file's order; on a file sorted by angle
    it was one arc, and exact samples scored 0.01 ("a copy")."""
    R = _circle(4000, 0)
    R = R[np.argsort(np.arctan2(R[:, 1], R[:, 0]))]
    m = evaluate_points(_circle(400, 2), R, _circle(500, 1), seed=0, reps=4)
    assert 0.7 < m["memorisation"] < 1.4 and not m["memorisation_flagged"]

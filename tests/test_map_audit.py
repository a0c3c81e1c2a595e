"""Audit any map (issue 32, part 1): points and codes from anywhere, with closed answers on a circle."""
import json
import os

import numpy as np
import pytest

from vdae_core.cli import main
from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.tears import knn_edges
from vdae_core.study.map_audit import MAX_CODE_DIM, map_audit, map_topology

N, K = 600, 10


@pytest.fixture(scope="module")
def circle():
    t = np.sort(np.random.default_rng(0).uniform(0, 2 * np.pi, N))
    return t, np.stack([np.cos(t), np.sin(t)], 1)


def similarity(X):
    """A rotation, a scale of 3 and a shift: distances all multiplied by 3."""
    a = 0.7
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return 3.0 * X @ R.T + np.array([5.0, -2.0])


def test_a_similarity_of_the_circle_neither_tears_nor_folds_and_keeps_its_loop(circle):
    _, X = circle
    rep, _ = map_audit(X, similarity(X), k=K)
    tf = rep["tears_folds"]
    assert tf["torn_edges"] == 0 and tf["folded_edges"] == 0
    assert rep["trustworthiness"] == pytest.approx(1.0) and rep["continuity"] == pytest.approx(1.0)
    # every ratio |x_i − x_j| / |z_i − z_j| is 1/3: the raw (paper's) constant max(r, 1/r) is the scale 3,
    # the scale-free one (r over its own median) is 1
    assert rep["bilipschitz"]["median"] == pytest.approx(3.0, abs=1e-9)
    assert rep["bilipschitz"]["scale_free_median"] == pytest.approx(1.0, abs=1e-9)
    top = map_topology(X, similarity(X))
    assert top["clouds"]["data"]["betti"] == [1, 1] and top["clouds"]["latent"]["betti"] == [1, 1]
    assert top["distances"] is None and top["clouds"]["samples"] is None


def test_the_angle_as_code_tears_exactly_the_edges_across_the_cut(circle):
    """Z = t ∈ [0, 2π): the data edges torn are those joining the two ends of the cut, and no other."""
    t, X = circle
    rep, tf = map_audit(X, t[:, None], k=K)
    edges = knn_edges(X, K)
    across = np.abs(t[edges[:, 0]] - t[edges[:, 1]]) > np.pi
    assert across.sum() > 0
    assert rep["tears_folds"]["torn_edges"] == int(across.sum())
    assert {tuple(e) for e in tf.torn} == {tuple(e) for e in edges[across]}
    assert rep["tears_folds"]["folded_edges"] == 0  # a cut, not a fold
    assert rep["continuity"] < 1.0 and rep["trustworthiness"] == pytest.approx(1.0, abs=2e-3)
    top = map_topology(X, t[:, None])
    assert top["clouds"]["latent"]["betti"] == [1, 0]  # the codes lost the loop the data has
    assert top["clouds"]["data"]["betti"] == [1, 1]


def test_projecting_onto_a_diameter_folds_and_does_not_tear(circle):
    t, X = circle
    rep, _ = map_audit(X, X[:, :1], k=K)
    assert rep["tears_folds"]["torn_edges"] == 0 and rep["tears_folds"]["folded_edges"] > 0
    assert rep["trustworthiness"] < 0.99


def test_samples_are_judged_against_half_the_points_with_a_floor(circle):
    _, X = circle
    rng = np.random.default_rng(1)
    s = rng.uniform(0, 2 * np.pi, 400)
    good = np.stack([np.cos(s), np.sin(s)], 1)
    arc = good[s < np.pi]  # half the circle: the loop is gone
    rg, ra = map_topology(X, X, good, reps=3), map_topology(X, X, arc, reps=3)
    fm, fs = rg["floor"]["bottleneck"][1]
    assert rg["distances"]["bottleneck"][1] < fm + 4 * fs + 0.05
    assert ra["distances"]["bottleneck"][1] > 10 * rg["distances"]["bottleneck"][1]
    assert ra["clouds"]["samples"]["betti"][1] == 0 and rg["clouds"]["samples"]["betti"][1] == 1
    assert "the given points" in rg["reference"]


@pytest.mark.parametrize("Z,msg", [
    (lambda X: X[:-1], "599 codes"),
    (lambda X: np.where(np.arange(len(X))[:, None] == 3, np.nan, X), "NaN"),
    (lambda X: np.zeros((len(X), MAX_CODE_DIM + 1)), f"at most {MAX_CODE_DIM}"),
])
def test_bad_codes_are_refused_with_one_line(circle, Z, msg):
    _, X = circle
    with pytest.raises(UserInputError, match=msg):
        map_audit(X, Z(X))


def test_one_row_of_points_is_refused(circle):
    with pytest.raises(UserInputError, match="points"):
        map_audit(np.ones((1, 3)), np.ones((1, 2)))


def test_cli_audit_and_topology_of_any_map(circle, tmp_path, monkeypatch, capsys):
    t, X = circle
    monkeypatch.chdir(tmp_path)
    np.save("X.npy", X)
    np.save("Z.npy", t[:, None])
    np.save("S.npy", X[::2] + 0.01)
    assert main(["audit", "--points", "X.npy", "--codes", "Z.npy", "--out", "a.json"]) == 0
    a = json.load(open("a.json"))
    edges = knn_edges(X, K)
    assert a["tears_folds"]["torn_edges"] == int((np.abs(t[edges[:, 0]] - t[edges[:, 1]]) > np.pi).sum())
    assert {"bilipschitz", "trustworthiness", "continuity", "prior_holes"} <= set(a)
    pp = np.load("a_per_point.npz")
    assert pp["tears"].sum() == 2 * a["tears_folds"]["torn_edges"]  # each torn edge counted at both ends
    assert main(["topology", "--points", "X.npy", "--codes", "Z.npy", "--samples", "S.npy", "--out", "t.json"]) == 0
    top = json.load(open("t.json"))
    assert top["clouds"]["latent"]["betti"] == [1, 0] and top["clouds"]["samples"]["betti"] == [1, 1]
    assert len(top["distances"]["bottleneck"]) == 2 and len(top["floor"]["bottleneck"]) == 2
    # bad input: one line, exit 2, nothing written
    np.save("Zshort.npy", t[:-5, None])
    capsys.readouterr()
    assert main(["audit", "--points", "X.npy", "--codes", "Zshort.npy", "--out", "b.json"]) == 2
    err = capsys.readouterr().err
    assert "595 codes" in err and "Traceback" not in err and not os.path.exists("b.json")
    assert main(["audit", "--points", "X.npy", "--out", "c.json"]) == 2
    assert "--points needs --codes" in capsys.readouterr().err
    open("model.pt", "wb").write(b"\x80\x04not an array")
    assert main(["topology", "--points", "X.npy", "--codes", "model.pt", "--out", "d.json"]) == 2
    assert "unsupported extension" in capsys.readouterr().err and not os.path.exists("d.json")


def test_rtd_is_zero_for_a_similarity_and_not_for_a_cut_circle(circle):
    """Barannikov et al.'s closed answers: equal distance matrices up to one scale give no bar at all; a circle
    cut open (its angle as code) has a loop the codes lack, and a bar of it lives long."""
    from vdae_core.metrics.rtd import cross_barcode, rtd

    t, X = circle
    assert rtd(X, X) == 0.0 and rtd(X, similarity(X)) == 0.0
    cut = rtd(X, t[:, None])
    jitter = rtd(X, X + 0.002 * np.random.default_rng(2).normal(size=X.shape))
    assert cut > 0.5 and cut > 5 * jitter
    # R-Cross-Barcode₁(codes, data): the data's shortcut across the cut closes a loop the codes lack — exactly
    # one bar, and a long one (the other direction holds small bars of the two clouds' different local scales)
    bars = cross_barcode(t[::3, None], X[::3])
    assert len(bars) == 1 and bars[0, 1] - bars[0, 0] > 0.3
    with pytest.raises(UserInputError, match="paired"):
        rtd(X, X[:-1])

"""Audit any map (issue 32, part 1): points and codes from anywhere, with closed answers on a circle."""
import json
import os

import numpy as np
import pytest
import torch

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


class _Circle(torch.nn.Module):
    """A model of the unit circle: encode = 2x (a similarity), decode = z / 2, sample(n) = uniform angles."""

    def __init__(self, width_out: int = 2):
        super().__init__()
        self.width_out = width_out

    def forward(self, x):
        return self.encode(x)

    @torch.jit.export
    def encode(self, x):
        return 2.0 * x

    @torch.jit.export
    def decode(self, z):
        if self.width_out <= 2:
            return z / 2.0
        return torch.cat([z, z], 1)

    @torch.jit.export
    def sample(self, n: int):
        t = 6.283185307179586 * torch.rand(n)
        return torch.stack([torch.cos(t), torch.sin(t)], 1)


def test_a_torchscript_model_is_audited_through_its_methods_and_never_unpickled(circle, tmp_path, monkeypatch, capsys):
    t, X = circle
    monkeypatch.chdir(tmp_path)
    np.save("X.npy", X)
    np.save("Z.npy", 2 * X)
    torch.jit.script(_Circle()).save("circle.pt")
    assert main(["audit", "--points", "X.npy", "--model", "circle.pt", "--out", "m.json"]) == 0
    assert main(["audit", "--points", "X.npy", "--codes", "Z.npy", "--out", "c.json"]) == 0
    m, c = json.load(open("m.json")), json.load(open("c.json"))
    assert m["tears_folds"] == c["tears_folds"] and m["trustworthiness"] == c["trustworthiness"]
    assert m["model"] == "circle.pt (encode, decode, samples)"
    # decode = z/2: every ratio |x_i − x_j| / |z_i − z_j| is 1/2, the raw constant 2, the scale-free one 1
    assert m["decoder_bilipschitz"]["median"] == pytest.approx(2.0, rel=1e-5)
    assert m["decoder_bilipschitz"]["scale_free_median"] == pytest.approx(1.0, rel=1e-5)
    # its samples: exact draws of the circle, judged against fresh points within their floors; the seed repeats
    rng = np.random.default_rng(5).uniform(0, 2 * np.pi, 1200)
    np.save("R.npy", np.stack([np.cos(rng), np.sin(rng)], 1))
    for out in ("e1.json", "e2.json"):
        assert main(["evaluate", "--model", "circle.pt", "--reference", "R.npy", "--n", "500", "--out", out]) == 0
    e1, e2 = json.load(open("e1.json")), json.load(open("e2.json"))
    assert e1 == e2 and not e1["gw_flagged"] and not e1["coverage_flagged"]
    assert main(["topology", "--points", "X.npy", "--model", "circle.pt", "--out", "t.json"]) == 0
    assert json.load(open("t.json"))["clouds"]["samples"]["betti"] == [1, 1]
    capsys.readouterr()
    # refused in one line, nothing written: a pickle (torch.save), a file that is no model, a wrong output width
    torch.save(_Circle(), "pickled.pt")
    open("notes.pt", "w").write("not a model")
    torch.jit.script(_Circle(width_out=3)).save("wide.pt")
    for f, msg in (("pickled.pt", "never unpickles"), ("notes.pt", "not a TorchScript"), ("wide.pt", "width 4")):
        assert main(["audit", "--points", "X.npy", "--model", f, "--out", f"{f}.json"]) == 2, f
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err and not os.path.exists(f"{f}.json"), (f, err)


class _Gen(torch.nn.Module):
    """A generator of the unit circle from 2-D noise: its direction."""

    def forward(self, z):
        return z / z.norm(dim=1, keepdim=True)


def test_a_torch_export_archive_is_refused_since_its_loader_unpickles(tmp_path, monkeypatch, capsys):
    """torch.export.load unpickles weights an archive marks so (and loads compiled libraries): an uploaded
    .pt2 could run code here, so the studio refuses the format and says how to save the model instead."""
    from vdae_core.models.scripted import ScriptedModel

    monkeypatch.chdir(tmp_path)
    prog = torch.export.export(_Gen(), (torch.randn(8, 2),), dynamic_shapes={"z": {0: torch.export.Dim("n")}})
    torch.export.save(prog, "gen.pt2")
    with pytest.raises(UserInputError, match="torch.export archive.*TorchScript"):
        ScriptedModel("gen.pt2")
    np.save("R.npy", np.random.default_rng(0).normal(size=(200, 2)))
    assert main(["evaluate", "--model", "gen.pt2", "--reference", "R.npy", "--out", "e.json"]) == 2
    assert "torch.export archive" in capsys.readouterr().err and not os.path.exists("e.json")


def test_vector_codes_are_one_column_and_duplicate_points_do_not_break_the_json(tmp_path, monkeypatch):
    """An angle saved as a vector (n,) is a 1-D code; two copies of a point with different codes make an
    infinite bi-Lipschitz constant, written as the string "inf" in strict JSON."""
    monkeypatch.chdir(tmp_path)
    t = np.sort(np.random.default_rng(1).uniform(0, 2 * np.pi, 300))
    X = np.stack([np.cos(t), np.sin(t)], 1)
    X[1] = X[0]
    np.save("X.npy", X)
    Z = t.copy()
    Z[1] = Z[0] + 1e-3
    np.save("z.npy", Z)  # shape (300,)
    assert main(["audit", "--points", "X.npy", "--codes", "z.npy", "--out", "a.json"]) == 0
    a = json.loads(open("a.json").read())
    assert a["tears_folds"]["n_points"] == 300 and "inf" in (a["bilipschitz"]["mean"], a["bilipschitz"]["p95"])

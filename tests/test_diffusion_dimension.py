"""The latent dimension read off the data (issue 29, step 0): shapes whose diffusion coordinates are known.

On a circle the first two non-trivial coordinates are cos θ, sin θ and every later one a harmonic; on the unit
sphere the first three are x, y, z; on the flat torus S¹×S¹ the first four are cos θ, sin θ, cos φ, sin φ. On a
torus of revolution the tube's cos φ, sin φ come after the ring's harmonics (how far after depends on R/r):
the chosen D must reach them, which we check by how well the first D exact diffusion coordinates predict
the tube angle, and the rule must give the same answer for the same shape turned into a higher dimension.
"""
import numpy as np
import pytest

from vdae_core.data import DataConfig, make_dataset
from vdae_core.data.manifolds import torus
from vdae_core.geometry.diffusion_dimension import diffusion_dimension, neighbour_preservation
from vdae_core.geometry.diffusion_maps import diffusion_map


@pytest.mark.parametrize("name,dim", [("circle", 2), ("sphere", 3), ("flat_torus", 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_shapes_with_known_diffusion_coordinates(name, dim, seed):
    assert diffusion_dimension(make_dataset(DataConfig(dataset=name, n=1500, seed=seed)).X, seed=seed).dim == dim


def _knn_r2(X: np.ndarray, y: np.ndarray, D: int) -> float:
    """R² of ``y`` (n,) by a 10-nearest-neighbour regression on the first D exact diffusion coordinates of X
    (leave-one-out): near 1 when Φ_D tells apart the points that ``y`` tells apart."""
    from sklearn.neighbors import NearestNeighbors

    P = diffusion_map(X, D, k=20).coords
    idx = NearestNeighbors(n_neighbors=11).fit(P).kneighbors(P, return_distance=False)[:, 1:]
    return float(1 - ((y - y[idx].mean(1)) ** 2).sum() / ((y - y.mean()) ** 2).sum())


@pytest.mark.parametrize("R,r", [(2.0, 0.7), (2.5, 1.0), (2.0, 1.0), (1.5, 1.0)])
def test_torus_dimension_reaches_the_tube_and_ignores_the_embedding(R, r, rotate_into):
    ds = torus(1000, seed=3, R=R, r=r)
    X = ds.X.astype(np.float64)
    choice = diffusion_dimension(X)
    assert choice.dim >= 3
    # The first D coordinates hold the tube: sin φ (above or below the ring's plane) is predicted from them.
    # The ring's coordinates alone (D = 2) see cos φ through their amplitude but fold the tube: sin φ is lost.
    sin_phi = np.sin(ds.params[:, 1])
    assert _knn_r2(X, sin_phi, choice.dim) > 0.8
    assert _knn_r2(X, sin_phi, 2) < 0.3
    # the rule reads distances only: the same torus rotated into R^6 gets the same D
    assert diffusion_dimension(rotate_into(X, 6)).dim == choice.dim
    assert "diffusion coordinates keep" in choice.reason


def test_swiss_roll_dimension_reaches_the_height():
    ds = make_dataset(DataConfig(dataset="swiss_roll", n=1000, seed=0))
    X = ds.X.astype(np.float64)
    D = diffusion_dimension(X).dim
    h = ds.params[:, 1]
    assert _knn_r2(X, h, D) > 0.9  # the height is read off the first D coordinates
    assert _knn_r2(X, h, 3) < 0.5  # the first three are the roll's length and its harmonics


def test_neighbour_preservation_is_one_for_the_points_themselves_and_low_for_noise():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    assert neighbour_preservation(X, X)[-1] == pytest.approx(1.0)
    q = neighbour_preservation(X, rng.normal(size=(300, 3)))
    assert q.max() < 0.15  # unrelated coordinates keep about k/n of the neighbours


def test_a_file_gets_its_dimension_from_its_points(tmp_path, rotate_into):
    """A user's file: the circle turned into R^5 and saved gets D = 2, the number the built-in circle states
    (the old rule for files, min(4, m), gave 4 here); a torus file gets a D that reaches its tube. The
    built-in set keeps its stated number, and the rule's reading of its points is there beside it."""
    ds = make_dataset(DataConfig(dataset="circle", n=800, seed=0))
    path = tmp_path / "ring.npy"
    np.save(path, rotate_into(ds.X.astype(np.float64), 5))
    up = make_dataset(DataConfig(dataset=str(path), n=800, seed=0))
    assert up.suggested_dim is None and up.auto_latent_dim() == 2 == ds.auto_latent_dim()
    assert up.data_dim_rule() is up.data_dim_rule() and "D = 2" in up.latent_dim_choice().reason  # remembered
    assert ds.data_dim_rule().dim == 2 and "built-in" in ds.latent_dim_choice().reason
    tor = torus(1000, seed=5, R=2.5, r=1.0)
    np.save(tmp_path / "tor.npy", rotate_into(tor.X.astype(np.float64), 5))
    assert make_dataset(DataConfig(dataset=str(tmp_path / "tor.npy"), n=1000)).auto_latent_dim() >= 5


def test_the_vdae_builds_with_the_datas_dimension_unless_told_otherwise(tmp_path):
    from vdae_core.pipeline.build import build_model

    np.save(tmp_path / "s.npy", make_dataset(DataConfig(dataset="sphere", n=600, seed=0)).X)
    ds = make_dataset(DataConfig(dataset=str(tmp_path / "s.npy"), n=600))
    assert build_model("vdae", {}, ds).latent_dim == 3
    assert build_model("vdae", {"latent_dim": 5}, ds).latent_dim == 5



def test_a_run_records_how_its_latent_size_was_chosen_only_when_the_data_chose_it(tmp_path, tiny_vdae):
    from vdae_core.api import train_run

    np.save(tmp_path / "s.npy", make_dataset(DataConfig(dataset="sphere", n=400, seed=0)).X)
    cfg = DataConfig(dataset=str(tmp_path / "s.npy"), n=400)
    auto = train_run("vdae", cfg, tiny_vdae, seed=0, device="cpu")
    assert auto.model.latent_dim == 3 and auto.info["latent_dim_rule"]["dim"] == 3
    assert "diffusion coordinates keep" in auto.info["latent_dim_rule"]["reason"]
    fixed = train_run("vdae", cfg, dict(tiny_vdae, latent_dim=4), seed=0, device="cpu")
    assert "latent_dim_rule" not in fixed.info


def test_points_the_rule_cannot_read_fall_back_with_a_reason(tmp_path):
    """Points repeated so often that neighbour distances vanish: the rule cannot run; D = min(4, m) with the
    reason, and a model still builds (no error reaches the Data page or the CLI)."""
    from vdae_core.pipeline.build import build_model

    np.save(tmp_path / "rep.npy", np.repeat(np.random.default_rng(0).normal(size=(40, 3)), 25, 0))
    ds = make_dataset(DataConfig(dataset=str(tmp_path / "rep.npy"), n=1000))
    choice = ds.latent_dim_choice()
    assert choice.dim == 3 and "could not run" in choice.reason
    assert build_model("beta_vae", {}, ds).latent_dim == 3


def test_few_points_compare_only_the_coordinates_they_support(monkeypatch):
    """On 320 points of a sphere q keeps rising with D when all 24 coordinates are compared (the rule then
    reads D = 15); with K = n/40 it reads 3."""
    import vdae_core.geometry.diffusion_dimension as dd

    X = make_dataset(DataConfig(dataset="sphere", n=320, seed=0)).X
    assert dd.diffusion_dimension(X).dim == 3
    monkeypatch.setattr(dd, "POINTS_PER_COORDINATE", 1)
    assert dd.diffusion_dimension(X).dim == 15

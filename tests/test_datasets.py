"""Dataset contracts: every registered dataset, and file inputs."""
import numpy as np
import pytest

from vdae_core.api import DATASETS, DataConfig, UserInputError, make_dataset, read_points


@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_contract(name):
    ds = make_dataset(DataConfig(dataset=name, n=300, seed=1))
    assert ds.X.dtype == np.float32 and ds.X.ndim == 2
    assert 10 <= ds.n <= 300
    assert np.isfinite(ds.X).all()
    assert ds.params.shape == (ds.n, len(ds.param_names)) == (ds.n, len(ds.periodic))
    assert 1 <= ds.auto_latent_dim() < ds.n
    for j, per in enumerate(ds.periodic):
        if per:
            assert ds.params[:, j].min() >= 0 and ds.params[:, j].max() < 2 * np.pi
    if ds.mesh is not None:
        V, F = ds.mesh.vertices, ds.mesh.faces
        assert V.shape[1] == 3 and F.shape[1] == 3 and F.min() >= 0 and F.max() < len(V)
    # Same seed, same data; another seed, other data (image sets at full size are fixed, so n < size:
    # ALOI has 72 images, so it is asked for 71).
    again = make_dataset(DataConfig(dataset=name, n=300, seed=1))
    np.testing.assert_array_equal(ds.X, again.X)
    m = min(ds.n - 1, 100)  # smaller than the first draw: image sets render every picture
    one, other = (make_dataset(DataConfig(dataset=name, n=m, seed=s)) for s in (1, 2))
    assert not np.array_equal(one.X, other.X)


def test_manifolds_lie_on_their_surfaces():
    c = make_dataset(DataConfig(dataset="circle", n=500))
    np.testing.assert_allclose(np.linalg.norm(c.X, axis=1), 1.0, atol=1e-5)
    # The loop is planar: the third singular value of the centred points vanishes.
    assert np.linalg.svd(c.X - c.X.mean(0), compute_uv=False)[2] < 1e-4
    s = make_dataset(DataConfig(dataset="sphere", n=500))
    np.testing.assert_allclose(np.linalg.norm(s.X, axis=1), 1.0, atol=1e-5)
    t = make_dataset(DataConfig(dataset="torus", n=500))
    rho = np.hypot(t.X[:, 0], t.X[:, 1])
    np.testing.assert_allclose((rho - 2.0) ** 2 + t.X[:, 2] ** 2, 0.7 ** 2, atol=1e-5)
    th, ph = t.params.T
    np.testing.assert_allclose(t.X[:, 2], 0.7 * np.sin(ph), atol=1e-5)


def test_torus_is_uniform_by_area():
    # Area density of φ is ∝ R + r cos φ: the outer half (cos φ > 0) holds (π R + 2r)/(2π R) of the area.
    t = make_dataset(DataConfig(dataset="torus", n=20000, seed=0))
    outer = np.mean(np.cos(t.params[:, 1]) > 0)
    expected = (np.pi * 2.0 + 2 * 0.7) / (2 * np.pi * 2.0)
    assert abs(outer - expected) < 0.015  # ~3 standard errors at n=20000


def test_torus_tube_angle_law_is_what_uniformity_tests_use():
    # φ of an area-uniform torus has density (1 + (r/R) cos φ)/2π: KS against that law is within the
    # 99% critical value at n = 20000 (1.63/sqrt(n) = 0.0115); against uniform it is (r/R)/2π = 0.056.
    from vdae_core.study.diagnostics import uniform_ks

    t = make_dataset(DataConfig(dataset="torus", n=20000, seed=0))
    law = t.param_laws["phi"]
    assert law.a == pytest.approx(0.35)
    assert uniform_ks(t.params[:, 1], law.cdf) < 1.63 / np.sqrt(20000)
    assert uniform_ks(t.params[:, 1]) == pytest.approx(0.35 / (2 * np.pi), abs=0.0115)
    # θ is uniform and carries no law; the CDF runs from 0 to 1.
    assert "theta" not in t.param_laws
    np.testing.assert_allclose(law.cdf(np.array([0.0, np.pi, 2 * np.pi])), [0.0, 0.5, 1.0], atol=1e-12)


def test_blobs_are_separated():
    b = make_dataset(DataConfig(dataset="blobs9", n=900))
    assert set(np.unique(b.labels)) == set(range(9))
    from vdae_core.data.manifolds import BLOB_CENTRES
    assert np.all(np.linalg.norm(b.X - BLOB_CENTRES[b.labels], axis=1) <= 0.35 + 1e-6)


def test_mesh_sampling_is_uniform_by_area():
    from vdae_core.data.meshes import sample_surface
    from vdae_core.data.base import Mesh
    # Two triangles, one with 3x the area of the other.
    V = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 0, 0], [3, 3, 0]], float)
    F = np.array([[0, 1, 2], [1, 3, 4]])
    pts, fi = sample_surface(Mesh(V, F), 40000, seed=0)
    a0, a1 = 0.5, 0.5 * 2 * 3
    assert abs(np.mean(fi == 1) - a1 / (a0 + a1)) < 0.01
    assert np.allclose(pts[:, 2], 0)


def test_point_cloud_files(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 3))
    np.save(tmp_path / "p.npy", X)
    np.savez(tmp_path / "p.npz", X=X)
    np.savetxt(tmp_path / "p.csv", X, delimiter=",", header="a,b,c", comments="")
    for f in ("p.npy", "p.npz", "p.csv"):
        np.testing.assert_allclose(read_points(str(tmp_path / f)), X, rtol=1e-6, atol=1e-6)
        ds = make_dataset(DataConfig(dataset=str(tmp_path / f), n=50))
        assert ds.X.shape == (50, 3)


def test_mesh_file_dataset():
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "assets", "meshes", "sphere_642v.ply")
    ds = make_dataset(DataConfig(dataset=path, n=200))
    assert ds.X.shape == (200, 3) and ds.mesh is not None and len(ds.mesh.faces) == 1280


@pytest.mark.parametrize("content,fragment", [
    ("a,b\n1,2\nx,y\n", "not numeric"),
    ("", "empty"),
    ("1,2,3\n4,5\n", "different numbers of columns"),
])
def test_malformed_csv(tmp_path, content, fragment):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(UserInputError, match=fragment):
        read_points(str(p))


def test_bad_point_inputs(tmp_path):
    X = np.ones((20, 3))
    X[3, 1] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(UserInputError, match="NaN"):
        read_points(str(tmp_path / "nan.npy"))
    np.save(tmp_path / "flat.npy", np.ones(20))
    with pytest.raises(UserInputError, match="2-D"):
        read_points(str(tmp_path / "flat.npy"))
    np.savez(tmp_path / "nokey.npz", Y=np.ones((5, 2)))
    with pytest.raises(UserInputError, match="no key 'X'"):
        read_points(str(tmp_path / "nokey.npz"))
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    with pytest.raises(UserInputError, match="could not read"):
        read_points(str(tmp_path / "junk.npy"))
    with pytest.raises(UserInputError, match="not found"):
        read_points(str(tmp_path / "missing.npy"))
    with pytest.raises(UserInputError, match="unknown dataset"):
        make_dataset(DataConfig(dataset="no_such_set"))


def test_bad_mesh_files(tmp_path):
    p = tmp_path / "broken.ply"
    p.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n2\n")
    with pytest.raises(UserInputError):
        make_dataset(DataConfig(dataset=str(p), n=100))
    q = tmp_path / "points_only.off"
    q.write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    with pytest.raises(UserInputError, match="no triangle faces"):
        make_dataset(DataConfig(dataset=str(q), n=100))


def test_config_validation():
    with pytest.raises(UserInputError, match="below its minimum"):
        DataConfig(n=1)
    d = DataConfig(dataset="torus", n=123, seed=4)
    assert DataConfig.from_json(d.to_json()) == d
    with pytest.raises(UserInputError, match="unknown DataConfig option"):
        DataConfig.from_dict({"dataset": "torus", "bogus": 1})


def _write_pngs(folder, n=24, size=(10, 8)):
    from PIL import Image
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8)).save(folder / f"im{i:02d}.png")


def test_image_folder_and_zip(tmp_path):
    import zipfile
    _write_pngs(tmp_path / "imgs")
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as z:
        for f in sorted((tmp_path / "imgs").iterdir()):
            z.write(f, f"imgs/{f.name}")
    a = make_dataset(DataConfig(dataset=str(tmp_path / "imgs"), n=100))
    b = make_dataset(DataConfig(dataset=str(tmp_path / "imgs.zip"), n=100))
    assert a.images.shape == (24, 8, 10) and a.X.shape == (24, 80)
    np.testing.assert_array_equal(a.X, b.X)
    assert 0.0 <= a.X.min() and a.X.max() <= 1.0
    (tmp_path / "imgs" / "zz_broken.png").write_bytes(b"not an image")
    with pytest.raises(UserInputError, match="zz_broken.png: not a readable image"):
        make_dataset(DataConfig(dataset=str(tmp_path / "imgs"), n=100))
    with pytest.raises(UserInputError, match="single image is not a dataset"):
        make_dataset(DataConfig(dataset=str(tmp_path / "imgs" / "im00.png"), n=100))

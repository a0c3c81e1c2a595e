"""The ER paper's toy task (issue 36, item 3): its dataset as §4 describes it, and the fixed f_proj embedding."""
import numpy as np
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import cdist

from vdae_core.api import DataConfig, make_dataset
from vdae_core.data.random_net import AMBIENT, HIDDEN, push, random_network
from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.manifolds import Sphere
from vdae_core.models.er_vae import ERVAEConfig
from vdae_core.pipeline.build import build_model


def test_the_network_is_the_papers_construction():
    W1, b1, W2, b2 = random_network()
    assert W1.shape == (HIDDEN, 2) and W2.shape == (AMBIENT, HIDDEN) == (100, 100)
    bound = np.sqrt(6 / (2 + 100))  # Xavier-uniform on the hidden layer
    assert np.abs(W1).max() <= bound and np.abs(W1).max() > 0.9 * bound
    assert np.abs(W2).max() <= 0.1 and np.abs(b2).max() <= 0.1  # nn.Linear's ±1/√100
    # one fixed network: another data seed draws other angles through the same map
    a, b = (make_dataset(DataConfig(dataset="circle_r100", n=50, seed=s)) for s in (0, 1))
    for ds in (a, b):
        c = np.stack([np.cos(ds.params[:, 0]), np.sin(ds.params[:, 0])], 1)
        np.testing.assert_allclose(ds.X, push(c), rtol=1e-5, atol=1e-6)
    # the points do lie on a one-dimensional curve: the data rule's latent dimension is a circle's (below) and the
    # rank of the hidden layer's pattern changes only where a ReLU switches (piecewise affine in (cos θ, sin θ))
    assert a.X.shape == (50, 100)


def test_the_curve_is_closed_and_does_not_cross_itself():
    ds = make_dataset(DataConfig(dataset="circle_r100", n=2000, seed=0))
    th = ds.params[:, 0]
    apart = np.abs(np.angle(np.exp(1j * (th[:, None] - th[None]))))
    D = cdist(ds.X, ds.X)
    spacing = np.median(np.sort(D, 1)[:, 1])
    # points more than 0.5 rad apart on the circle stay far apart in R^100: no crossing (100 spacings here)
    assert D[apart > 0.5].min() > 100 * spacing
    assert ds.auto_latent_dim() == 2  # the data rule, not the name, picks a circle's two coordinates


@pytest.mark.parametrize("k, ambient", [(1, 2), (2, 2), (3, 3)])
def test_the_exact_embedding_carries_the_gaussian_to_the_uniform_law(k, ambient):
    u = torch.randn(40000, k, generator=torch.Generator().manual_seed(k))
    z = Sphere(ambient - 1).from_gaussian(u).double().numpy()
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-6)
    if ambient == 2:  # the angle is uniform on [0, 2π): KS at 40,000 points, 1% critical value 0.0081
        a = np.mod(np.arctan2(z[:, 1], z[:, 0]), 2 * np.pi) / (2 * np.pi)
        assert stats.kstest(a, "uniform").statistic < 0.0081
    else:  # on S²: each coordinate of a uniform point is uniform on [−1, 1] (Archimedes)
        for j in range(3):
            assert stats.kstest((z[:, j] + 1) / 2, "uniform").statistic < 0.0081


def test_the_exact_embedding_trains_in_one_phase_and_is_refused_where_it_is_not_defined():
    ds = make_dataset(DataConfig(dataset="circle_r100", n=300, seed=0))
    model = build_model("er_vae", {"embedding": "exact", "pre_dim": 1, "device": "cpu"}, ds, seed=0)
    assert [p.name for p in model.phases()] == ["vae"]
    u = torch.randn(5, 1, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(model.embed(u).numpy(), Sphere(1).from_gaussian(u).numpy())
    for bad in (dict(latent_manifold="flat_torus"), dict(latent_manifold="sphere", latent_manifold_dim=2, pre_dim=4)):
        with pytest.raises(UserInputError, match="exact"):
            ERVAEConfig(embedding="exact", **bad).validate()

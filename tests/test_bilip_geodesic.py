"""Bi-Lipschitz on a manifold latent measures latent distances geodesically."""
import numpy as np
import pytest

from vdae_core.geometry.manifolds import MANIFOLDS
from vdae_core.metrics.bilipschitz import bilipschitz_both


def test_arc_length_unrolling_of_the_circle_is_an_isometry_except_at_its_tear():
    S1 = MANIFOLDS.get("sphere")(dim=1)
    t = np.sort(np.random.default_rng(0).uniform(0, 2 * np.pi, 400))
    z = np.c_[np.cos(t), np.sin(t)]
    x = np.c_[t, np.zeros_like(t)]  # the decoder cuts the circle open at angle 0
    geo, _ = bilipschitz_both(z, x, k=5, latent_space=S1)
    chord, _ = bilipschitz_both(z, x, k=5)
    # away from the cut, arc length is exactly the geodesic distance: K = 1; chords are shorter than arcs
    inner = (t > 0.3) & (t < 2 * np.pi - 0.3)
    assert np.abs(geo[inner] - 1).max() < 1e-9
    assert np.median(chord[inner]) > 1 + 1e-5
    # the tear: neighbours across angle 0 are mapped ~2π apart
    assert geo[~inner].max() > 50


def test_rp2_antipodal_codes_are_the_same_point():
    RP2 = MANIFOLDS.get("projective")(dim=2)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 3))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    flip = rng.random(300) < 0.5
    z_signed = np.where(flip[:, None], -z, z)  # the same points of RP², half written as their antipodes
    x = np.abs(z) * 2.0  # any smooth even map: scaling of |z| by 2... compared for both writings
    a, _ = bilipschitz_both(z, x, k=6, latent_space=RP2)
    b, _ = bilipschitz_both(z_signed, x, k=6, latent_space=RP2)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(AssertionError):  # Euclidean distances on the raw vectors do see the sign flips
        np.testing.assert_allclose(a, bilipschitz_both(z_signed, x, k=6)[0], rtol=1e-6)

"""Fisher–Lee circular correlation against its defining pair average and its invariances."""
import numpy as np
import pytest

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.circular import circular_correlation, torus_alignment

rng = np.random.default_rng(0)
N = 4000
THETA = rng.uniform(0, 2 * np.pi, N)


def pair_average(a, b):
    """The definition: E[sin(a1-a2) sin(b1-b2)] / sqrt(E[sin^2(a1-a2)] E[sin^2(b1-b2)]) over all pairs."""
    da = np.sin(a[:, None] - a[None, :])
    db = np.sin(b[:, None] - b[None, :])
    return (da * db).sum() / np.sqrt((da ** 2).sum() * (db ** 2).sum())


def test_closed_form_equals_the_pair_average():
    a = THETA[:300]
    b = a + 0.7 * np.sin(a) + rng.normal(0, 0.5, 300)
    assert circular_correlation(a, b) == pytest.approx(pair_average(a, b), abs=1e-12)


def test_rotation_and_reflection():
    assert circular_correlation(THETA, THETA + 1.3) == pytest.approx(1.0, abs=1e-12)
    assert circular_correlation(THETA, -THETA + 0.4) == pytest.approx(-1.0, abs=1e-12)
    warped = THETA + 0.3 * np.sin(THETA)  # a homeomorphism, not an isometry (0.5 sin gives 0.89)
    assert 0.9 < circular_correlation(THETA, warped) < 0.999


def test_independent_and_two_to_one_maps_are_near_zero():
    # the null standard deviation is about 1/sqrt(n); 5 of them is a 1-in-a-million threshold
    assert abs(circular_correlation(THETA, rng.uniform(0, 2 * np.pi, N))) < 5 / np.sqrt(N)
    assert abs(circular_correlation(THETA, 2 * THETA)) < 5 / np.sqrt(N)


def test_torus_alignment_finds_the_swap():
    phi = rng.uniform(0, 2 * np.pi, N)
    t = np.c_[THETA, phi]
    z = np.c_[-phi + 2.0, THETA + 0.1 * np.sin(3 * THETA)]  # swapped, one reflected, one warped
    out = torus_alignment(t, z)
    assert out["pairing"] == [1, 0] and out["per_angle"][1] == pytest.approx(1.0, abs=1e-12)
    assert out["min"] > 0.98


def test_bad_input():
    with pytest.raises(UserInputError):
        circular_correlation([0.0, np.nan, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(UserInputError):
        circular_correlation([0.0, 1.0, 2.0], [0.0, 1.0])

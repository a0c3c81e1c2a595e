"""The VDAE's x′ search (Eq. 5): the k-d tree and the scan return the nearest other training code."""
import numpy as np
import torch

from vdae_core.geometry.nearest_target import SCAN_BELOW, TREE_MAX_DIM, NearestTarget


def brute(q, Z, idx):
    d2 = ((q[:, None, :] - Z[None]) ** 2).sum(-1)
    d2[np.arange(len(q)), idx] = np.inf
    return d2.argmin(1)


def test_tree_and_scan_equal_the_brute_force_answer_and_never_return_the_point_itself():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5000, 2))
    idx = rng.integers(0, len(Z), 300)
    # half the queries sit exactly on their own point: the answer must be another point
    q = Z[idx] + np.where(np.arange(300)[:, None] < 150, 0.0, 0.3 * rng.standard_normal((300, 2)))
    want = brute(q, Z, idx)
    Zt, qt, it = torch.as_tensor(Z), torch.as_tensor(q), torch.as_tensor(idx)
    for use_tree in (True, False):
        got = NearestTarget(Zt, use_tree=use_tree)(qt, it).numpy()
        assert np.array_equal(got, want), use_tree
        assert not np.any(got == idx)


def test_a_duplicate_code_is_a_valid_target_but_the_point_itself_is_not():
    Z = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [5.0, 5.0]], dtype=torch.float64)
    for use_tree in (True, False):
        got = NearestTarget(Z, use_tree=use_tree)(Z[[0, 1, 3]], torch.tensor([0, 1, 3]))
        assert got.tolist() == [1, 0, 2], use_tree


def test_the_default_uses_the_tree_only_for_many_low_dimensional_codes_on_the_cpu():
    assert NearestTarget(torch.zeros(SCAN_BELOW, 2).normal_()).tree is not None
    assert NearestTarget(torch.zeros(SCAN_BELOW - 1, 2).normal_()).tree is None
    assert NearestTarget(torch.zeros(SCAN_BELOW, TREE_MAX_DIM + 1).normal_()).tree is None

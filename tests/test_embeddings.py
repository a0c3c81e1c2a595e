"""Tests of vdae_core.study.embeddings: seeded, joint t-SNE/UMAP embeddings."""
import numpy as np
import pytest

from vdae_core.study.embeddings import joint_embedding, tsne_embedding, umap_embedding
from vdae_core.foundation.registry import EMBEDDERS


# t-SNE runs single-threaded in these tests: the machine may be busy with other work, and OpenMP
# threads competing for cores slow scikit-learn's t-SNE down by orders of magnitude.
KW = {"tsne": {"n_threads": 1}, "umap": {}}


@pytest.fixture(scope="module")
def clouds():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(70, 5))
    gen = rng.normal(size=(50, 5)) + 0.3
    return real, gen


def test_embedders_registered():
    assert {"tsne", "umap"} <= set(EMBEDDERS.names())
    assert EMBEDDERS.get("tsne") is tsne_embedding and EMBEDDERS.get("umap") is umap_embedding


@pytest.mark.parametrize("method, embed", [("tsne", tsne_embedding), ("umap", umap_embedding)])
def test_joint_embedding_is_seeded_and_joint(clouds, method, embed):
    real, gen = clouds
    er, eg = joint_embedding(real, gen, method=method, seed=3, **KW[method])
    assert er.shape == (70, 2) and eg.shape == (50, 2)
    assert np.all(np.isfinite(er)) and np.all(np.isfinite(eg))
    er2, eg2 = joint_embedding(real, gen, method=method, seed=3, **KW[method])
    np.testing.assert_array_equal(er, er2)
    np.testing.assert_array_equal(eg, eg2)
    # One embedding of the stacked points, split back in order (not two separate fits).
    stacked = embed(np.vstack([real, gen]), seed=3, **KW[method])
    np.testing.assert_array_equal(np.vstack([er, eg]), stacked)
    if method == "umap":  # t-SNE with PCA init is deterministic whatever the seed
        er3, _ = joint_embedding(real, gen, method=method, seed=4)
        assert not np.array_equal(er, er3)


def test_joint_embedding_subsamples_with_seed(clouds):
    real, gen = clouds
    er, eg, ir, ig = joint_embedding(real, gen, method="tsne", seed=1, max_points=40, return_indices=True,
                                     n_threads=1)
    assert er.shape == (40, 2) and eg.shape == (40, 2)
    assert len(np.unique(ir)) == 40 and np.all(np.diff(ig) > 0) and ir.max() < 70 and ig.max() < 50
    _, _, ir2, ig2 = joint_embedding(real, gen, method="tsne", seed=1, max_points=40, return_indices=True,
                                     n_threads=1)
    np.testing.assert_array_equal(ir, ir2)
    np.testing.assert_array_equal(ig, ig2)
    _, _, ir_all, _ = joint_embedding(real[:30], gen, method="tsne", seed=1, max_points=40, return_indices=True,
                                     n_threads=1)
    np.testing.assert_array_equal(ir_all, np.arange(30))


@pytest.mark.parametrize("real, gen, method", [
    (np.zeros((10, 3)), np.zeros((10, 2)), "tsne"),  # dimension mismatch
    (np.ones((10, 3)), np.ones((10, 3)), "tsne"),  # all identical
    (np.ones((2, 3)), np.zeros((1, 3)), "tsne"),  # too few points
    (np.full((10, 3), np.nan), np.zeros((10, 3)), "tsne"),
    (np.zeros(10), np.zeros(10), "tsne"),  # 1-D
    (np.random.default_rng(0).normal(size=(10, 3)), np.zeros((5, 3)), "pca-ish"),  # unknown method
])
def test_joint_embedding_bad_input_raises(real, gen, method):
    with pytest.raises(ValueError):
        joint_embedding(real, gen, method=method, n_threads=1)


def test_tsne_bad_thread_count_raises(clouds):
    with pytest.raises(ValueError, match="n_threads"):
        tsne_embedding(clouds[0], n_threads=0)


@pytest.mark.parametrize("method, a, b", [("tsne", {"perplexity": 5.0}, {"perplexity": 35.0}),
                                          ("umap", {"n_neighbors": 5, "min_dist": 0.0},
                                           {"n_neighbors": 40, "min_dist": 0.9})])
def test_the_latent_pages_embedder_parameters_reach_the_embedder(clouds, method, a, b):
    """The Latent page exposes perplexity (t-SNE) and n_neighbors/min_dist (UMAP): they must change the picture,
    and equal the direct call with the same parameters."""
    real, gen = clouds
    ea = joint_embedding(real, gen, method=method, seed=3, **KW[method], **a)[0]
    eb = joint_embedding(real, gen, method=method, seed=3, **KW[method], **b)[0]
    assert not np.allclose(ea, eb)
    embed = EMBEDDERS.get(method)
    np.testing.assert_array_equal(ea, embed(np.vstack([real, gen]), seed=3, **KW[method], **a)[:70])

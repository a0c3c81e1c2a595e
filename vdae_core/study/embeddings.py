"""Seeded 2-D embeddings (t-SNE, UMAP) for viewing generated next to real data.

Embedders are registered in :data:`vdae_core.foundation.registry.EMBEDDERS` as functions
``f(data (n, m), seed, **kw) -> (n, 2)``. :func:`joint_embedding` fits ONE embedding of real and
generated points stacked together, so both halves share axes and can be compared. Results are
deterministic for a given seed; caching is left to the caller.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import as_points, check_not_constant
from vdae_core.metrics.subsample import subsample_indices
from vdae_core.foundation.registry import EMBEDDERS


@EMBEDDERS.register("tsne", help="t-SNE (scikit-learn, Barnes-Hut, PCA init), seeded.")
def tsne_embedding(data, seed: int = 0, n_threads: Optional[int] = None, **kw) -> np.ndarray:
    """2-D t-SNE of ``data`` with scikit-learn.

    Parameters
    ----------
    data : array_like, shape (n, m)
        Points, n >= 4.
    seed : int
        ``random_state`` of :class:`sklearn.manifold.TSNE` (with the PCA init the result does not
        depend on it; it is passed for ``init="random"``).
    n_threads : int, optional
        OpenMP threads of the Barnes-Hut iterations (default: scikit-learn's, all cores). The
        result does not depend on it. Pass 1 when other work keeps the cores busy (e.g. a model
        training): with more OpenMP threads than idle cores each of the ~1000 iterations waits
        on preempted threads, measured 2-80x slower on a loaded 2-core machine.
    **kw
        Passed to :class:`sklearn.manifold.TSNE`. Defaults: ``init="pca"``,
        ``perplexity=min(30, (n - 1) / 3)`` (scikit-learn needs perplexity < n).

    Returns
    -------
    ndarray, shape (n, 2), float64
    """
    from sklearn.manifold import TSNE

    data = as_points(data, "tsne", min_points=4)
    check_not_constant(data, "tsne")
    kw.setdefault("init", "pca")
    kw.setdefault("perplexity", min(30.0, (data.shape[0] - 1) / 3.0))
    tsne = TSNE(n_components=2, random_state=int(seed), **kw)
    if n_threads is None:
        emb = tsne.fit_transform(data)
    else:
        from threadpoolctl import threadpool_limits

        if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
            raise UserInputError(f"tsne: n_threads must be a positive integer, got {n_threads!r}")
        with threadpool_limits(int(n_threads), user_api="openmp"):
            emb = tsne.fit_transform(data)
    return np.asarray(emb, dtype=np.float64)


@EMBEDDERS.register("umap", help="UMAP (umap-learn), seeded (runs single-threaded).")
def umap_embedding(data, seed: int = 0, **kw) -> np.ndarray:
    """2-D UMAP of ``data`` with umap-learn.

    Parameters
    ----------
    data : array_like, shape (n, m)
        Points, n >= 4.
    seed : int
        ``random_state`` of :class:`umap.UMAP`; umap-learn then runs single-threaded, which is
        what makes it reproducible.
    **kw
        Passed to :class:`umap.UMAP`. Default ``n_neighbors=min(15, n - 1)``.

    Returns
    -------
    ndarray, shape (n, 2), float64
    """
    import warnings

    data = as_points(data, "umap", min_points=4)
    check_not_constant(data, "umap")
    with warnings.catch_warnings():
        # umap-learn imports numba/pynndescent, which emit deprecation noise on import.
        warnings.simplefilter("ignore")
        import umap

    kw.setdefault("n_neighbors", min(15, data.shape[0] - 1))
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": expected, we want the seed.
        warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
        emb = umap.UMAP(n_components=2, random_state=int(seed), **kw).fit_transform(data)
    return np.asarray(emb, dtype=np.float64)


def joint_embedding(real, generated, method: str = "tsne", seed: int = 0,
                    max_points: Optional[int] = 2000, return_indices: bool = False, **kw):
    """One 2-D embedding of real and generated points together, split back into the two sets.

    Parameters
    ----------
    real : array_like, shape (n, m)
        Real data points.
    generated : array_like, shape (n_gen, m)
        Generated points, same dimension m.
    method : str
        A registered embedder: ``"tsne"`` or ``"umap"``.
    seed : int
        Seeds the embedder and the subsampling.
    max_points : int or None
        Each side with more points is subsampled to ``max_points`` points, without replacement,
        with ``numpy.random.default_rng(seed)`` (see :func:`vdae_core.metrics.subsample.subsample_indices`;
        the indices are returned with ``return_indices``). ``None`` keeps everything.
    return_indices : bool
        Also return the rows of ``real`` and ``generated`` that were embedded.
    **kw
        Passed to the embedder (e.g. ``perplexity`` or ``n_threads`` for t-SNE, ``n_neighbors``
        for UMAP).

    Returns
    -------
    emb_real : ndarray, shape (n', 2)
        Embedding of the (possibly subsampled) real points, in the order of ``idx_real``.
    emb_gen : ndarray, shape (n_gen', 2)
        Embedding of the (possibly subsampled) generated points.
    idx_real, idx_gen : ndarray of int64
        Only with ``return_indices``: the rows used (``arange`` when nothing was dropped).

    Raises
    ------
    UserInputError
        For an unknown method, invalid arrays (non-2-D, NaN/inf, empty), different dimensions,
        fewer than 4 points in all, or all points identical.
    """
    embed = EMBEDDERS.get(method)
    real = as_points(real, "joint_embedding: real")
    generated = as_points(generated, "joint_embedding: generated")
    if real.shape[1] != generated.shape[1]:
        raise UserInputError(f"joint_embedding: real points have dimension {real.shape[1]} "
                             f"but generated ones have {generated.shape[1]}")
    idx_real = subsample_indices(real.shape[0], max_points, seed)
    idx_gen = subsample_indices(generated.shape[0], max_points, seed)
    stacked = np.vstack([real[idx_real], generated[idx_gen]])
    if stacked.shape[0] < 4:
        raise UserInputError(f"joint_embedding: needs at least 4 points in all, got {stacked.shape[0]}")
    check_not_constant(stacked, "joint_embedding")
    emb = embed(stacked, seed=seed, **kw)
    n = len(idx_real)
    if return_indices:
        return emb[:n], emb[n:], idx_real, idx_gen
    return emb[:n], emb[n:]

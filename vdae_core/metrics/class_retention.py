"""Cluster-conditional sampling (the VDAE paper's MNIST experiment, ECCV §6 / arXiv Fig. 5): do walkers started
on one class stay in it? Each sample of a walk is labelled by a k-nearest-neighbour classifier fitted on real
images (scikit-learn), and the share of samples that carry their walker's starting label is reported per step.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS


@METRICS.register("walk_class_retention", help="Share of random-walk samples a kNN classifier on real data gives "
                                               "the starting point's label, per step.")
def walk_class_retention(walk: np.ndarray, start_labels: np.ndarray, X_ref: np.ndarray, labels_ref: np.ndarray,
                         k: int = 5) -> Dict[str, object]:
    """Per-step share of walk samples labelled like their start.

    Parameters
    ----------
    walk : ndarray (steps + 1, w, m)
        ``w`` walkers; ``walk[0]`` are the starting points.
    start_labels : ndarray (w,)
        The class of each walker's start.
    X_ref, labels_ref : ndarray (r, m), (r,)
        Real points and their labels, the classifier's training set.
    k : int
        Neighbours of the classifier (majority vote, scikit-learn's ``KNeighborsClassifier``).

    Returns
    -------
    dict with ``per_step`` (steps + 1,) shares (step 0 is the classifier's accuracy on the starts),
    ``chance`` (the share a walk that forgot its class would keep: the mean over walkers of the
    reference's frequency of the walker's start label, 0.1 for ten balanced classes) and ``per_class`` {label: share after the
    last step}.
    """
    from sklearn.neighbors import KNeighborsClassifier

    walk = np.asarray(walk, dtype=np.float64)
    start_labels = np.asarray(start_labels).reshape(-1)
    labels_ref = np.asarray(labels_ref).reshape(-1)
    if walk.ndim != 3 or walk.shape[1] != len(start_labels):
        raise UserInputError(f"walk must be (steps + 1, walkers, m) with one label per walker; got {walk.shape} "
                             f"and {len(start_labels)} labels")
    if len(X_ref) != len(labels_ref) or len(X_ref) <= k:
        raise UserInputError(f"the classifier needs more than k={k} labelled reference points, one label each")
    if not np.isfinite(walk).all():
        raise UserInputError("the walk contains NaN or inf")
    clf = KNeighborsClassifier(n_neighbors=k).fit(np.asarray(X_ref, dtype=np.float64), labels_ref)
    s, w, m = walk.shape
    pred = clf.predict(walk.reshape(s * w, m)).reshape(s, w)
    kept = pred == start_labels[None, :]
    freq = {c: np.mean(labels_ref == c) for c in np.unique(labels_ref)}
    chance = float(np.mean([freq.get(c, 0.0) for c in start_labels]))
    per_class = {int(c) if np.issubdtype(type(c), np.integer) else str(c): float(kept[-1, start_labels == c].mean())
                 for c in np.unique(start_labels)}
    return {"per_step": kept.mean(1), "chance": chance, "per_class": per_class}

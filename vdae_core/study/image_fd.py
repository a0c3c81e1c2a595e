"""Sample quality on images without downloads (issue 36, item 4): a Fréchet distance in the features of a network
the studio trains itself on the run's training split, beside the floor of two real samples.

The Fréchet inception distance (Heusel et al. 2017) needs Inception weights, which the studio cannot download at
run time. Here the features are the 64-unit penultimate layer of a small convolutional network (two stride-2
convolutions of 16 and 32 channels, 4 × 4 average pooling, a 64-unit ReLU layer) trained on half of the run's own
training points: a **classifier** of the dataset's labels where it has them (MNIST digits, COIL-20 objects), else
an **autoencoder** whose 64-unit code is the feature (Frey faces have no labels). It is trained once per training
split and seed and kept for the process, so every model of a comparison on that split is judged in one feature
space. Its quality is reported beside the number (held-out accuracy, or reconstruction error), and the number is
called "FD in the studio's <classifier|autoencoder> features", never FID: values compare within one dataset and
feature network only.

The feature network learns from one random half of the run's training points; the other half is kept for the
floor, so that the floor's real images are as new to the features as the held-out ones. The distance is
:func:`vdae_core.metrics.frechet.frechet_distance` between ``n`` generated images and ``n`` held-out images (the
run's held-out split, never trained on); its floor is the same distance between ``n`` images of the floor's half
and the same held-out images, ``reps`` times with different draws (mean and sd): new real images score it.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from vdae_core.foundation.errors import UserInputError
from vdae_core.metrics.frechet import frechet_distance

FEATURES = 64
STEPS, BATCH, LR = 1500, 128, 1e-3
_NETS: Dict[Tuple, "FeatureNet"] = {}
_LOCK = threading.Lock()


class FeatureNet(nn.Module):
    """Images (B, C, h, w) in [0, 1] -> features (B, 64); a head for the labels (classifier) or the pixels
    (autoencoder)."""

    def __init__(self, shape: Tuple[int, int, int], classes: int):
        super().__init__()
        c = shape[0]
        self.body = nn.Sequential(nn.Conv2d(c, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(32 * 16, FEATURES), nn.ReLU())
        self.shape, self.classes = tuple(shape), int(classes)
        self.head = nn.Linear(FEATURES, classes if classes else int(np.prod(shape)))
        self.kind = "classifier" if classes else "autoencoder"
        self.quality: Dict[str, float] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    @torch.no_grad()
    def features(self, X: np.ndarray, batch: int = 1024) -> np.ndarray:
        """Features of flattened images ``X`` (n, C·h·w) in [0, 1]: (n, 64) float64."""
        self.eval()
        out = [self.body(torch.as_tensor(X[i:i + batch], dtype=torch.float32).reshape(-1, *self.shape)).double()
               for i in range(0, len(X), batch)]
        return torch.cat(out).numpy()


def _train(X: np.ndarray, y: Optional[np.ndarray], shape, seed: int, Xh: np.ndarray, yh: Optional[np.ndarray]) -> FeatureNet:
    from vdae_core.models.base import seeded_init

    classes = int(y.max()) + 1 if y is not None else 0
    with seeded_init(seed):  # the global RNG under the models' lock: a server thread's draws cannot interleave
        net = FeatureNet(shape, classes)
    g = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    Xt = torch.as_tensor(X, dtype=torch.float32).reshape(-1, *shape)
    yt = torch.as_tensor(y, dtype=torch.long) if y is not None else None
    net.train()
    for _ in range(STEPS):
        idx = torch.randint(0, len(Xt), (min(BATCH, len(Xt)),), generator=g)
        out = net(Xt[idx])
        loss = (nn.functional.cross_entropy(out, yt[idx]) if yt is not None
                else (torch.sigmoid(out) - Xt[idx].flatten(1)).pow(2).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        out = net(torch.as_tensor(Xh, dtype=torch.float32).reshape(-1, *shape))
        if yh is not None:
            net.quality = {"held_out_accuracy": float((out.argmax(1).numpy() == yh).mean())}
        else:
            net.quality = {"held_out_mse": float((torch.sigmoid(out) - torch.as_tensor(Xh).flatten(1)).pow(2).mean())}
    return net


def halves(n: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Indices of the training points the feature network learns from and of those the floor draws from (two
    random halves of ``n``): the floor's real images must be as new to the features as the held-out ones."""
    perm = np.random.default_rng([int(seed), 0xFEA7]).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:])


def _check_images(ds) -> None:
    if len(tuple(ds.data_shape)) != 3:
        raise UserInputError(f"a Fréchet distance in image features needs images; '{ds.name}' has points of "
                             f"shape {tuple(ds.data_shape)}")


def feature_net(train, heldout, seed: int = 0) -> FeatureNet:
    """The feature network of the images ``train`` (a Dataset), trained once per process on them; its quality
    measured on ``heldout``."""
    _check_images(train)
    shape = tuple(train.data_shape)
    labels = train.labels if train.labels is not None and len(np.unique(train.labels)) > 1 else None
    key = (train.content_hash, labels is not None, int(seed),
           STEPS, FEATURES)
    with _LOCK:
        net = _NETS.get(key)
        if net is None:
            yh = heldout.labels if labels is not None else None
            net = _NETS[key] = _train(train.X, labels, shape, seed, heldout.X, yh)
    return net


def image_fd(run, n: Optional[int] = None, reps: int = 3, seed: int = 0) -> Dict[str, Any]:
    """FD of ``run``'s samples to its held-out images in the studio's feature space, with its floor.

    Parameters
    ----------
    run : Run
        A trained run on an image set, with a held-out split and a sampler.
    n : int, optional
        Images a side (default 2,000), at most the held-out split's size and 3/4 of the floor's half of the
        training points.
    reps : int
        Training draws behind the floor.
    seed : int
        Seeds the feature network, the samples and the draws.

    Returns
    -------
    dict
        ``fd``, ``floor_mean``, ``floor_sd``, ``n``, ``features`` (what they are), ``feature_quality``.
    """
    _check_images(run.dataset)
    if run.heldout is None:
        raise UserInputError("this run has no held-out images to judge its samples against")
    if not run.model.has_sampler:
        raise UserInputError(run.model.lacks("has_sampler"))
    if reps < 2:
        raise UserInputError(f"reps must be at least 2 (a floor needs a spread), got {reps}")
    learn, real = halves(run.dataset.n, seed)
    H = run.heldout.X
    n = int(min(n or 2000, len(H), len(real) * 3 // 4))  # the floor's draws must differ: at most 3/4 of its half
    rng = np.random.default_rng([int(seed), 0xFD])
    H = H[rng.choice(len(H), n, replace=False)]
    net = feature_net(run.dataset.subset(learn), run.heldout, seed)
    FH = net.features(H)
    G = np.asarray(run.model.sample(n, torch.Generator().manual_seed(int(seed))), dtype=np.float64)
    if not np.isfinite(G).all():
        raise UserInputError("the model's samples contain NaN or inf")
    value = frechet_distance(net.features(G), FH)
    floors = [frechet_distance(net.features(run.dataset.X[rng.choice(real, n, replace=False)]), FH)
              for _ in range(int(reps))]
    return {"fd": value, "floor_mean": float(np.mean(floors)), "floor_sd": float(np.std(floors, ddof=1)), "n": n,
            "reps": int(reps), "features": f"the studio's {net.kind} features ({FEATURES} units), trained on this "
            f"run's training split (seed {seed}); not an Inception FID", "feature_quality": net.quality}

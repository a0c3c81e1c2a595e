"""The ER paper's toy task (§4): a circle pushed into R^100 by a fixed, randomly initialised network.

"Sampling of a batch from the dataset consisted of two steps: 1. We generated uniformly distributed points on a
1-dimensional unit sphere embedded in R². 2. We applied a non-linear fixed transformation R² → R^100 implemented
as a randomly initialized multilayer perceptron with one hidden layer of size 100 and ReLU nonlinearity.
Xavier-uniform initialization scheme was applied to the hidden layer." (``shared/papers/manifold-valued-latents-
embedding-reparam.txt``, §4; no noise, as there.)

What the paper leaves open is filled in as PyTorch's ``nn.Linear`` would: the hidden layer's bias and the output
layer's weights and bias uniform on ±1/√fan_in. The network is one fixed draw (seed :data:`NETWORK_SEED`), the
same for every data seed: a dataset is one law, and its seed draws the angles only. The result is a closed curve in
R^100 (the ReLU network is continuous, and injective on the circle for this draw: checked in
``tests/test_er_toy.py``).
"""
from __future__ import annotations

import numpy as np

from vdae_core.data.base import Dataset, add_noise, rng_for
from vdae_core.foundation.registry import DATASETS

#: The seed of the fixed network (any fixed number: the paper's own draw is not published).
NETWORK_SEED = 20190
AMBIENT, HIDDEN = 100, 100


def random_network(seed: int = NETWORK_SEED):
    """The fixed map R² → R^100: (W1 (100, 2), b1 (100,), W2 (100, 100), b2 (100,)), float64.

    W1 Xavier-uniform, U(±√(6 / (2 + 100))) (the paper); b1, W2 and b2 uniform on ±1/√fan_in (``nn.Linear``'s
    defaults, which the paper does not override)."""
    rng = np.random.default_rng(seed)
    a = np.sqrt(6.0 / (2 + HIDDEN))
    W1 = rng.uniform(-a, a, (HIDDEN, 2))
    b1 = rng.uniform(-1 / np.sqrt(2), 1 / np.sqrt(2), HIDDEN)
    W2 = rng.uniform(-1 / np.sqrt(HIDDEN), 1 / np.sqrt(HIDDEN), (AMBIENT, HIDDEN))
    b2 = rng.uniform(-1 / np.sqrt(HIDDEN), 1 / np.sqrt(HIDDEN), AMBIENT)
    return W1, b1, W2, b2


def push(circle_points: np.ndarray, seed: int = NETWORK_SEED) -> np.ndarray:
    """x = W2 ReLU(W1 c + b1) + b2 for points ``c`` (n, 2) of the unit circle; returns (n, 100)."""
    W1, b1, W2, b2 = random_network(seed)
    return np.maximum(circle_points @ W1.T + b1, 0.0) @ W2.T + b2


@DATASETS.register("circle_r100", help="The ER paper's toy task: a circle pushed into R^100 by a fixed random ReLU "
                                       "network (one hidden layer of 100); coordinate: angle θ. Small: each "
                                       "coordinate varies by about 0.04, so noise is best kept below 0.01.")
def circle_r100(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    """Uniform angles θ, x = network(cos θ, sin θ). Returns X (n, 100), params θ (n, 1)."""
    rng = rng_for(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    X = push(np.stack([np.cos(theta), np.sin(theta)], 1))
    return Dataset("circle_r100", add_noise(X, noise, rng).astype(np.float32), theta[:, None], ("theta",), (True,),
                   intrinsic_dim=1, suggested_dim=None,
                   source=f"circle_r100(n={n}, seed={seed}, noise={noise}; network seed {NETWORK_SEED})")

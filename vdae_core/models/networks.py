"""Small network builders shared by the models, and the network registry.

A network family is registered in :data:`~vdae_core.foundation.registry.NETWORKS` as a builder
``build(in_shape, out_dim, hidden, activation, out_shape=None, channels=64) -> nn.Module`` mapping inputs
of shape (B, *in_shape) to (B, out_dim); ``out_shape`` is the shape the flat output stands for (an image
(C, H, W) for a decoder) and ``channels`` the width of convolutional layers. A model's config names the
family (``network``); ``auto`` picks ``conv`` for images of at least :data:`MIN_CONV_SIDE` pixels a side
on a GPU and ``mlp`` otherwise (:func:`resolve_network`), so a new architecture is one registration.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from vdae_core.foundation.registry import NETWORKS

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus, "elu": nn.ELU}


def mlp(n_in: int, hidden: Sequence[int], n_out: int, activation: str = "relu") -> nn.Sequential:
    """Fully connected network n_in -> hidden... -> n_out with the given activation between layers."""
    act = ACTIVATIONS[activation]
    layers = []
    prev = n_in
    for h in hidden:
        layers += [nn.Linear(prev, h), act()]
        prev = h
    layers.append(nn.Linear(prev, n_out))
    return nn.Sequential(*layers)


@NETWORKS.register("mlp", help="Fully connected layers on the flattened input.")
def mlp_network(in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str = "relu",
                out_shape: Optional[Tuple[int, ...]] = None, channels: int = 64) -> nn.Module:
    """An MLP on inputs of shape (B, *in_shape), flattened; output (B, out_dim). ``out_shape`` and
    ``channels`` are not used (the output stays flat)."""
    net = mlp(int(math.prod(in_shape)), hidden, out_dim, activation)
    return net if len(in_shape) == 1 else nn.Sequential(nn.Flatten(), *net)


#: Smallest image side (pixels) for which ``auto`` chooses the convolutional family: below it two 2×
#: poolings leave too little (an 8×8 digit would end at 2×2) and an MLP on the pixels is as good and faster.
MIN_CONV_SIDE = 16


def _image_shape(shape: Optional[Tuple[int, ...]]) -> Optional[Tuple[int, int, int]]:
    return tuple(int(s) for s in shape) if shape is not None and len(shape) == 3 else None


def conv4(c_in: int, c_out: int) -> nn.Sequential:
    """A stride-1 convolution with a 4×4 kernel and 'same' output size (padding 1 before, 2 after, as
    Keras pads an even kernel), padded explicitly: PyTorch's padding='same' copies the input for even kernels."""
    return nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(c_in, c_out, 4))


class ConvEncoder(nn.Module):
    """The VDAE paper's convolutional encoder (Appendix A.4.1), for images (B, C, H, W) or their flat pixels.

    Two blocks of [Conv(k=4, stride 1, 'same') → act → Conv(k=4) → act → MaxPool(2)], then Dense(``dense``)
    → act → Dense(out_dim). The paper uses 64 channels and Dense(512) on 28×28 MNIST; ``channels`` scales
    the width, and pooling rounds up so any size works (a 36×48 image ends at 9×12).
    """

    def __init__(self, image_shape: Tuple[int, int, int], out_dim: int, channels: int, dense: int, activation: str):
        super().__init__()
        act = ACTIVATIONS[activation]
        c, h, w = image_shape
        self.image_shape = tuple(image_shape)
        layers = []
        for _ in range(2):
            layers += [conv4(c, channels), act(), conv4(channels, channels), act(), nn.MaxPool2d(2, ceil_mode=True)]
            c, h, w = channels, -(-h // 2), -(-w // 2)
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(c * h * w, dense), act(), nn.Linear(dense, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C·H·W) or (B, C, H, W) -> (B, out_dim)."""
        return self.head(self.features(x.reshape(-1, *self.image_shape)))


class ConvDecoder(nn.Module):
    """The VDAE paper's convolutional decoder (Appendix A.4.1), output flattened to (B, C·H·W).

    Dense(``dense``) → act → Dense(channels × ⌈H/4⌉ × ⌈W/4⌉) → act, then two blocks of [Conv(k=4, 'same') →
    act → Conv(k=4) → act → Upsample(2×)] (the last upsampling to exactly H × W), then a linear 3×3 conv
    to C channels. The paper's Conv2DTranspose with stride 1 is a convolution with a flipped kernel, the
    same function class, so plain convolutions with 'same' padding are used.
    """

    def __init__(self, in_dim: int, image_shape: Tuple[int, int, int], channels: int, dense: int, activation: str):
        super().__init__()
        act = ACTIVATIONS[activation]
        c, h, w = image_shape
        h2, w2 = -(-h // 2), -(-w // 2)
        h4, w4 = -(-h2 // 2), -(-w2 // 2)
        self.base = (channels, h4, w4)
        self.head = nn.Sequential(nn.Linear(in_dim, dense), act(), nn.Linear(dense, channels * h4 * w4), act())
        blocks = []
        for size in ((h2, w2), (h, w)):
            blocks += [conv4(channels, channels), act(), conv4(channels, channels), act(),
                       nn.Upsample(size=size, mode="nearest")]
        self.body = nn.Sequential(*blocks, nn.Conv2d(channels, c, 3, padding="same"), nn.Flatten())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, C·H·W)."""
        return self.body(self.head(z.reshape(len(z), -1)).reshape(-1, *self.base))


@NETWORKS.register("conv", help="Convolutional encoder/decoder of the VDAE paper (Appendix A.4.1) for images; "
                                "fully connected for other inputs and outputs.")
def conv_network(in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str = "relu",
                 out_shape: Optional[Tuple[int, ...]] = None, channels: int = 64) -> nn.Module:
    """A :class:`ConvEncoder` for image inputs, a :class:`ConvDecoder` for image outputs, else an MLP.

    The dense layer's width is the last of ``hidden`` (the paper's 512 when hidden is 512).
    """
    dense = int(hidden[-1]) if len(hidden) else 512
    img_in, img_out = _image_shape(in_shape), _image_shape(out_shape)
    if img_in is not None:
        return ConvEncoder(img_in, out_dim, channels, dense, activation)
    if img_out is not None and math.prod(img_out) == out_dim:
        return ConvDecoder(int(math.prod(in_shape)), img_out, channels, dense, activation)
    return mlp_network(in_shape, out_dim, hidden, activation)


def resolve_network(name: str, data_shape: Tuple[int, ...], device: str = "cuda") -> str:
    """The family ``name`` stands for on data of shape ``data_shape`` trained on ``device``.

    ``auto`` is ``conv`` for images of at least :data:`MIN_CONV_SIDE` pixels a side on a GPU, and ``mlp``
    otherwise: on the 2-core CPU one forward and backward pass of the paper's convolutional encoder (64
    channels) on the 72 ALOI images (36×48) takes 1.0 s against 4 ms for the MLP (16 channels: 0.10 s;
    ``benchmarks/bench_conv.py``, docs/BENCHMARKS.md), so a default VDAE (2,900 steps) would train for
    most of an hour instead of a minute. Other names are themselves.
    """
    if name != "auto":
        return name
    img = _image_shape(data_shape)
    return "conv" if img is not None and min(img[1:]) >= MIN_CONV_SIDE and device != "cpu" else "mlp"


@NETWORKS.register("auto", help=f"conv for images of at least {MIN_CONV_SIDE} pixels a side on a GPU, else mlp "
                                "(resolved when the model is built and recorded in the run).")
def auto_network(in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str = "relu",
                 out_shape: Optional[Tuple[int, ...]] = None, channels: int = 64) -> nn.Module:
    """The family :func:`resolve_network` picks for these shapes on a GPU (models built through
    :func:`vdae_core.pipeline.build.build_model` have ``auto`` resolved for their device first)."""
    shape = in_shape if _image_shape(in_shape) else (out_shape or in_shape)
    return NETWORKS.build(resolve_network("auto", shape), in_shape, out_dim, hidden, activation,
                          out_shape=out_shape, channels=channels)


def network(config, in_shape: Tuple[int, ...], out_dim: int, hidden: Sequence[int], activation: str,
            out_shape: Optional[Tuple[int, ...]] = None) -> nn.Module:
    """The network of the config's family (``config.network``, width ``config.conv_channels``).

    Parameters
    ----------
    in_shape : tuple
        Shape of one input: (m,) for vectors, (C, H, W) for images.
    out_dim : int
        Size of the flat output.
    out_shape : tuple, optional
        The shape the output stands for ((C, H, W) for a decoder of images).
    """
    return NETWORKS.build(config.network, tuple(in_shape), int(out_dim), tuple(hidden), activation,
                          out_shape=None if out_shape is None else tuple(out_shape),
                          channels=int(getattr(config, "conv_channels", 64)))


class Standardise(nn.Module):
    """Fixed affine input map x -> (x - mean) / scale with one scalar scale (keeps the geometry)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(()))

    def fit(self, X: torch.Tensor) -> "Standardise":
        self.mean.copy_(X.mean(0))
        s = (X - X.mean(0)).pow(2).sum(1).mean().sqrt()
        self.scale.copy_(torch.clamp(s, min=1e-12))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.scale + self.mean


def _activation_slope(module: nn.Module, h: torch.Tensor, a: torch.Tensor) -> Optional[torch.Tensor]:
    """σ'(h) for the activation ``module`` with pre-activation ``h`` and output ``a = σ(h)``, as an
    expression autograd can differentiate (None for an activation not listed here)."""
    if isinstance(module, nn.ReLU):
        # 1 where h > 0 (ReLU's own backward mask); sign of the output is that mask and, on this CPU, 10× faster
        # than comparing and casting. Detached: the slope's derivative is 0 almost everywhere.
        return torch.sign(a.detach())
    if isinstance(module, nn.Tanh):
        return 1 - a * a
    if isinstance(module, nn.SiLU):
        s = torch.sigmoid(h)
        return s * (1 + h * (1 - s))
    if isinstance(module, nn.Softplus):
        return torch.where(module.beta * h > module.threshold, torch.ones_like(h), torch.sigmoid(module.beta * h))
    if isinstance(module, nn.ELU):
        return torch.where(h > 0, torch.ones_like(h), a + module.alpha)
    return None


def value_and_input_gradient(net: nn.Module, x: torch.Tensor) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
    """D(x) and ∇ₓD(x) of a scalar-output MLP (:func:`mlp`, or one ``nn.Linear``) as explicit expressions.

    The input gradient of D = W_L σ(… σ(W_1 x + b_1) …) + b_L is the chain
    ∇ₓD = W_1ᵀ diag σ'(h_1) ⋯ W_{L-1}ᵀ diag σ'(h_{L-1}) W_Lᵀ, written here as ordinary tensor operations, so
    a loss on it (the WGAN-GP penalty) is differentiated in the weights by one first-order backward pass
    instead of autograd's double backward (``create_graph=True``). The numbers are the same to float rounding
    (tests/test_wgan_gp.py); a WGAN-GP generator step with its 5 critic steps takes 31 ms instead of 38 on
    one core of the 2-core AMD EPYC (benchmarks/bench_wgan_step.py).

    Parameters
    ----------
    net : nn.Module
        ``nn.Sequential`` of ``nn.Linear`` layers and activations (an optional leading ``nn.Flatten``), or one
        ``nn.Linear``, with one output.
    x : Tensor (B, *in_shape)

    Returns
    -------
    (value (B,), gradient (B, m)) with m = prod(in_shape), or None when ``net`` is not of that form (the
    caller then uses autograd).
    """
    modules = list(net) if isinstance(net, nn.Sequential) else [net]
    if modules and isinstance(modules[0], nn.Flatten):
        modules = modules[1:]
    if not modules or not isinstance(modules[-1], nn.Linear) or modules[-1].out_features != 1:
        return None
    a = x.flatten(1)
    weights, slopes = [], []
    for module in modules:
        if isinstance(module, nn.Linear):
            weights.append(module.weight)
            a = nn.functional.linear(a, module.weight, module.bias)
        else:
            h, a = a, module(a)
            slope = _activation_slope(module, h, a)
            if slope is None or len(slopes) != len(weights) - 1:
                return None
            slopes.append(slope)
    if len(slopes) != len(weights) - 1:
        return None
    v = weights[-1].expand(len(x), -1)  # (B, H_{L-1}): ∂D/∂a_{L-1}
    for W, slope in zip(reversed(weights[:-1]), reversed(slopes)):
        v = (v * slope) @ W  # ∂D/∂a_{l-1} = (∂D/∂a_l ⊙ σ'(h_l)) W_l
    return a[:, 0], v

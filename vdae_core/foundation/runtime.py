"""Device choice and thread settings."""
from __future__ import annotations

import os
from typing import Optional

import torch

from vdae_core.foundation.errors import UserInputError

DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(name: str = "auto") -> torch.device:
    """Resolve a device name: ``auto`` picks cuda > mps > cpu.

    Raises :class:`UserInputError` for a device that is not present (e.g. ``cuda`` on a CPU box).
    """
    name = (name or "auto").lower()
    if name.startswith("cuda:"):
        base = "cuda"
    else:
        base = name
    if base not in DEVICES:
        raise UserInputError(f"unknown device '{name}' (choose from {', '.join(DEVICES)})")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise UserInputError("device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)")
    if base == "mps" and not (getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise UserInputError("device 'mps' requested but Apple MPS is not available (use --device cpu or auto)")
    return torch.device(name)


def device_summary() -> str:
    """One line naming the device ``auto`` would use, for the UI and CLI."""
    d = choose_device("auto")
    if d.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if d.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} torch threads)"


def set_threads(n: Optional[int] = None) -> int:
    """Set torch's intra-op threads (default: ``VDAE_THREADS`` or all cores); return the count."""
    if n is None:
        n = int(os.environ.get("VDAE_THREADS", "0")) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()

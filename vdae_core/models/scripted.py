"""Bring your own model (issue 32, part 2): a TorchScript file, read without unpickling.

The studio audits a model it did not train through the methods the file exports:

* ``encode(x)`` (n, m) -> (n, d): the codes of data points (tears, folds, bi-Lipschitz, RTD, persistence);
* ``decode(z)`` (n, d) -> (n, m): the bi-Lipschitz constant of the decoder over latent neighbours;
* samples, from ``sample(n: int)`` (the model's own sampler) or ``generate(z)`` with an integer attribute
  ``latent_dim`` (noise z ~ N(0, I)); a ``decode`` alone is not taken as a generator (decoding standard normal
  noise means nothing for a plain autoencoder).

A file is recognised by its contents: a TorchScript archive (``torch.jit.save``: a zip with ``code/`` and
``data.pkl``) is read by TorchScript's own loader, which builds tensors and TorchScript types only and never
falls back to Python's pickle. Everything else is refused with a message: a ``torch.save`` file (a pickle: it
runs whatever code it names), and a ``torch.export`` archive (.pt2), whose loader unpickles weights and
constants the archive marks so and loads compiled libraries — an uploaded one could run code on the server.

The file's code runs in this process, on the caller's thread: a model that never returns holds that thread.
"""
from __future__ import annotations

import os
import zipfile
from typing import Optional

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import MAX_CODE_DIM, check_array

#: File names taken for model files (the contents decide what they are).
MODEL_SUFFIXES = (".pt", ".pth", ".pt2")
HOW_TO_EXPORT = "torch.jit.script(model).save('model.pt') (or torch.jit.trace)"


def file_kind(path: str) -> str:
    """'torchscript', or a :class:`UserInputError` that says what the file is instead."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise UserInputError(f"model file not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head[:1] == b"\x80":
            raise UserInputError(f"{name} is a Python pickle (torch.save of a module?): the studio never unpickles a "
                                 f"file, since that runs the code it names. Export the model instead: {HOW_TO_EXPORT}")
        raise UserInputError(f"{name} is not a TorchScript file (it is not a zip archive; first bytes {head!r})")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if any(n.endswith(("serialized_exported_program.json", "/archive_format", "/models/model.json")) for n in names):
        raise UserInputError(f"{name} is a torch.export archive: its loader unpickles parts of the file and loads "
                             f"compiled libraries, so an uploaded one could run code here. Save the model as "
                             f"TorchScript instead: {HOW_TO_EXPORT}")
    if any("/code/" in n or n.startswith("code/") for n in names) and any(n.endswith("data.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("data.pkl") for n in names):
        raise UserInputError(f"{name} is a zip written by torch.save (a pickled Python object, not TorchScript): the "
                             f"studio never unpickles a file. Export it: {HOW_TO_EXPORT}")
    raise UserInputError(f"{name} is a zip archive but not TorchScript (entries: {', '.join(names[:5])}…)")


class ScriptedModel:
    """A TorchScript file's exported methods, called on NumPy arrays (float32 in, float64 out).

    Attributes
    ----------
    has_encoder, has_decoder, has_sampler : bool
        Which of encode / decode / samples the file offers.
    latent_dim : int or None
        The file's ``latent_dim`` attribute, where it has one.
    """

    def __init__(self, path: str, device: str = "cpu"):
        self.path, self.name = path, os.path.basename(path)
        self.device = torch.device(device)
        file_kind(path)
        try:
            self.module = torch.jit.load(path, map_location=self.device)
        except Exception as e:  # noqa: BLE001 (any failure of the loader is a bad file)
            raise UserInputError(f"{self.name}: could not load the TorchScript file ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
        dim = getattr(self.module, "latent_dim", None)
        self.latent_dim: Optional[int] = int(dim) if isinstance(dim, (int, np.integer)) and dim > 0 else None
        self.has_encoder = hasattr(self.module, "encode")
        self.has_decoder = hasattr(self.module, "decode")
        self.has_sampler = hasattr(self.module, "sample") or (hasattr(self.module, "generate")
                                                              and self.latent_dim is not None)
        if not (self.has_encoder or self.has_decoder or self.has_sampler):
            raise UserInputError(f"{self.name} exports none of encode(x), decode(z), sample(n) or generate(z) with "
                                 f"a latent_dim attribute: nothing to audit")

    def description(self) -> str:
        parts = [w for w, h in (("encode", self.has_encoder), ("decode", self.has_decoder),
                                ("samples", self.has_sampler)) if h]
        return f"{self.name} ({', '.join(parts)})"

    def _call(self, method: str, a) -> np.ndarray:
        try:
            with torch.no_grad():
                out = getattr(self.module, method)(
                    a if isinstance(a, int) else torch.as_tensor(a, dtype=torch.float32, device=self.device))
        except Exception as e:  # noqa: BLE001 (the file's code failed on our input: say where)
            raise UserInputError(f"{self.name}: {method}() failed ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
        if not isinstance(out, torch.Tensor):
            raise UserInputError(f"{self.name}: {method}() returned {type(out).__name__}, not a tensor")
        out = out.detach().cpu().double().numpy()
        return out.reshape(-1, 1) if out.ndim == 1 else out.reshape(len(out), -1)

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Codes of points ``X`` (n, m) -> (n, d), d ≤ 64 (a vector output is one column)."""
        if not self.has_encoder:
            raise UserInputError(f"{self.name} exports no encode(x)")
        Z = check_array(self._call("encode", np.asarray(X, dtype=np.float32)), f"{self.name}: encode() output",
                        dtype=np.float64)
        if len(Z) != len(X):
            raise UserInputError(f"{self.name}: encode() returned {len(Z)} codes for {len(X)} points")
        if Z.shape[1] > MAX_CODE_DIM:
            raise UserInputError(f"{self.name}: encode() returned codes of width {Z.shape[1]}; at most "
                                 f"{MAX_CODE_DIM}")
        return Z

    def decode(self, Z: np.ndarray, width: int) -> np.ndarray:
        """Points decoded from codes ``Z`` (n, d) -> (n, width)."""
        if not self.has_decoder:
            raise UserInputError(f"{self.name} exports no decode(z)")
        return self._points(self._call("decode", np.asarray(Z, dtype=np.float32)), "decode", len(Z), width)

    def sample(self, n: int, seed: int, width: int) -> np.ndarray:
        """``n`` samples (n, width) from the file's sampler, seeded: ``sample(n)`` runs inside
        :func:`vdae_core.models.base.seeded_init` (its own RNG state, the caller's and other threads' left as they
        were); ``generate(z)`` gets noise drawn from a generator of ``seed``."""
        from vdae_core.models.base import seeded_init

        if not self.has_sampler:
            raise UserInputError(f"{self.name} exports no sampler: sample(n), or generate(z) with a latent_dim "
                                 f"attribute")
        if hasattr(self.module, "sample"):
            with seeded_init(seed):
                return self._points(self._call("sample", int(n)), "sample", n, width)
        z = torch.randn(int(n), int(self.latent_dim), generator=torch.Generator().manual_seed(int(seed))).numpy()
        return self._points(self._call("generate", z), "generate", n, width)

    def _points(self, P: np.ndarray, method: str, n: int, width: int) -> np.ndarray:
        P = check_array(P, f"{self.name}: {method}() output", dtype=np.float64)
        if len(P) != n:
            raise UserInputError(f"{self.name}: {method}() returned {len(P)} rows for {n}")
        if P.shape[1] != width:
            raise UserInputError(f"{self.name}: {method}() returned points of width {P.shape[1]}; the data has "
                                 f"{width} columns")
        return P

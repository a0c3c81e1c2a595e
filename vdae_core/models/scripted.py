"""Bring your own model (issue 32, part 2): a TorchScript or ``torch.export`` file, read without unpickling.

The studio audits a model it did not train through the methods the file exports:

* ``encode(x)`` (n, m) -> (n, d): the codes of data points (tears, folds, bi-Lipschitz, RTD, persistence);
* ``decode(z)`` (n, d) -> (n, m): the bi-Lipschitz constant of the decoder over latent neighbours;
* samples, from the first of: ``sample(n: int)`` (the model's own sampler, seeded through
  :func:`torch.manual_seed`), ``generate(z)`` with an integer attribute ``latent_dim`` (noise z ~ N(0, I)), or
  ``decode(z)`` with ``latent_dim`` (the standard normal prior of a VAE).

Files are recognised by their contents: a TorchScript archive (``torch.jit.save``: a zip with ``code/`` and
``data.pkl``, read by TorchScript's own loader, which builds tensors and TorchScript types only) or an
ExportedProgram (``torch.export.save``: a PT2 zip archive, its program as JSON; one program, its
``forward`` taken as a generator from noise, whose width its input signature gives). A file
written by ``torch.save`` of a Python object is a pickle and is refused with a message saying how to export
it: unpickling runs whatever code the file names.
"""
from __future__ import annotations

import os
import zipfile
from typing import Optional

import numpy as np
import torch

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.validation import check_array

#: The widest codes accepted (as for uploaded codes).
MAX_CODE_DIM = 64
#: File names taken for model files (the contents decide what they are).
MODEL_SUFFIXES = (".pt", ".pth", ".pt2")


def file_kind(path: str) -> str:
    """'torchscript', 'export', or a :class:`UserInputError` that says what the file is instead."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise UserInputError(f"model file not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head[:1] == b"\x80":
            raise UserInputError(f"{name} is a Python pickle (torch.save of a module?): the studio never unpickles a "
                                 f"file, since that runs the code it names. Export the model instead: "
                                 f"torch.jit.script(model).save('{name}') or torch.export.save(...)")
        raise UserInputError(f"{name} is not a TorchScript or torch.export file (it is not a zip archive; first "
                             f"bytes {head!r})")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if any(n.endswith(("serialized_exported_program.json", "/archive_format", "/models/model.json")) for n in names):
        return "export"  # the ExportedProgram archive (torch.export.save; its PT2 layout in torch ≥ 2.6)
    if any("/code/" in n or n.startswith("code/") for n in names) and any(n.endswith("data.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("data.pkl") for n in names):
        raise UserInputError(f"{name} is a zip written by torch.save (a pickled Python object, not TorchScript): the "
                             f"studio never unpickles a file. Export it: torch.jit.script(model).save('{name}')")
    raise UserInputError(f"{name} is a zip archive but neither TorchScript nor torch.export (entries: "
                         f"{', '.join(names[:5])}…)")


class ScriptedModel:
    """A model file's exported methods, called on NumPy arrays (float32 in, float64 out).

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
        kind = file_kind(path)
        self._export_forward = None
        try:
            if kind == "torchscript":
                self.module = torch.jit.load(path, map_location=self.device)
            else:
                self.module = None
                self._export_forward = torch.export.load(path).module()
        except Exception as e:  # noqa: BLE001 (any failure of the loaders is a bad file)
            raise UserInputError(f"{self.name}: could not load the {kind} file ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
        has = (lambda m: self.module is not None and hasattr(self.module, m))  # noqa: E731
        dim = getattr(self.module, "latent_dim", None) if self.module is not None else None
        self.latent_dim: Optional[int] = int(dim) if isinstance(dim, (int, np.integer)) and dim > 0 else None
        self.has_encoder = has("encode")
        self.has_decoder = has("decode")
        self.has_sampler = has("sample") or ((has("generate") or self.has_decoder) and self.latent_dim is not None) \
            or self._export_forward is not None
        if not (self.has_encoder or self.has_decoder or self.has_sampler):
            raise UserInputError(f"{self.name} exports none of encode(x), decode(z), sample(n) or generate(z) with "
                                 f"a latent_dim attribute: nothing to audit")

    def description(self) -> str:
        parts = [w for w, h in (("encode", self.has_encoder), ("decode", self.has_decoder),
                                ("samples", self.has_sampler)) if h]
        return f"{self.name} ({', '.join(parts)})"

    def _call(self, method: str, a) -> np.ndarray:
        fn = self._export_forward if self._export_forward is not None else getattr(self.module, method)
        try:
            with torch.no_grad():
                out = fn(a if isinstance(a, int) else torch.as_tensor(a, dtype=torch.float32, device=self.device))
        except Exception as e:  # noqa: BLE001 (the file's code failed on our input: say where)
            raise UserInputError(f"{self.name}: {method}() failed ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
        if not isinstance(out, torch.Tensor):
            raise UserInputError(f"{self.name}: {method}() returned {type(out).__name__}, not a tensor")
        return out.detach().cpu().double().numpy()

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Codes of points ``X`` (n, m) -> (n, d), d ≤ 64."""
        if not self.has_encoder:
            raise UserInputError(f"{self.name} exports no encode(x)")
        Z = self._call("encode", np.asarray(X, dtype=np.float32))
        Z = check_array(Z.reshape(len(Z), -1) if Z.ndim > 1 else Z, f"{self.name}: encode() output",
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
        """``n`` samples (n, width) from the file's sampler, seeded."""
        if not self.has_sampler:
            raise UserInputError(f"{self.name} exports no sampler: sample(n), or generate(z)/decode(z) with a "
                                 f"latent_dim attribute")
        torch.manual_seed(int(seed))
        if self.module is not None and hasattr(self.module, "sample"):
            return self._points(self._call("sample", int(n)), "sample", n, width)
        dim = self.latent_dim if self._export_forward is None else self._export_noise_width()
        z = torch.randn(int(n), dim, generator=torch.Generator().manual_seed(int(seed))).numpy()
        method = "generate" if (self._export_forward is not None or hasattr(self.module, "generate")) else "decode"
        return self._points(self._call(method, z), method, n, width)

    def _export_noise_width(self) -> int:
        """The noise width of an exported generator: the last size of its input in the program's signature."""
        try:
            node = next(n for n in self._export_forward.graph.nodes if n.op == "placeholder")
            return int(node.meta["val"].shape[-1])
        except Exception:  # noqa: BLE001 (an unusual program: say what is expected)
            raise UserInputError(f"{self.name}: cannot read the noise width of the exported program's input; "
                                 f"export a generator forward(z) with z of shape (n, latent_dim)") from None

    def _points(self, P: np.ndarray, method: str, n: int, width: int) -> np.ndarray:
        P = check_array(P.reshape(len(P), -1) if P.ndim > 1 else P, f"{self.name}: {method}() output",
                        dtype=np.float64)
        if len(P) != n:
            raise UserInputError(f"{self.name}: {method}() returned {len(P)} rows for {n}")
        if P.shape[1] != width:
            raise UserInputError(f"{self.name}: {method}() returned points of width {P.shape[1]}; the data has "
                                 f"{width} columns")
        return P

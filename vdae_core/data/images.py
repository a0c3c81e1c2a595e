"""Image sets: the shipped ones (Frey faces, COIL-20, MNIST, sklearn digits) and user folders/zips."""
from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from typing import List, Optional, Tuple

import numpy as np

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import DATASETS
from vdae_core.data.base import Dataset
from vdae_core.data.meshes import ASSETS

IMG_DIR = os.path.join(ASSETS, "images")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm")
MAX_SIDE = 64


def image_dataset(images: np.ndarray, name: str, params: np.ndarray, param_names, periodic,
                  suggested_dim: int, labels: Optional[np.ndarray], source: str) -> Dataset:
    """Wrap images (n, h, w) or (n, h, w, 3) uint8 as a dataset whose X is pixels scaled to [0, 1],
    flattened channel-first: shape (n, h*w) or (n, 3*h*w)."""
    chw = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    X = chw.reshape(len(images), -1).astype(np.float32) / 255.0
    return Dataset(name, X, params, tuple(param_names), tuple(periodic), intrinsic_dim=suggested_dim,
                   suggested_dim=suggested_dim, images=images, labels=labels, source=source)


def _subsample(n_total: int, n: int, seed: int) -> np.ndarray:
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


@DATASETS.register("frey_faces", finite=True, help="Frey faces: 1,965 face images 28×20 (pose and expression).")
def frey_faces(n: int = 1965, seed: int = 0, noise: float = 0.0) -> Dataset:
    d = np.load(os.path.join(IMG_DIR, "frey_faces.npz"))
    imgs = d["images"]
    idx = _subsample(len(imgs), n, seed)
    return image_dataset(imgs[idx], "frey_faces", idx[:, None].astype(float), ("frame",), (False,), 4, None,
                         "assets/images/frey_faces.npz (Brendan Frey)")


@DATASETS.register("coil20", finite=True, help="COIL-20: 20 objects × 72 turntable poses, 32×32; colour = object, pose angle.")
def coil20(n: int = 1440, seed: int = 0, noise: float = 0.0) -> Dataset:
    d = np.load(os.path.join(IMG_DIR, "coil20_32.npz"))
    idx = _subsample(len(d["images"]), n, seed)
    lab = d["labels"][idx]
    pose = d["pose"][idx] * (2 * np.pi / 72)
    return image_dataset(d["images"][idx], "coil20", np.stack([lab, pose], 1), ("object", "pose"),
                         (False, True), 24, lab.astype(np.int64), "assets/images/coil20_32.npz (Columbia COIL-20)")


@DATASETS.register("mnist", finite=True, help="MNIST test set digits 28×28 (up to 10,000); colour = digit label.")
def mnist(n: int = 2000, seed: int = 0, noise: float = 0.0) -> Dataset:
    d = np.load(os.path.join(IMG_DIR, "mnist_test_10k.npz"))
    idx = _subsample(len(d["images"]), n, seed)
    lab = d["labels"][idx].astype(np.int64)
    return image_dataset(d["images"][idx], "mnist", lab[:, None].astype(float), ("digit",), (False,), 12, lab,
                         "assets/images/mnist_test_10k.npz (MNIST test set)")


@DATASETS.register("digits", finite=True, help="scikit-learn's 1,797 handwritten digits 8×8; colour = digit label.")
def digits(n: int = 1797, seed: int = 0, noise: float = 0.0) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = (d.images * (255.0 / 16.0)).round().astype(np.uint8)
    idx = _subsample(len(imgs), n, seed)
    lab = d.target[idx].astype(np.int64)
    return image_dataset(imgs[idx], "digits", lab[:, None].astype(float), ("digit",), (False,), 12, lab,
                         "sklearn.datasets.load_digits")


#: Largest image accepted, in pixels (a 40-megapixel photo); larger ones are refused before decoding.
MAX_PIXELS = 40_000_000
#: Largest single file read from a folder or a zip entry (decompressed), and the total for one collection.
MAX_FILE_BYTES = 64 * 1024**2
MAX_TOTAL_BYTES = 512 * 1024**2


def _decode_image(data: bytes, name: str, scaled: Optional[List[str]] = None) -> np.ndarray:
    """One image as 8-bit RGB (h, w, 3) uint8 (grayscale images with three equal channels). 16-bit and
    32-bit integer images are scaled from their range (0..65535 → 0..255), not clipped; float images from
    their [min, max]."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
        w, h = im.size  # read from the header: nothing decoded yet
        if w * h > MAX_PIXELS:
            raise UserInputError(f"{name}: {w}x{h} pixels is above the limit of {MAX_PIXELS / 1e6:.0f} megapixels")
        im.load()
    except UserInputError:
        raise
    except Image.DecompressionBombError:
        raise UserInputError(f"{name}: refused as a decompression bomb (too many pixels)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UserInputError(f"{name}: not a readable image ({e.__class__.__name__})") from None
    if im.mode.startswith("I;16") or im.mode == "I":
        if scaled is not None:
            scaled.append(name)
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if a.max(initial=0) <= 65535 and a.min(initial=0) >= 0 else None
        lo, hi = (0.0, top) if top else (a.min(), a.max())
        return _grey_rgb(np.round(255.0 * (a - lo) / max(hi - lo, 1e-12)).astype(np.uint8))
    if im.mode == "F":
        if scaled is not None:
            scaled.append(name)
        a = np.asarray(im).astype(np.float64)
        if not np.isfinite(a).all():
            raise UserInputError(f"{name}: the image holds NaN or inf values")
        return _grey_rgb(np.round(255.0 * (a - a.min()) / max(a.max() - a.min(), 1e-12)).astype(np.uint8))
    if im.mode in ("1", "L", "LA", "P") and (im.mode != "P" or _palette_is_grey(im)):
        return _grey_rgb(np.asarray(im.convert("L")))
    return np.asarray(im.convert("RGB"))


def _grey_rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a[:, :, None], 3, axis=2)


def _is_grey(a: np.ndarray) -> bool:
    """Whether every pixel of an RGB image (h, w, 3) has three equal channels."""
    return bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())


def _palette_is_grey(im) -> bool:
    return _is_grey(np.asarray(im.convert("RGB")))


def is_colour(arrays: List[np.ndarray]) -> bool:
    """Whether any of the RGB images (h, w, 3) has a pixel whose channels differ."""
    return not all(_is_grey(a) for a in arrays)


def to_channels(a: np.ndarray, c: int) -> np.ndarray:
    """An RGB image (h, w, 3) uint8 as ``c`` channels: itself for 3, its luma (ITU-R 601, as PIL's 'L')
    (h, w) for 1."""
    if c == 3:
        return a
    if _is_grey(a):
        return a[..., 0]
    from PIL import Image

    return np.asarray(Image.fromarray(a).convert("L"))


def _read_bounded(fh, name: str, total: int) -> bytes:
    """Read at most :data:`MAX_FILE_BYTES` (and the collection's remaining budget) from ``fh``."""
    limit = min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - total)
    data = fh.read(limit + 1)
    if len(data) > limit:
        which = "file" if limit == MAX_FILE_BYTES else "collection"
        cap = MAX_FILE_BYTES if which == "file" else MAX_TOTAL_BYTES
        raise UserInputError(f"{name}: the {which} is larger than {cap // 1024**2} MB (decompressed); refused")
    return data


def read_image_files(path: str) -> Tuple[List[str], List[np.ndarray], List[str], List[str]]:
    """Decode every image of a folder or a ``.zip``, in file-name order.

    Returns
    -------
    names : list of str
    arrays : list of (h, w, 3) uint8 RGB images (grayscale ones with three equal channels)
    skipped : folders named like images (not read)
    scaled : images of 16/32-bit or float pixels, scaled to 0-255 from their range

    Raises
    ------
    UserInputError
        Not a folder or zip, fewer than 2 images, a corrupt image (named), a file or collection too large.
    """
    entries: List[Tuple[str, bytes]] = []
    skipped: List[str] = []
    total = 0
    if os.path.isdir(path):
        for f in sorted(os.listdir(path)):
            if f.lower().endswith(IMAGE_EXTS):
                full = os.path.join(path, f)
                if not os.path.isfile(full):  # a folder (or a broken link) named like an image
                    skipped.append(f)
                    continue
                with open(full, "rb") as fh:
                    entries.append((f, _read_bounded(fh, f, total)))
                total += len(entries[-1][1])
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                for info in sorted(z.infolist(), key=lambda i: i.filename):
                    base = os.path.basename(info.filename.rstrip("/"))
                    if not base.lower().endswith(IMAGE_EXTS) or base.startswith("."):
                        continue
                    if info.is_dir():
                        skipped.append(info.filename)
                        continue
                    with z.open(info) as fh:  # bounded: the header's size may lie (a zip bomb)
                        entries.append((info.filename, _read_bounded(fh, info.filename, total)))
                    total += len(entries[-1][1])
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as e:
            raise UserInputError(f"{os.path.basename(path)}: a broken or encrypted zip ({e})") from None
    else:
        raise UserInputError(f"{os.path.basename(path)}: not a folder or a zip of images")
    if len(entries) < 2:
        raise UserInputError(f"{os.path.basename(path)}: found {len(entries)} image(s); need at least 2 "
                             f"({', '.join(IMAGE_EXTS)})")
    scaled: List[str] = []
    arrays = [_decode_image(b, name, scaled) for name, b in entries]
    return [name for name, _ in entries], arrays, skipped, scaled


def _resize(a: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize a (h, w) or (h, w, 3) uint8 image to ``size`` = (w, h) (bilinear); unchanged when it already has
    that size."""
    from PIL import Image

    return a if a.shape[1::-1] == tuple(size) else np.asarray(Image.fromarray(a).resize(size, Image.BILINEAR))


def images_as_points(path: str, image_shape: Tuple[int, ...]) -> Tuple[np.ndarray, List[str]]:
    """Every image of a folder or ``.zip``, in file-name order, as pixels (n, C·H·W) in [0, 1], flattened
    channel-first, for a model trained on images of ``image_shape`` (C, H, W): resized to H × W, as
    grayscale (C = 1; colour images by their luma) or RGB (C = 3; grayscale images repeated); and the
    file names."""
    c, h, w = (int(v) for v in image_shape)
    if c not in (1, 3):
        raise UserInputError(f"the run was trained on {c}-channel images; folders and zips give 1 (grayscale) or 3 "
                             f"(RGB) channels")
    names, arrays, _, _ = read_image_files(path)
    imgs = np.stack([_resize(to_channels(a, c), (w, h)) for a in arrays])
    chw = imgs[:, None] if c == 1 else imgs.transpose(0, 3, 1, 2)
    return chw.reshape(len(imgs), -1).astype(np.float32) / 255.0, names


@dataclasses.dataclass(frozen=True)
class FileOrder:
    """What the file-name order of an image folder stands for (``DataConfig.order``)."""

    name: str  # the ground-truth coordinate's name
    periodic: bool  # an angle: file i of N is at 2π·i/N; otherwise file i is at i
    suggested_dim: int
    note: str

    def coordinate(self, i: np.ndarray, total: int) -> np.ndarray:
        return 2 * np.pi * i / total if self.periodic else i.astype(float)


FILE_ORDERS = {
    "line": FileOrder("frame", False, 8, ""),
    "circle": FileOrder("angle (file order)", True, 2, "; file order read as an angle (a loop)"),
}


def load_image_collection(path: str, n: int, seed: int, order: str = "line") -> Dataset:
    """Read a folder or a ``.zip`` of images into a dataset (RGB when any image has colour, else grayscale;
    resized to the first image's size capped at 64 px a side).

    ``params`` is each image's position in file-name order: with ``order='line'`` the frame number
    (``frame``, 0 .. N−1), with ``order='circle'`` the angle 2π·i/N (``angle (file order)``, periodic), for
    frames of a turntable or any loop whose last frame is next to its first.

    Raises
    ------
    UserInputError
        No images, a corrupt image (named), or mixed sizes that cannot be resized.
    """
    names, arrays, skipped, wide = read_image_files(path)
    h, w = arrays[0].shape[:2]
    s = min(1.0, MAX_SIDE / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    c = 3 if is_colour(arrays) else 1
    imgs = np.stack([_resize(to_channels(a, c), size) for a in arrays]).astype(np.uint8)
    idx = _subsample(len(imgs), n, seed)
    note = f"; skipped {len(skipped)} folder(s) named like images: {', '.join(skipped[:3])}" if skipped else ""
    if wide:
        note += f"; {len(wide)} image(s) of 16/32-bit or float pixels scaled to 0-255 from their range"
    how = FILE_ORDERS[order]
    return image_dataset(imgs[idx], os.path.basename(path.rstrip("/")), how.coordinate(idx, len(imgs))[:, None],
                         (how.name,), (how.periodic,), how.suggested_dim, None,
                         f"{path} ({len(names)} {'RGB' if c == 3 else 'grayscale'} images, resized to "
                         f"{size[1]}x{size[0]}{note}{how.note})")

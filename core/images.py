"""Decode any histology image to 8-bit RGB, and check files cheaply without decoding them.

`load_rgb` is what training, prediction and the viewer use: whatever Pillow can open
(PNG, JPEG, TIFF, BMP) comes back as an (H, W, 3) uint8 array. Grey, palette, CMYK and
16-bit images are converted; transparent pixels are composited on white (a slide's
background), never on black.

`probe_image` is what the scan uses on thousands of files: it reads the header and runs a
cheap integrity check (PNG chunk checksums, the JPEG end marker, TIFF strip extents)
instead of decoding pixels. Only a file that fails the cheap check is decoded in full, to
tell a truncated file from an oddly written one.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

# Formats Pillow may report for the suffixes above; anything else (a GIF renamed .png,
# a PDF...) is not a histology image this app trains on.
_FORMATS = {"PNG", "JPEG", "MPO", "TIFF", "BMP", "DIB"}
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}
_TIFF_STRIP_OFFSETS, _TIFF_STRIP_COUNTS = 273, 279
_TIFF_TILE_OFFSETS, _TIFF_TILE_COUNTS = 324, 325
# A whole-slide scan saved as TIFF can be gigabytes: it is not a training image (tiles
# are), and reading it whole would exhaust memory, so the check refuses it unread.
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ImageInfo:
    ok: bool
    reason: str | None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    format: str | None = None


def _fail(reason: str, img: Image.Image | None = None) -> ImageInfo:
    if img is None:
        return ImageInfo(False, reason)
    return ImageInfo(False, reason, img.width, img.height, img.mode, img.format)


def probe_image(path: str | os.PathLike) -> ImageInfo:
    """Cheap check that a file is a usable image; never raises for a bad file."""
    data, problem = read_limited(path)
    return probe_bytes(data) if problem is None else _fail(problem)


def read_limited(path: str | os.PathLike) -> tuple[bytes, str | None]:
    """The file's bytes, or b"" and why it cannot be used (unreadable, too large)."""
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            return b"", (f"file too large ({size // 2**20} MB; at most {MAX_FILE_BYTES // 2**20} MB): "
                         "export tiles from whole-slide images")
        return Path(path).read_bytes(), None
    except OSError as exc:
        return b"", f"cannot read the file ({exc.strerror or type(exc).__name__})"


def probe_bytes(data: bytes) -> ImageInfo:
    """`probe_image` on bytes already read (the scan reads each file once, to hash it too)."""
    if not data:
        return _fail("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return _fail("not an image Pillow can read (unknown or damaged format)")
    except Image.DecompressionBombError as exc:
        return _fail(f"image too large to open safely ({exc})")
    except Exception as exc:  # Pillow raises many types on damaged headers
        return _fail(f"damaged image header ({_short(exc)})")
    if img.format not in _FORMATS:
        return _fail(f"unsupported image format {img.format}; use PNG, JPEG, TIFF or BMP", img)
    if img.width < 1 or img.height < 1:
        return _fail("image has no pixels", img)
    problem = _cheap_integrity_problem(img, data)
    if problem is not None and not _decodes(data):
        return _fail(problem, img)
    return ImageInfo(True, None, img.width, img.height, img.mode, img.format)


def _cheap_integrity_problem(img: Image.Image, data: bytes) -> str | None:
    """A reason the file looks damaged, found without decoding pixels (None if it looks whole)."""
    if img.format == "PNG":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Image.open(io.BytesIO(data)).verify()  # checks every chunk's CRC
        except Exception as exc:
            return f"truncated or corrupt PNG ({_short(exc)})"
        return None
    if img.format in ("JPEG", "MPO"):
        if data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
            return "truncated JPEG (no end-of-image marker)"
        return None
    if img.format == "TIFF":
        return _tiff_extent_problem(img, len(data))
    return _bmp_extent_problem(img, data) if img.format in ("BMP", "DIB") else None


def _tiff_extent_problem(img: Image.Image, size: int) -> str | None:
    tags = img.tag_v2
    for offsets_tag, counts_tag in ((_TIFF_STRIP_OFFSETS, _TIFF_STRIP_COUNTS),
                                    (_TIFF_TILE_OFFSETS, _TIFF_TILE_COUNTS)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if any(o + c > size for o, c in zip(offsets, counts)):
            return "truncated TIFF (image data runs past the end of the file)"
        return None
    return "TIFF without image data offsets"


def _bmp_extent_problem(img: Image.Image, data: bytes) -> str | None:
    declared = int.from_bytes(data[2:6], "little") if len(data) >= 6 else 0
    if declared and declared > len(data):
        return "truncated BMP (file shorter than its header says)"
    return None


def _decodes(data: bytes) -> bool:
    try:
        _decode(data)
    except Exception:
        return False
    return True


def _decode(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = Image.open(io.BytesIO(data))
        img.load()
    return img


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array; ImageError says why it cannot."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if not data:
        raise ImageError(f"Cannot open {path}: the file is empty (0 bytes)")
    try:
        img = _decode(data)
    except UnidentifiedImageError as exc:
        raise ImageError(f"Cannot open {path}: not an image Pillow can read") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"Cannot open {path}: image too large to open safely") from exc
    except Exception as exc:
        raise ImageError(f"Cannot open {path}: damaged or truncated image ({_short(exc)})") from exc
    try:
        return to_rgb_array(img)
    except Exception as exc:
        raise ImageError(f"Cannot convert {path} (mode {img.mode}) to RGB: {_short(exc)}") from exc


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image of any mode to an (H, W, 3) uint8 array."""
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:
        pass  # a broken EXIF block should not cost the image
    mode = img.mode
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return _high_depth_to_rgb(img)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def _high_depth_to_rgb(img: Image.Image) -> np.ndarray:
    """16-bit and 32-bit grey: scale the full 16-bit range to 0..255 (not per-image contrast)."""
    arr = np.asarray(img)
    if img.mode == "F" and float(np.nanmax(arr, initial=0.0)) <= 1.0:
        scaled = arr * 255.0  # float images stored as 0..1
    elif img.mode in _SIXTEEN_BIT or float(arr.max(initial=0)) > 255:
        scaled = arr.astype(np.float64) / 257.0
    else:
        scaled = arr.astype(np.float64)  # an "I" image that only holds 8-bit values
    grey = np.clip(np.nan_to_num(scaled), 0, 255).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


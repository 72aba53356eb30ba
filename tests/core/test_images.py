"""Decoding every image kind to 8-bit RGB, and the cheap check that finds bad files."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageError
from core.images import IMAGE_SUFFIXES, load_rgb, probe_image


def save(img: Image.Image, path, **kwargs):
    img.save(path, **kwargs)
    return path


def rgb_array(h=6, w=9):
    return np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_lossless_rgb_round_trip(tmp_path, suffix):
    arr = rgb_array()
    path = save(Image.fromarray(arr), tmp_path / f"a{suffix}")
    out = load_rgb(path)
    assert out.dtype == np.uint8 and out.shape == (6, 9, 3)
    np.testing.assert_array_equal(out, arr)
    info = probe_image(path)
    assert info.ok and info.reason is None and (info.width, info.height) == (9, 6)


def test_jpeg_decodes(tmp_path):
    path = save(Image.fromarray(rgb_array(16, 16)), tmp_path / "a.jpg", quality=95)
    assert load_rgb(path).shape == (16, 16, 3)
    assert probe_image(path).ok


def test_grey_becomes_three_equal_channels(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    out = load_rgb(save(Image.fromarray(grey, "L"), tmp_path / "g.png"))
    assert out.shape == (4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


def test_sixteen_bit_is_scaled_over_the_full_range(tmp_path):
    raw = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    path = save(Image.fromarray(raw), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    assert probe_image(path).ok
    out = load_rgb(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 0, 0, 255)  # opaque red stays red
    rgba[0, 1] = (0, 0, 0, 0)  # transparent black becomes white background
    out = load_rgb(save(Image.fromarray(rgba, "RGBA"), tmp_path / "t.png"))
    assert tuple(out[0, 0]) == (200, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)


def test_grey_with_alpha(tmp_path):
    la = Image.new("LA", (3, 3), (10, 0))
    assert tuple(load_rgb(save(la, tmp_path / "la.png"))[1, 1]) == (255, 255, 255)


def test_palette_with_and_without_transparency(tmp_path):
    pal = Image.fromarray(rgb_array(8, 8)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    out = load_rgb(save(pal, tmp_path / "p.png"))
    np.testing.assert_array_equal(out, np.asarray(pal.convert("RGB")))
    pal.info["transparency"] = 0
    path = save(pal, tmp_path / "pt.png", transparency=0)
    out = load_rgb(path)
    index = np.asarray(pal) == 0
    assert index.any() and (out[index] == 255).all()


def test_cmyk_jpeg(tmp_path):
    path = save(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), tmp_path / "c.jpg")
    out = load_rgb(path)
    assert out.shape == (4, 4, 3) and out[0, 0, 0] > 200 and out[0, 0, 1] < 60


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def png_bytes(size=32):
    buf = io.BytesIO()
    Image.fromarray(rgb_array(size, size)).save(buf, "PNG")
    return buf.getvalue()


def bad_files(tmp_path):
    png = png_bytes()
    jpg = io.BytesIO()
    Image.fromarray(rgb_array(64, 64)).save(jpg, "JPEG")
    tif = io.BytesIO()
    Image.fromarray(rgb_array(64, 64)).save(tif, "TIFF")
    corrupt = bytearray(png)
    corrupt[60:80] = b"\x00" * 20  # inside the image data: its checksum no longer matches
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, "GIF")
    return {
        "empty": (write_bytes(tmp_path / "zero.png", b""), "empty"),
        "truncated png": (write_bytes(tmp_path / "cut.png", png[: len(png) // 2]), "truncated"),
        "truncated jpeg": (write_bytes(tmp_path / "cut.jpg", jpg.getvalue()[:-200]), "truncated"),
        "truncated tiff": (write_bytes(tmp_path / "cut.tif", tif.getvalue()[:-500]), "truncated"),
        "corrupt png": (write_bytes(tmp_path / "bad.png", bytes(corrupt)), "corrupt"),
        "text named png": (write_bytes(tmp_path / "notes.png", b"hello, not pixels\n" * 10), "not an image"),
        "gif named png": (write_bytes(tmp_path / "anim.png", gif.getvalue()), "unsupported"),
        "missing": (tmp_path / "gone.png", "cannot read"),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated png", "truncated jpeg", "truncated tiff",
                                  "corrupt png", "text named png", "gif named png", "missing"])
def test_bad_files_are_found_and_never_raise(tmp_path, kind):
    path, words = bad_files(tmp_path)[kind]
    info = probe_image(path)
    assert not info.ok
    assert words in info.reason.lower()
    if kind == "gif named png":
        assert load_rgb(path).shape == (4, 4, 3)  # decodable, only not a format the scan trains on
        return
    with pytest.raises(ImageError) as err:
        load_rgb(path)
    assert str(path) in str(err.value)


def test_suffixes_cover_the_formats_the_issue_names():
    assert set(IMAGE_SUFFIXES) >= {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def test_real_kather_tiff_and_breakhis_png(kather_sample, breakhis_sample):
    tif = next(kather_sample.rglob("*.tif"))
    png = next(breakhis_sample.rglob("*.png"))
    assert load_rgb(tif).shape == (150, 150, 3)
    assert load_rgb(png).shape == (460, 700, 3)
    assert probe_image(tif).ok and probe_image(png).ok


def test_oversized_file_is_refused_unread(tmp_path, monkeypatch):
    path = save(Image.fromarray(rgb_array()), tmp_path / "slide.tif")
    monkeypatch.setattr("core.images.MAX_FILE_BYTES", 100)
    info = probe_image(path)
    assert not info.ok and "too large" in info.reason

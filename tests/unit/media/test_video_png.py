"""The PNG writer round-trips through two decoders (ffmpeg exactly, alpha included)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import skia

from media.video import ffmpeg_exe
from media.video.png import encode_png


def random_frame(h: int = 37, w: int = 53) -> np.ndarray:  # type: ignore[type-arg]
    return np.random.default_rng(7).integers(0, 256, (h, w, 4), dtype=np.uint8)


def test_skia_decodes_opaque_frames_exactly() -> None:
    frame = random_frame()
    frame[..., 3] = 255  # skia premultiplies while decoding: exact for opaque pixels only
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(encode_png(frame)))
    pixels = image.convert(colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType)
    assert np.array_equal(np.asarray(pixels.toarray()), frame)


def test_ffmpeg_decodes_it_exactly() -> None:
    frame = random_frame()
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "png_pipe",
            "-i",
            "-",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
            "-",
        ],
        input=encode_png(frame),
        capture_output=True,
        check=True,
    ).stdout
    assert np.array_equal(np.frombuffer(raw, np.uint8).reshape(frame.shape), frame)


def test_refuses_other_shapes() -> None:
    with pytest.raises(ValueError, match="RGBA"):
        encode_png(np.zeros((4, 4, 3), np.uint8))

"""A small PNG writer: unfiltered rows, zlib level 3.

For flat-coloured cartoon frames this is faster than skia's PNG encoder, which makes it the
encoder of latency-bound single-frame renders (bench/render_media.py: a 512 x 512 frame drawn
and encoded in-process went from 17 ms p50 with skia's encoder to 4.5-6.5 ms with this one).
Output is standard 8-bit RGBA (colour type 6).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png(frame: npt.NDArray[np.uint8], level: int = 3) -> bytes:
    """PNG bytes of a (height, width, 4) unpremultiplied RGBA frame."""
    if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
        raise ValueError(f"expected (height, width, 4) uint8 RGBA, got {frame.shape} {frame.dtype}")
    height, width = int(frame.shape[0]), int(frame.shape[1])
    rows = np.zeros((height, width * 4 + 1), np.uint8)  # each row: filter byte 0, then pixels
    rows[:, 1:] = frame.reshape(height, width * 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + _chunk(b"IEND", b"")
    )

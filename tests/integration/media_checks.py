"""Decode what the service returned (bytes of a response) with the product's ffmpeg binary."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests import ffmpeg_decode

T = TypeVar("T")


def _on_file(data: bytes, suffix: str, read: Callable[[Path], T]) -> T:
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        return read(Path(f.name))


def probe(data: bytes, suffix: str = "") -> str:
    """``ffmpeg -i`` stderr: the container's streams, sizes and codecs."""
    return _on_file(data, suffix, ffmpeg_decode.probe)


def size(data: bytes, suffix: str = "") -> tuple[int, int]:
    """Width and height of the first video stream (images are one-frame videos to ffmpeg)."""
    info = probe(data, suffix)
    m = re.search(r"Video: .*?, (\d{2,5})x(\d{2,5})", info)
    assert m, info
    return int(m.group(1)), int(m.group(2))


def framemd5(data: bytes, suffix: str = "") -> list[str]:
    """One md5 per decoded frame."""
    return _on_file(data, suffix, ffmpeg_decode.framemd5)


def audio_seconds(data: bytes, suffix: str = "") -> float:
    """Length of the decoded audio stream (0 when there is none)."""
    return _on_file(data, suffix, ffmpeg_decode.audio_seconds)

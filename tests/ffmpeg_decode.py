"""Decode media files with the product's own ffmpeg binary: what tests check outputs with.

Path-based; ``tests/integration/media_checks.py`` wraps these for bytes from HTTP responses.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media.video import ffmpeg_exe

AUDIO_RATE = 22050


def probe(path: Path) -> str:
    """``ffmpeg -i`` stderr: the container's streams, sizes and codecs (it exits 1 for want of
    an output file; the streams are listed anyway)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    return out.stderr


def decode_frames(path: Path, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Every video frame as RGB."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def framemd5(path: Path) -> list[str]:
    """One md5 per decoded frame."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ln.rsplit(",", 1)[1].strip() for ln in out.splitlines() if not ln.startswith("#")]


def audio_seconds(path: Path, rate: int = AUDIO_RATE) -> float:
    """Length of the decoded audio stream (0 when there is none)."""
    if "Audio:" not in probe(path):
        return 0.0
    decode = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a"]
    raw = subprocess.run(
        [*decode, "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return len(raw) / 2 / rate

"""Decode what the service returned with the same ffmpeg binary (frames, size, audio)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from media.video import ffmpeg_exe

AUDIO_RATE = 22050


def _file(data: bytes, suffix: str) -> Path:
    f = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115 - path reused
    f.write(data)
    f.close()
    return Path(f.name)


def probe(data: bytes, suffix: str = "") -> str:
    """``ffmpeg -i`` stderr: the container's streams, sizes and codecs."""
    path = _file(data, suffix)
    try:
        out = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stderr
    finally:
        path.unlink()


def size(data: bytes, suffix: str = "") -> tuple[int, int]:
    """Width and height of the first video stream (images are one-frame videos to ffmpeg)."""
    m = re.search(r"Video: .*?, (\d{2,5})x(\d{2,5})", probe(data, suffix))
    assert m, probe(data, suffix)
    return int(m.group(1)), int(m.group(2))


def framemd5(data: bytes, suffix: str = "") -> list[str]:
    """One md5 per decoded frame."""
    path = _file(data, suffix)
    try:
        out = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        path.unlink()
    return [ln.rsplit(",", 1)[1].strip() for ln in out.splitlines() if not ln.startswith("#")]


def audio_seconds(data: bytes, suffix: str = "") -> float:
    """Length of the decoded audio stream (0 when there is none)."""
    if "Audio:" not in probe(data, suffix):
        return 0.0
    path = _file(data, suffix)
    try:
        raw = subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-i",
                str(path),
                "-map",
                "0:a",
                "-f",
                "s16le",
                "-ac",
                "1",
                "-ar",
                str(AUDIO_RATE),
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
    finally:
        path.unlink()
    return len(raw) / 2 / AUDIO_RATE

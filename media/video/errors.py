"""Encoding errors: ffmpeg failures translated at the edge, with ffmpeg's own message."""

from __future__ import annotations


class EncodeError(Exception):
    """ffmpeg could not start, rejected its input or failed; ``stderr`` holds its message."""

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        detail = stderr.strip()
        super().__init__(f"{message}: {detail}" if detail else message)
        self.stderr = stderr
        self.returncode = returncode

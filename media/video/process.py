"""One ffmpeg process fed through stdin, its stderr always drained by a thread.

A full stderr pipe would block ffmpeg and then our writes to its stdin: draining it on a
thread rules that deadlock out, and keeps the tail of the message for :class:`EncodeError`.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections import deque
from functools import cache
from typing import IO, Any

import imageio_ffmpeg

from media.video.errors import EncodeError

_TAIL_LINES = 60


@cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by the ``imageio-ffmpeg`` wheel."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


class FfmpegProcess:
    """A compiled ffmpeg command line (binary first) run with piped stdin, stdout optional."""

    def __init__(self, args: list[str], *, capture_stdout: bool = False) -> None:
        self.args = args
        try:
            self._proc = subprocess.Popen(
                self.args,
                stdin=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            )
        except OSError as e:
            raise EncodeError(f"cannot start ffmpeg: {e}") from e
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._stderr_reader = threading.Thread(
            target=self._drain, args=(self._proc.stderr,), daemon=True
        )
        self._stderr_reader.start()
        self._stdout = bytearray()
        self._stdout_reader: threading.Thread | None = None
        if capture_stdout:
            self._stdout_reader = threading.Thread(target=self._collect, daemon=True)
            self._stdout_reader.start()

    def _drain(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._tail.append(line.decode("utf-8", "replace").rstrip())
        stream.close()

    def _collect(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        for chunk in iter(lambda: stdout.read(1 << 16), b""):
            self._stdout.extend(chunk)
        stdout.close()

    @property
    def stderr(self) -> str:
        return "\n".join(self._tail)

    def write(self, data: Any) -> None:
        """Send bytes (or a buffer) to ffmpeg; a closed pipe raises :class:`EncodeError`."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
        except (BrokenPipeError, ValueError, OSError) as e:
            self.kill()
            raise EncodeError(
                "ffmpeg stopped reading its input", self.stderr, self._proc.returncode
            ) from e

    def finish(self, timeout: float | None = None) -> bytes:
        """Close stdin, wait for ffmpeg, return its stdout; a failure raises EncodeError."""
        stdin = self._proc.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            stdin.close()
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            self.kill()
            raise EncodeError(f"ffmpeg did not finish within {timeout} s", self.stderr) from e
        self._stderr_reader.join()
        if self._stdout_reader is not None:
            self._stdout_reader.join()
        if code != 0:
            raise EncodeError(f"ffmpeg failed with exit code {code}", self.stderr, code)
        return bytes(self._stdout)

    def kill(self) -> None:
        """Stop ffmpeg (on our own errors) and reap it."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._proc.stdin.close()
        self._stderr_reader.join(timeout=5)
        if self._stdout_reader is not None:
            self._stdout_reader.join(timeout=5)

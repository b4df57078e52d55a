"""Streaming video encoder: raw frames piped to ffmpeg's stdin, speech audio muxed in sync.

The audio (already laid out from time 0 of the video) goes to ffmpeg as a temporary WAV file
beside the frames' pipe, so both streams start at 0 and stay in sync. Frames are written as
they come: a video never sits whole in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import ffmpeg
import numpy as np
import numpy.typing as npt

from media.video.audio import PcmAudio
from media.video.errors import EncodeError
from media.video.formats import SPECS, VIDEO_FORMATS, video_graph
from media.video.process import FfmpegProcess, ffmpeg_exe

Progress = Callable[[int, int | None], None]
"""Called as ``progress(frames_written, total_frames_or_None)``."""


class VideoEncoder:
    """Encode ``width`` x ``height`` frames at ``fps`` into ``path`` (use as a context manager).

    ``pixel_format`` is the byte order of the frames given to :meth:`write` (``rgba`` from
    :class:`~media.face.FaceRig`). Leaving the block with an exception kills ffmpeg.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        fmt: str = "mp4",
        *,
        audio: PcmAudio | None = None,
        pixel_format: str = "rgba",
        progress: Progress | None = None,
        total_frames: int | None = None,
        extra_output_args: dict[str, object] | None = None,
    ) -> None:
        if fmt not in VIDEO_FORMATS:
            raise EncodeError(f"unknown video format {fmt!r}; one of {', '.join(VIDEO_FORMATS)}")
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self.frames = 0
        self._frame_bytes = width * height * len(pixel_format)
        self._progress = progress
        self._total = total_frames
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        spec = SPECS[fmt]
        frames_in = ffmpeg.input(
            "pipe:", format="rawvideo", pix_fmt=pixel_format, s=f"{width}x{height}", framerate=fps
        )
        streams = [video_graph(frames_in.video, fmt)]
        options: dict[str, object] = {**spec.video, "format": spec.container}
        if audio is not None and spec.audio is not None:
            self._tmp = tempfile.TemporaryDirectory(prefix="avatar-audio-")
            wav = Path(self._tmp.name) / "speech.wav"
            audio.write_wav(wav)
            streams.append(ffmpeg.input(str(wav)).audio)
            options.update(spec.audio)
        options.update(extra_output_args or {})
        out = ffmpeg.output(*streams, str(self.path), **options)
        out = out.global_args("-hide_banner", "-nostats", "-loglevel", "error").overwrite_output()
        self._proc = FfmpegProcess(ffmpeg.compile(out, cmd=ffmpeg_exe()))

    def write(self, frame: npt.NDArray[np.uint8]) -> None:
        """Append one (height, width, channels) frame."""
        if frame.nbytes != self._frame_bytes:
            self.abort()
            raise EncodeError(f"frame of {frame.shape} does not match {self.width}x{self.height}")
        self._proc.write(np.ascontiguousarray(frame).data.cast("B"))
        self.frames += 1
        if self._progress is not None:
            self._progress(self.frames, self._total)

    def close(self) -> Path:
        """Finish the file; raises :class:`EncodeError` with ffmpeg's message on failure."""
        try:
            self._proc.finish()
        finally:
            self._cleanup()
        return self.path

    def abort(self) -> None:
        self._proc.kill()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

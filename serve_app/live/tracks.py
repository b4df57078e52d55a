"""The two aiortc tracks of a live stream, paced by one clock over one :class:`LiveScene`.

aiortc pulls a track (``recv``) only while its RTP sender runs, i.e. once the peer has
connected and until it goes away, so a stream with no connected peer draws nothing. Each
``recv`` returns the frame that is due next on the stream's clock; both tracks timestamp
their frames from that same clock (video 90 kHz, audio 48 kHz), so the receiver's lip sync
(RTCP sender reports map both to wall time) keeps them together.

Video frames are drawn in a worker thread (the replica's event loop carries every stream's
RTP, ICE and DTLS) and started ahead of their due time by the time drawing has been taking,
so they leave when due rather than a draw later. A track that falls behind skips frames
instead of sending stale ones.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from media.live import SAMPLE_RATE, LiveScene, Pacer

Clock = Callable[[], float]

VIDEO_CLOCK = 90_000
AUDIO_PTIME_S = 0.020
AUDIO_SAMPLES = round(SAMPLE_RATE * AUDIO_PTIME_S)
_VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
_AUDIO_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


@dataclass
class TrackStats:
    frames: int = 0
    first_at: float | None = None
    """Clock time of the first frame returned."""
    draw_s: float = 0.0
    """Total time spent drawing (video), for the status and the benchmark."""
    skipped: int = 0
    last_index: int = -1
    recent: list[float] = field(default_factory=list)
    """Clock times of recent frames (the measured rate)."""

    def sent(self, now: float, index: int) -> None:
        self.frames += 1
        self.last_index = index
        if self.first_at is None:
            self.first_at = now
        self.recent.append(now)
        if len(self.recent) > 90:
            del self.recent[:30]

    def rate(self, now: float, window_s: float = 2.0) -> float:
        """Frames per second over the last ``window_s`` seconds."""
        recent = [t for t in self.recent if now - t <= window_s]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])


async def _sleep_until(clock: Clock, when: float) -> None:
    delay = when - clock()
    if delay > 0:
        await asyncio.sleep(delay)


class SceneVideoTrack(MediaStreamTrack):
    """Frames of ``scene`` at ``fps``, drawn by ``draw(index)`` in ``executor``."""

    kind = "video"

    def __init__(
        self,
        draw: Callable[[int], VideoFrame],
        fps: float,
        origin: float,
        executor: Executor,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.fps = fps
        self._draw = draw
        self._executor = executor
        self._clock = clock
        self._pacer = Pacer(1.0 / fps, origin, max_late=1.0)
        self._lead = 0.005
        self.stats = TrackStats()

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index, due = self._pacer.next(self._clock())
        await _sleep_until(self._clock, due - self._lead)
        started = self._clock()
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(self._executor, self._draw, index)
        took = self._clock() - started
        self.stats.draw_s += took
        self._lead = 0.8 * self._lead + 0.2 * min(took, 1.0 / self.fps)
        await _sleep_until(self._clock, due)
        if self.readyState != "live":
            raise MediaStreamError
        frame.pts = round(index * VIDEO_CLOCK / self.fps)
        frame.time_base = _VIDEO_TIME_BASE
        self.stats.skipped = self._pacer.skipped
        self.stats.sent(self._clock(), index)
        return frame


class SceneAudioTrack(MediaStreamTrack):
    """20 ms frames of ``scene``'s speech (silence between utterances), 48 kHz mono."""

    kind = "audio"

    def __init__(self, scene: LiveScene, origin: float, clock: Clock = time.monotonic) -> None:
        super().__init__()
        self._scene = scene
        self._clock = clock
        self._pacer = Pacer(AUDIO_PTIME_S, origin, max_late=10.0)
        self.stats = TrackStats()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index, due = self._pacer.next(self._clock())
        await _sleep_until(self._clock, due)
        if self.readyState != "live":
            raise MediaStreamError
        samples = self._scene.audio(index * AUDIO_SAMPLES, AUDIO_SAMPLES)
        frame = audio_frame(samples, index * AUDIO_SAMPLES)
        self.stats.skipped = self._pacer.skipped
        self.stats.sent(self._clock(), index)
        return frame


def audio_frame(samples: np.ndarray, pts: int) -> AudioFrame:
    """An aiortc audio frame of mono 16-bit ``samples`` at :data:`SAMPLE_RATE`."""
    frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = _AUDIO_TIME_BASE
    return frame

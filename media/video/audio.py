"""Speech audio for muxing: 16-bit PCM with its sample rate, laid out on a timeline."""

from __future__ import annotations

import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class PcmAudio:
    """Mono or interleaved 16-bit PCM: ``samples`` shape ``(n,)`` or ``(n, channels)``."""

    samples: Samples
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16:
            raise ValueError(f"samples must be int16, got {self.samples.dtype}")
        if self.samples.ndim not in (1, 2):
            raise ValueError("samples must be (n,) or (n, channels)")
        if not 1000 <= self.sample_rate <= 384_000:
            raise ValueError(f"sample_rate {self.sample_rate} is out of range")

    @classmethod
    def from_bytes(cls, data: bytes, sample_rate: int, channels: int = 1) -> PcmAudio:
        """Little-endian 16-bit PCM bytes (what the TTS returns)."""
        samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
        if channels > 1:
            samples = samples[: len(samples) // channels * channels].reshape(-1, channels)
        return cls(samples, sample_rate)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def write_wav(self, path: Path) -> None:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(self.channels)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self.samples.astype("<i2").tobytes())

    def trimmed(self, seconds: float) -> PcmAudio:
        """At most ``seconds`` long."""
        n = max(0, round(seconds * self.sample_rate))
        return self if n >= len(self.samples) else PcmAudio(self.samples[:n], self.sample_rate)


def lay_out(
    clips: Iterable[tuple[float, PcmAudio, float | None]], sample_rate: int
) -> PcmAudio | None:
    """Mono mix of clips placed at ``(start_ms, clip, cut_ms)``; ``None`` without clips.

    A clip's own rate must equal ``sample_rate`` (the TTS speaks at one rate); a clip is cut
    at ``cut_ms`` (timeline time, e.g. an interruption) and clips before time 0 are trimmed.
    """
    placed: list[tuple[int, npt.NDArray[np.int32]]] = []
    for start_ms, clip, cut_ms in clips:
        if clip.sample_rate != sample_rate:
            raise ValueError(f"clip at {clip.sample_rate} Hz, timeline at {sample_rate} Hz")
        mono = clip.samples if clip.samples.ndim == 1 else clip.samples.mean(axis=1)
        data = np.asarray(mono, dtype=np.int32)
        offset = round(start_ms * sample_rate / 1000.0)
        if cut_ms is not None:
            data = data[: max(0, round((cut_ms - start_ms) * sample_rate / 1000.0))]
        if offset < 0:
            data, offset = data[-offset:], 0
        placed.append((offset, data))
    if not placed:
        return None
    total = max(offset + len(data) for offset, data in placed)
    mixed = np.zeros(total, dtype=np.int32)
    for offset, data in placed:
        mixed[offset : offset + len(data)] += data
    return PcmAudio(np.clip(mixed, -32768, 32767).astype(np.int16), sample_rate)

"""PCM and WAV conversions shared by TTS output and client audio input.

Only the standard library's ``wave`` and numpy: WAV is a thin header over PCM, and owning the
conversion keeps errors ours (:class:`InvalidSpeechInput`) instead of ``wave.Error``.
"""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt

from media.speech.errors import InvalidSpeechInput

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


def wav_bytes(pcm: Int16Array, sample_rate: int) -> bytes:
    """A mono 16-bit WAV file holding ``pcm``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return out.getvalue()


def pcm16_to_array(data: bytes) -> Int16Array:
    """Little-endian 16-bit PCM bytes as int16 samples (a trailing odd byte is dropped)."""
    usable = len(data) - len(data) % 2
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)


def read_wav(data: bytes) -> tuple[FloatArray, int]:
    """Decode a PCM WAV file to mono float samples in -1..1 and its sample rate."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise InvalidSpeechInput(f"not a PCM WAV file: {e}") from e
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float64) / float(1 << 23)
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.float64) / float(1 << 31)
    else:
        raise InvalidSpeechInput(f"unsupported WAV sample width: {width} bytes")
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels]
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def read_audio(data: bytes, sample_rate: int | None = None) -> tuple[FloatArray, int]:
    """Client audio as float samples: a WAV file, or raw 16-bit PCM when a rate is given."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return read_wav(data)
    if sample_rate is None:
        raise InvalidSpeechInput("audio is not a WAV file; raw PCM needs a sample_rate")
    if not 4000 <= sample_rate <= 192000:
        raise InvalidSpeechInput(f"sample_rate {sample_rate} outside 4000..192000 Hz")
    return pcm16_to_array(data).astype(np.float64) / 32768.0, sample_rate

"""Lip-sync from audio a client brings: energy and spectral features -> a lip-sync track.

Per 10 ms frame (25 ms Hann window): level (dB), zero-crossing rate, high-band energy share and
two spectral centroids, 200-1000 Hz (follows F1: jaw opening) and 800-3000 Hz (follows F2:
front/spread vs back/rounded lips). Silence is judged relative to the recording's own level, so
quiet and loud recordings behave alike. Thresholds were calibrated on espeak-ng speech; on real
voices the vowel class is a rough guess while open/closed follows the audio closely.
With a transcript, its phones are aligned to the frames instead (:mod:`forced_align`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from events.speech import LipSyncTrack, TimedPhone
from media.speech.audio import FloatArray, read_audio
from media.speech.errors import InvalidSpeechInput
from media.speech.forced_align import MAX_CELLS, chain_length, frame_fitter
from media.speech.phonemes import phonemize
from media.speech.timing import align_words_to_segments, fill_silence
from media.speech.visemes import SILENCE
from media.speech.voices import DEFAULT_VOICE

HOP_MS = 10.0
WINDOW_MS = 25.0
SILENCE_BELOW_PEAK_DB = 35.0  # frames this far under the loud frames count as silence
SILENCE_DBFS = -60.0  # and frames under this level always do
MIN_RUN_MS = 30.0  # shorter label runs are merged into their neighbour
MIN_PAUSE_MS = 150.0  # shorter silences are stop closures inside speech, not pauses
_CHUNK_FRAMES = 2048  # bounds memory for long recordings


@dataclass(frozen=True, slots=True)
class AudioFeatures:
    """Per-frame features; frame ``i`` covers ``times_ms[i]`` .. ``+HOP_MS``."""

    times_ms: FloatArray
    level_db: FloatArray
    zcr: FloatArray  # zero crossings per sample
    high_share: FloatArray  # energy above 3.5 kHz / energy 80 Hz..8 kHz
    f1_centroid: FloatArray  # Hz, 200..1000 band
    f2_centroid: FloatArray  # Hz, 800..3000 band
    openness: FloatArray  # 0 silent .. 1 as loud as the loudest speech


def _centroid(power: FloatArray, freqs: FloatArray, lo: float, hi: float) -> FloatArray:
    band = (freqs >= lo) & (freqs < hi)
    weights = power[:, band]
    out: FloatArray = (weights * freqs[band]).sum(axis=1) / (weights.sum(axis=1) + 1e-12)
    return out


def analyze(samples: FloatArray, sample_rate: int) -> AudioFeatures:
    """Frame features of mono float samples (-1..1)."""
    hop = max(1, round(sample_rate * HOP_MS / 1000.0))
    win = max(hop, round(sample_rate * WINDOW_MS / 1000.0))
    x = np.asarray(samples, dtype=np.float64)
    count = max(1, int(np.ceil(len(x) / hop)))
    # centre frame i's window on its hop [i*hop, (i+1)*hop)
    lead = (win - hop) // 2
    x = np.concatenate([np.zeros(lead), x, np.zeros(count * hop + win - len(x) - lead)])
    window = np.hanning(win)
    freqs: FloatArray = np.fft.rfftfreq(win, 1.0 / sample_rate).astype(np.float64)
    parts: list[list[FloatArray]] = [[], [], [], [], []]
    for first in range(0, count, _CHUNK_FRAMES):
        n = min(_CHUNK_FRAMES, count - first)
        idx = np.arange(win)[None, :] + hop * (first + np.arange(n))[:, None]
        frames = x[idx]
        power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
        total = power[:, (freqs >= 80) & (freqs < 8000)].sum(axis=1) + 1e-12
        parts[0].append(20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9))
        parts[1].append((np.diff(np.signbit(frames), axis=1)).mean(axis=1).astype(np.float64))
        parts[2].append(power[:, (freqs >= 3500) & (freqs < 8000)].sum(axis=1) / total)
        parts[3].append(_centroid(power, freqs, 200, 1000))
        parts[4].append(_centroid(power, freqs, 800, 3000))
    level, zcr, high, f1, f2 = (np.concatenate(p) for p in parts)
    peak = float(np.percentile(level, 98))
    floor = max(peak - SILENCE_BELOW_PEAK_DB, SILENCE_DBFS)
    openness = np.clip((level - floor) / max(peak - floor, 6.0), 0.0, 1.0)
    times: FloatArray = np.arange(count, dtype=np.float64) * HOP_MS
    return AudioFeatures(times, level, zcr, high, f1, f2, openness)


def _labels(f: AudioFeatures) -> npt.NDArray[np.str_]:
    """A phone standing for each frame's mouth shape."""
    labels = np.full(len(f.times_ms), SILENCE, dtype=object)
    sounding = f.openness > 0.0
    fricative = sounding & ((f.zcr > 0.25) | (f.high_share > 0.5))
    voiced = sounding & ~fricative
    murmur = voiced & (f.openness < 0.3)
    vowel = voiced & ~murmur
    labels[fricative] = "S"
    labels[murmur] = "N"
    f1, f2 = f.f1_centroid, f.f2_centroid
    labels[vowel] = "AH"
    labels[vowel & (f2 <= 1200)] = "OW"
    labels[vowel & (f2 <= 1200) & (f1 < 420)] = "UW"
    labels[vowel & (f2 >= 1600)] = "IH"
    labels[vowel & (f2 >= 1600) & (f1 >= 400)] = "EH"
    labels[vowel & (f2 >= 2050)] = "IY"
    labels[vowel & (f1 >= 570)] = "AA"
    return labels.astype(np.str_)


def _runs(labels: npt.NDArray[np.str_], min_frames: int) -> list[tuple[str, int, int]]:
    """Label runs (label, first frame, end frame) with short runs merged into neighbours."""
    runs: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels.tolist()):
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1], i + 1)
        else:
            runs.append((label, i, i + 1))
    merged: list[tuple[str, int, int]] = []
    for label, start, end in runs:
        if merged and (end - start < min_frames or merged[-1][0] == label):
            merged[-1] = (merged[-1][0], merged[-1][1], end)
        else:
            merged.append((label, start, end))
    return merged


def voiced_segments(features: AudioFeatures) -> list[tuple[float, float]]:
    """(start, end) ms of stretches with sound, bridging pauses under ``MIN_PAUSE_MS``."""
    segments: list[tuple[float, float]] = []
    sounding = features.openness > 0.0
    for label, start, end in _runs(np.where(sounding, "x", SILENCE).astype(np.str_), 1):
        if label == SILENCE:
            continue
        s, e = start * HOP_MS, end * HOP_MS
        if segments and s - segments[-1][1] < MIN_PAUSE_MS:
            segments[-1] = (segments[-1][0], e)
        else:
            segments.append((s, e))
    return [(s, e) for s, e in segments if e - s >= 2 * HOP_MS]


def lipsync_samples(
    samples: FloatArray, sample_rate: int, transcript: str | None = None, voice: str = DEFAULT_VOICE
) -> LipSyncTrack:
    """A lip-sync track for mono float samples; with a transcript, its phones are aligned."""
    duration = round(len(samples) * 1000.0 / sample_rate, 3)
    if len(samples) == 0:
        return LipSyncTrack(duration_ms=0.0)
    features = analyze(samples, sample_rate)
    if transcript and transcript.strip():
        words = [w for w in phonemize(transcript, voice) if w.phones]
        fit = frame_fitter(features.openness, features.zcr, features.high_share, HOP_MS)
        if len(features.times_ms) * chain_length(words) <= MAX_CELLS:
            phones, timed = fit(words, 0.0, duration)  # one pass: pauses found by Viterbi
            return LipSyncTrack(
                duration_ms=duration, phones=fill_silence(phones, duration), words=tuple(timed)
            )
        # long audio: words to pauses first, then a Viterbi pass inside each stretch
        segments = [(s, min(e, duration)) for s, e in voiced_segments(features) if s < duration]
        return align_words_to_segments(words, segments, duration, fit)
    phones = []
    for label, start, end in _runs(_labels(features), round(MIN_RUN_MS / HOP_MS)):
        s, e = start * HOP_MS, min(end * HOP_MS, duration)
        if e > s:
            phones.append(TimedPhone(phone=label, start_ms=s, end_ms=round(e, 3)))
    return LipSyncTrack(duration_ms=duration, phones=tuple(phones))


def lipsync_audio(
    data: bytes,
    sample_rate: int | None = None,
    transcript: str | None = None,
    voice: str = DEFAULT_VOICE,
) -> LipSyncTrack:
    """A lip-sync track for client audio: WAV bytes, or raw 16-bit PCM with ``sample_rate``."""
    if not data:
        raise InvalidSpeechInput("audio is empty")
    samples, rate = read_audio(data, sample_rate)
    return lipsync_samples(samples, rate, transcript, voice)

"""Lip-sync from client audio, checked against espeak audio whose phones we know."""

from __future__ import annotations

import io
import itertools
import wave
from functools import cache

import numpy as np
import pytest

from events.speech import LipSyncTrack
from media.speech.arkit import arkit_weights
from media.speech.audio import read_wav, wav_bytes
from media.speech.audio_lipsync import lipsync_audio, lipsync_samples
from media.speech.errors import InvalidSpeechInput
from media.speech.forced_align import viterbi
from media.speech.timing import PHONE_CLASSES
from media.speech.tts import Speech, synthesize
from media.speech.visemes import ARKIT_MOUTH_SHAPES

pytestmark = pytest.mark.timeout(60)

PARAGRAPH = (
    "Thank you for coming in today. Before we start, could you tell me a little about "
    "yourself? Take your time. Then we will look at a short design problem together, "
    "and at the end you can ask me anything about the team."
)
VOWELS = PHONE_CLASSES["long_vowel"] | PHONE_CLASSES["short_vowel"]
JAW = ARKIT_MOUTH_SHAPES.index("jawOpen")


@cache
def speech() -> Speech:
    return synthesize(PARAGRAPH)


@cache
def audio_track() -> LipSyncTrack:
    return lipsync_audio(speech().wav_bytes())


def _frame_rms(s: Speech) -> tuple[np.ndarray, np.ndarray]:
    hop = s.sample_rate // 100
    n = len(s.pcm) // hop
    frames = s.pcm[: n * hop].astype(np.float64).reshape(n, hop)
    return np.arange(n) * 10.0 + 5.0, np.sqrt((frames**2).mean(axis=1))


def test_track_covers_the_audio() -> None:
    track = audio_track()
    assert track.duration_ms == pytest.approx(speech().duration_ms, abs=0.01)
    assert track.phones[0].start_ms == 0.0
    assert track.phones[-1].end_ms == pytest.approx(track.duration_ms, abs=0.01)
    for a, b in itertools.pairwise(track.phones):
        assert a.end_ms == pytest.approx(b.start_ms) and b.end_ms > b.start_ms
        assert a.phone != b.phone


def test_mouth_is_closed_in_silence() -> None:
    pauses = [p for p in speech().track.phones if p.phone == "sil" and p.end_ms - p.start_ms >= 250]
    assert len(pauses) >= 3
    for p in pauses:
        times = np.arange(p.start_ms + 100, p.end_ms - 100, 10.0)  # the middle of a pause
        jaw = arkit_weights(audio_track(), times)[:, JAW]
        assert jaw.max() <= 0.05, p


def test_mouth_is_open_in_loud_vowels() -> None:
    times, rms = _frame_rms(speech())
    phone_at = np.array(["sil"] * len(times), dtype=object)
    for p in speech().track.phones:
        phone_at[(times >= p.start_ms) & (times < p.end_ms)] = p.phone
    vowel = np.isin(phone_at, list(VOWELS))
    loud = vowel & (rms >= np.percentile(rms[vowel], 50))
    assert loud.sum() > 50
    jaw = arkit_weights(audio_track(), times[loud])[:, JAW]
    assert np.mean(jaw >= 0.25) >= 0.9
    assert np.mean(jaw) >= 1.5 * np.mean(arkit_weights(audio_track(), times[~vowel])[:, JAW])


def test_mouth_follows_the_envelope() -> None:
    times, rms = _frame_rms(speech())
    jaw = arkit_weights(audio_track(), times)[:, JAW]
    envelope = np.convolve(rms, np.ones(5) / 5, mode="same")
    assert np.corrcoef(jaw, envelope)[0, 1] >= 0.5


def test_raw_pcm_and_stereo_wav_give_the_same_mouth() -> None:
    s = speech()
    from_pcm = lipsync_audio(s.pcm_bytes(), sample_rate=s.sample_rate)
    assert from_pcm == audio_track()
    stereo = np.repeat(np.repeat(s.pcm, 2)[:, None], 2, axis=1)  # 44.1 kHz, two channels
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(2 * s.sample_rate)
        w.writeframes(stereo.astype("<i2").tobytes())
    from_stereo = lipsync_audio(out.getvalue())
    times = np.arange(0.0, s.duration_ms, 10.0)
    a = arkit_weights(from_stereo, times)[:, JAW] > 0.05
    b = arkit_weights(audio_track(), times)[:, JAW] > 0.05
    assert np.mean(a == b) >= 0.9


def test_half_rate_audio_gives_the_same_mouth() -> None:
    s = speech()
    half = s.pcm[::2].astype(np.float64) / 32768.0  # 11025 Hz, crude decimation
    track = lipsync_samples(half, s.sample_rate // 2)
    assert track.duration_ms == pytest.approx(s.duration_ms, abs=1.0)
    times = np.arange(0.0, s.duration_ms, 10.0)
    a = arkit_weights(track, times)[:, JAW] > 0.05
    b = arkit_weights(audio_track(), times)[:, JAW] > 0.05
    assert np.mean(a == b) >= 0.85


def test_transcript_is_aligned_to_the_speech() -> None:
    s = speech()
    track = lipsync_audio(s.wav_bytes(), transcript=PARAGRAPH)
    # espeak joins clitics to the word before ("at a"): compare at each espeak word's start
    truth: list[float | None] = []
    for w in s.track.words:
        truth += [w.start_ms] + [None] * (len(w.word.split()) - 1)
    assert " ".join(w.word for w in track.words) == " ".join(w.word for w in s.track.words)
    starts = np.array([w.start_ms for w in track.words])
    assert np.all(np.diff(starts) > 0)
    assert all(0 <= w.start_ms < w.end_ms <= track.duration_ms for w in track.words)
    error = np.array([abs(a - b) for a, b in zip(starts, truth, strict=True) if b is not None])
    assert error.mean() <= 120, error  # ~50 ms measured; a proportional layout gives ~200
    closed = [p for p in track.phones if p.phone in {"P", "B", "M"}]
    assert len(closed) == sum(1 for p in s.track.phones if p.phone in {"P", "B", "M"})


def test_silence_gives_a_closed_mouth_only() -> None:
    track = lipsync_samples(np.zeros(22050), 22050)
    assert [p.phone for p in track.phones] == ["sil"]
    assert lipsync_samples(np.zeros(0), 22050).phones == ()
    with_text = lipsync_samples(np.zeros(22050), 22050, transcript="hello")
    assert {p.phone for p in with_text.phones} <= {"sil", "HH", "AH", "L", "OW"}


def test_viterbi_respects_order_and_optional_phones() -> None:
    # 3 phones over 6 frames; the middle one is optional and fits nothing
    costs = np.array(
        [[0, 9, 9], [0, 9, 9], [0, 9, 9], [9, 9, 0], [9, 9, 0], [9, 9, 0]], dtype=np.float64
    )
    assert viterbi(costs, [False, True, False]) == [(0, 3), (3, 3), (3, 6)]
    assert viterbi(costs, [False, False, False]) is not None
    assert viterbi(costs[:2], [False, False, False]) is None


@pytest.mark.parametrize(
    ("data", "rate"),
    [
        (b"", None),
        (b"\x00\x01" * 100, None),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", None),
        (b"\x00\x01" * 100, 100),
    ],
)
def test_bad_audio_is_rejected(data: bytes, rate: int | None) -> None:
    with pytest.raises(InvalidSpeechInput):
        lipsync_audio(data, sample_rate=rate)


def test_wav_round_trip() -> None:
    pcm = (np.sin(np.arange(2205) / 5) * 10000).astype(np.int16)
    samples, rate = read_wav(wav_bytes(pcm, 22050))
    assert rate == 22050
    assert np.allclose(samples, pcm / 32768.0)

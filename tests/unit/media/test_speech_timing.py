"""Timing without synthesis: class durations, estimates, alignment to a duration."""

from __future__ import annotations

import itertools

import pytest

from events.speech import LipSyncTrack
from media.speech.errors import InvalidSpeechInput
from media.speech.phonemes import PhonemizedWord
from media.speech.timing import (
    align_phones,
    align_words_to_segments,
    estimate_track,
    phone_class,
    phone_duration_ms,
)
from media.speech.tts import synthesize, text_track

pytestmark = pytest.mark.timeout(60)

SENTENCE = "Hello there, my name is Maya and I will be your interviewer for today's session."


def assert_contiguous(track: LipSyncTrack) -> None:
    assert track.phones[0].start_ms == 0.0
    assert track.phones[-1].end_ms == pytest.approx(track.duration_ms, abs=1e-3)
    for a, b in itertools.pairwise(track.phones):
        assert a.end_ms == pytest.approx(b.start_ms, abs=1e-3)
        assert b.end_ms >= b.start_ms


def test_phone_classes() -> None:
    assert phone_class("AA1") == "long_vowel"
    assert phone_class("P") == "stop"
    assert phone_class("S") == "fricative"
    assert phone_duration_ms("IY") > phone_duration_ms("IH") > phone_duration_ms("T")
    assert phone_duration_ms("AA", rate=350) == pytest.approx(phone_duration_ms("AA") / 2)


def test_estimate_is_contiguous_and_close_to_espeaks_duration() -> None:
    track = estimate_track(SENTENCE)
    assert_contiguous(track)
    real = synthesize(SENTENCE).duration_ms
    assert track.duration_ms == pytest.approx(real, rel=0.25)
    assert [w.word for w in track.words][:3] == ["Hello", "there", "my"]
    comma_pause = next(p for p in track.phones if p.phone == "sil" and p.start_ms > 0)
    assert comma_pause.start_ms == pytest.approx(track.words[1].end_ms)
    assert comma_pause.end_ms - comma_pause.start_ms >= 150


def test_text_track_with_and_without_audio() -> None:
    exact = text_track(SENTENCE)
    estimated = text_track(SENTENCE, synthesize_audio=False)
    assert [w.word for w in estimated.words][:3] == [w.word for w in exact.words][:3]
    assert estimated.duration_ms == pytest.approx(exact.duration_ms, rel=0.25)
    with pytest.raises(InvalidSpeechInput):
        text_track(" ", synthesize_audio=False)
    with pytest.raises(InvalidSpeechInput):
        text_track("hi", synthesize_audio=False, rate=0)


def test_estimate_scales_with_rate() -> None:
    assert estimate_track(SENTENCE, rate=350).duration_ms == pytest.approx(
        estimate_track(SENTENCE).duration_ms / 2, rel=0.01
    )


def test_vowels_last_longer_than_stops_not_uniform() -> None:
    track = align_phones(["P", "AA", "T", "IY", "K", "OW"], 900.0)
    assert_contiguous(track)
    length = {p.phone: p.end_ms - p.start_ms for p in track.phones}
    assert length["AA"] > 1.5 * length["P"]
    assert length["IY"] > 1.5 * length["T"]
    assert len({round(v, 3) for v in length.values()}) > 1
    assert sum(length.values()) == pytest.approx(900.0)


def test_align_phones_edge_cases() -> None:
    assert align_phones([], 500.0).phones == ()
    assert align_phones(["AA"], 0.0).phones[0].end_ms == 0.0
    with pytest.raises(ValueError, match="duration"):
        align_phones(["AA"], -1.0)


def test_words_are_fitted_into_voiced_segments() -> None:
    words = [
        PhonemizedWord("hello", ("HH", "AH", "L", "OW"), "cmu"),
        PhonemizedWord("big", ("B", "IH", "G"), "cmu"),
        PhonemizedWord("world", ("W", "ER", "L", "D"), "cmu"),
    ]
    segments = [(100.0, 500.0), (900.0, 1400.0)]
    track = align_words_to_segments(words, segments, 1600.0)
    assert_contiguous(track)
    for w in track.words:
        assert any(s - 1e-6 <= w.start_ms and w.end_ms <= e + 1e-6 for s, e in segments)
    assert [w.word for w in track.words] == ["hello", "big", "world"]
    gap = [p for p in track.phones if p.start_ms >= 500 and p.end_ms <= 900]
    assert gap and all(p.phone == "sil" for p in gap)

"""TTS through espeak-ng: audio, track timing, voices, parameters, errors, thread safety."""

from __future__ import annotations

import ctypes
import io
import itertools
import threading
import wave
from functools import cache
from typing import cast

import numpy as np
import pytest

from media.speech import (
    InvalidSpeechInput,
    Speech,
    TextTooLong,
    UnknownVoice,
    list_variants,
    list_voices,
    resolve_voice,
    synthesize,
)
from media.speech.errors import VOICE_LIST_HINT, EngineUnavailable
from media.speech.espeak import Espeak

pytestmark = pytest.mark.timeout(60)

PARAGRAPH = (
    "Good morning, and thank you for joining us today. My name is Maya, and I will be your "
    "interviewer. We will talk about your experience, a few technical problems, and the "
    "projects you are proud of. Please take your time, think out loud, and ask questions "
    "whenever something is unclear. Shall we begin with a short introduction?"
)


@cache
def paragraph() -> Speech:
    return synthesize(PARAGRAPH)


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def test_output_is_22050_hz_mono_16_bit_and_wav_length_matches() -> None:
    speech = paragraph()
    assert speech.sample_rate == 22050
    assert speech.pcm.dtype == np.int16
    with wave.open(io.BytesIO(speech.wav_bytes()), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        wav_ms = w.getnframes() * 1000.0 / w.getframerate()
    assert wav_ms == pytest.approx(speech.duration_ms, abs=0.01)
    assert speech.track.duration_ms == pytest.approx(wav_ms, abs=0.01)
    assert len(speech.pcm_bytes()) == 2 * len(speech.pcm)
    assert 10_000 < speech.duration_ms < 40_000  # ~60 words at 175 words/min


def test_phones_are_monotonic_contiguous_and_inside_the_audio() -> None:
    track = paragraph().track
    phones = track.phones
    assert len(phones) > 150
    assert phones[0].start_ms == 0.0
    assert phones[-1].end_ms == pytest.approx(track.duration_ms, abs=0.01)
    for before, after in itertools.pairwise(phones):
        assert before.end_ms == pytest.approx(after.start_ms, abs=1e-6)
        assert after.end_ms > after.start_ms
    spoken = {p.phone for p in phones}
    assert {"M", "P", "B", "AA", "IY", "S", "sil"} <= spoken
    assert all(p.phone.isupper() or p.phone == "sil" for p in phones)


def test_words_follow_the_text_in_order_and_inside_the_audio() -> None:
    track = paragraph().track
    words = [w.word for w in track.words]
    assert words[:5] == ["Good", "morning", "and", "thank", "you"]
    assert "Maya" in words and words[-1] == "introduction"
    for before, after in itertools.pairwise(track.words):
        assert before.start_ms <= after.start_ms
        assert before.end_ms <= after.start_ms + 1e-6
    assert all(0 <= w.start_ms <= w.end_ms <= track.duration_ms for w in track.words)


def test_audio_is_silent_at_pauses_and_loud_in_vowels() -> None:
    speech = paragraph()
    sr = speech.sample_rate

    def level(phone_set: set[str]) -> float:
        chunks = [
            speech.pcm[int(p.start_ms * sr / 1000) : int(p.end_ms * sr / 1000)]
            for p in speech.track.phones
            if p.phone in phone_set
        ]
        return rms(np.concatenate(chunks))

    assert level({"sil"}) < 0.1 * level({"AA", "AE", "AO", "OW", "IY", "EY"})


@pytest.mark.parametrize("voice", ["en-us", "en-gb", "de", "fr", "es", "fr-fr"])
def test_every_listed_language_synthesises(voice: str) -> None:
    speech = synthesize("One two three, hello.", voice)
    assert speech.voice.language.partition("-")[0] == voice.partition("-")[0]
    assert speech.duration_ms > 500
    assert rms(speech.pcm) > 300
    assert any(p.phone != "sil" for p in speech.track.phones)


def test_en_gb_and_en_us_are_different_voices() -> None:
    assert resolve_voice("en-gb").id != resolve_voice("en-us").id
    assert resolve_voice("English (America)") == resolve_voice("gmw/en-US")


def test_voices_list_languages_and_gender() -> None:
    voices = list_voices()
    assert len(voices) > 100
    languages = {lang for v in voices for lang in v.languages}
    assert {"en-us", "en-gb", "de", "fr-fr", "es"} <= languages
    assert all(v.gender in {"male", "female", "unknown"} for v in voices)
    assert any(v.gender == "female" for v in list_variants())


def test_variant_sets_gender() -> None:
    voice = resolve_voice("en-us+f3")
    assert (voice.gender, voice.variant, voice.espeak_name) == ("female", "f3", "gmw/en-US+f3")
    speech = synthesize("Hello there.", "en-us+f3")
    assert speech.voice.variant == "f3" and rms(speech.pcm) > 300


def test_unknown_voice_names_the_voice_list() -> None:
    with pytest.raises(UnknownVoice) as info:
        synthesize("hello", "klingon-xx")
    assert VOICE_LIST_HINT in str(info.value)
    with pytest.raises(UnknownVoice):
        resolve_voice("en-us+nosuchvariant")


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({}, "   "),
        ({"rate": 10}, "hi"),
        ({"pitch": 101}, "hi"),
        ({"volume": -1}, "hi"),
        ({}, "bad\0text"),
    ],
)
def test_bad_input_is_rejected(kwargs: dict[str, int], text: str) -> None:
    with pytest.raises(InvalidSpeechInput):
        synthesize(text, **kwargs)  # type: ignore[arg-type]


def test_text_too_long() -> None:
    with pytest.raises(TextTooLong):
        synthesize("a" * 120_001)


def test_ssml_voice_change_does_not_leak_into_the_next_call() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    before = synthesize(text)
    synthesize(
        '<speak><voice xml:lang="de">Guten Tag, wie geht es Ihnen?</voice></speak>', ssml=True
    )
    after = synthesize(text)
    assert after.duration_ms == pytest.approx(before.duration_ms, rel=0.03)
    assert [p.phone for p in after.track.phones][:4] == [p.phone for p in before.track.phones][:4]


def test_rate_and_volume_change_the_audio() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    normal = synthesize(text)
    slow = synthesize(text, rate=100)
    quiet = synthesize(text, volume=40)
    assert slow.duration_ms > 1.4 * normal.duration_ms
    assert rms(quiet.pcm) < 0.6 * rms(normal.pcm)
    # parameters do not leak into the next call
    again = synthesize(text)
    assert again.duration_ms == pytest.approx(normal.duration_ms, rel=0.05)


def test_ssml_input() -> None:
    plain = synthesize("Hello world.")
    ssml = synthesize('<speak>Hello <break time="800ms"/> world.</speak>', ssml=True)
    assert ssml.duration_ms > plain.duration_ms + 500
    assert [w.word for w in ssml.track.words] == ["Hello", "world"]
    assert max(p.end_ms - p.start_ms for p in ssml.track.phones if p.phone == "sil") >= 700


def test_numbers_become_one_word_spanning_their_phones() -> None:
    track = synthesize("I paid 42 dollars.").track
    assert [w.word for w in track.words] == ["I", "paid", "42", "dollars"]
    forty_two = track.words[2]
    inside = [p.phone for p in track.phones if forty_two.start_ms <= p.start_ms < forty_two.end_ms]
    assert inside[:2] == ["F", "AO"] and "UW" in inside


def test_words_espeak_joins_stay_in_the_track() -> None:
    track = synthesize("Let us look at a short problem.").track
    assert [w.word for w in track.words] == ["Let", "us", "look", "at a", "short", "problem"]


def test_engine_start_failure_is_translated() -> None:
    class BrokenLibrary:
        @staticmethod
        def espeak_Initialize(*_: object) -> int:  # noqa: N802 - the C name
            return -1

    engine = Espeak(loader=lambda: (cast(ctypes.CDLL, BrokenLibrary()), "/nowhere"))
    with pytest.raises(EngineUnavailable, match="espeak_Initialize failed"):
        engine.voices()


def test_concurrent_synthesis_never_corrupts_audio() -> None:
    texts = [
        f"Thread number {i} says the rain in Spain stays mainly in the plain." for i in range(8)
    ]
    serial = [synthesize(t) for t in texts]
    results: dict[int, Speech] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(texts))

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = synthesize(texts[i])
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, expected in enumerate(serial):
        got = results[i]
        assert len(got.pcm) == pytest.approx(len(expected.pcm), rel=0.02)
        assert rms(got.pcm) == pytest.approx(rms(expected.pcm), rel=0.1)
        assert [w.word for w in got.track.words] == [w.word for w in expected.track.words]
        assert got.track.phones[-1].end_ms == pytest.approx(got.duration_ms, abs=0.01)

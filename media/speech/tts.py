"""Text to speech: audio plus the lip-sync track built from espeak's own phoneme events.

The track comes from the synthesiser, not from a second guess: each phoneme event carries the
sample at which espeak starts that phoneme, so phones line up with the audio to the sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from events.speech import MAX_TEXT_CHARS, LipSyncTrack, TimedPhone, TimedWord
from media.speech.audio import Int16Array, pcm16_to_array, wav_bytes
from media.speech.errors import InvalidSpeechInput, TextTooLong
from media.speech.espeak import ENGINE, EventType, Param, RawEvent
from media.speech.ipa import ipa_to_arpabet
from media.speech.timing import estimate_track, phone_weight
from media.speech.visemes import SILENCE
from media.speech.voices import DEFAULT_VOICE, Voice, resolve_voice

_WORD_CHAR = re.compile(r"\w")
_TRAILING_PUNCTUATION = ".,;:!?\"')]}"
RATE_RANGE = (80, 450)  # words per minute
PITCH_RANGE = (0, 100)
VOLUME_RANGE = (0, 200)


@dataclass(frozen=True, slots=True, eq=False)
class Speech:
    """Synthesised audio (mono 16-bit PCM) and its lip-sync track."""

    pcm: Int16Array
    sample_rate: int
    track: LipSyncTrack
    voice: Voice

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) * 1000.0 / self.sample_rate

    def pcm_bytes(self) -> bytes:
        """Raw little-endian 16-bit samples."""
        return self.pcm.astype("<i2").tobytes()

    def wav_bytes(self) -> bytes:
        """The audio as a WAV file."""
        return wav_bytes(self.pcm, self.sample_rate)


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidSpeechInput(f"{name} {value} outside {bounds[0]}..{bounds[1]}")
    return int(value)


def synthesize(
    text: str,
    voice: str = DEFAULT_VOICE,
    *,
    rate: int = 175,
    pitch: int = 50,
    volume: int = 100,
    ssml: bool = False,
) -> Speech:
    """Speak ``text`` (plain or SSML) with ``voice``; rate in words/min, pitch 0..100,
    volume 0..200 (100 = normal). Thread-safe; calls are serialised on the engine lock."""
    if not text.strip():
        raise InvalidSpeechInput("text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(len(text), MAX_TEXT_CHARS)
    chosen = resolve_voice(voice)
    params = {
        Param.RATE: _check_range("rate", rate, RATE_RANGE),
        Param.PITCH: _check_range("pitch", pitch, PITCH_RANGE),
        Param.VOLUME: _check_range("volume", volume, VOLUME_RANGE),
    }
    raw = ENGINE.synthesize(text, chosen.espeak_name, params, ssml=ssml)
    pcm = pcm16_to_array(raw.pcm)
    track = track_from_events(raw.events, raw.sample_rate, len(pcm), text, ssml)
    return Speech(pcm, raw.sample_rate, track, chosen)


def text_track(
    text: str, voice: str = DEFAULT_VOICE, *, synthesize_audio: bool = True, rate: int = 175
) -> LipSyncTrack:
    """Phones with timings for ``text``: espeak's own (exact, ~0.2 ms a word) or, without
    audio, estimated from the dictionary and phone classes (``POST /phonemes``)."""
    if synthesize_audio:
        return synthesize(text, voice, rate=rate).track
    if not text.strip():
        raise InvalidSpeechInput("text is empty")
    return estimate_track(text, voice, _check_range("rate", rate, RATE_RANGE))


def _ms(sample: int, sample_rate: int) -> float:
    return round(sample * 1000.0 / sample_rate, 3)


def _split(phones: tuple[str, ...], start: int, end: int) -> list[tuple[str, int, int]]:
    """Share one event's span among its phones by phone class (a diphthong's vowel longer)."""
    weights = [phone_weight(p) for p in phones]
    total = sum(weights)
    out, at, acc = [], start, 0.0
    for phone, weight in zip(phones, weights, strict=True):
        acc += weight
        stop = start + round((end - start) * acc / total)
        out.append((phone, at, stop))
        at = stop
    return out


def _phones(events: list[RawEvent], n_samples: int) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for i, ev in enumerate(events):
        start = min(ev.sample, n_samples)
        end = min(events[i + 1].sample, n_samples) if i + 1 < len(events) else n_samples
        if end <= start:
            continue
        spans.extend(_split(ipa_to_arpabet(ev.phoneme) or (SILENCE,), start, end))
    if spans and spans[0][1] > 0:
        spans.insert(0, (SILENCE, 0, spans[0][1]))
    merged: list[tuple[str, int, int]] = []
    for phone, start, end in spans:
        if end <= start:
            continue
        if merged and phone == SILENCE and merged[-1][0] == SILENCE:
            merged[-1] = (SILENCE, merged[-1][1], end)
        else:
            merged.append((phone, start, end))
    return merged


def _words(
    events: list[RawEvent],
    phones: list[tuple[str, int, int]],
    text: str,
    n_samples: int,
    merge_gaps: bool,
) -> list[tuple[str, int, int]]:
    # espeak may emit several word events for one written token ("42" -> forty two): merge
    # events whose text spans overlap into one word.
    spans: list[tuple[int, int, int]] = []  # (char start, char end, sample)
    for ev in events:
        lo, hi = ev.text_position - 1, ev.text_position - 1 + max(ev.length, 0)
        if spans and lo < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(hi, spans[-1][1]), spans[-1][2])
        else:
            spans.append((lo, hi, min(ev.sample, n_samples)))
    # A word event comes a little before the word's first phoneme: the word spans the
    # sounding phones from its event to the next word's event.
    words: list[tuple[str, int, int]] = []
    for i, (lo, hi, start) in enumerate(spans):
        limit = spans[i + 1][2] if i + 1 < len(spans) else n_samples + 1
        own = [(s, e) for p, s, e in phones if p != SILENCE and start <= s < limit]
        stop = hi
        if merge_gaps and i + 1 < len(spans) and _WORD_CHAR.search(text[hi : spans[i + 1][0]]):
            stop = spans[i + 1][0]  # espeak spoke a clitic ("at a") without its own event
        word = text[lo:stop].strip().rstrip(_TRAILING_PUNCTUATION)
        if word:
            begin, end = (own[0][0], own[-1][1]) if own else (start, start)
            words.append((word, begin, end))
    return words


def track_from_events(
    events: tuple[RawEvent, ...], sample_rate: int, n_samples: int, text: str, ssml: bool = False
) -> LipSyncTrack:
    """A :class:`LipSyncTrack` from espeak's phoneme and word events of one utterance.

    espeak gives no event to some unstressed words ("a" in "at a"): their text joins the word
    before, whose span holds their phones. Not for SSML, where the gaps hold markup."""
    ordered = sorted((e for e in events if e.kind == EventType.PHONEME), key=lambda e: e.sample)
    word_events = [e for e in events if e.kind == EventType.WORD]
    phones = _phones(ordered, n_samples)
    words = _words(word_events, phones, text, n_samples, merge_gaps=not ssml)
    return LipSyncTrack(
        duration_ms=_ms(n_samples, sample_rate),
        phones=tuple(
            TimedPhone(phone=p, start_ms=_ms(s, sample_rate), end_ms=_ms(e, sample_rate))
            for p, s, e in phones
        ),
        words=tuple(
            TimedWord(word=w, start_ms=_ms(s, sample_rate), end_ms=_ms(e, sample_rate))
            for w, s, e in words
        ),
    )

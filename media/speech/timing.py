"""Phone timings without a synthesiser: durations by phone class.

Mean English segment durations (Klatt 1979; Umeda 1975) at a conversational 175 words/min:
tense vowels and diphthongs ~130 ms, lax vowels ~80 ms, fricatives ~85 ms, stops and nasals
~65 ms, glides ~55 ms. Used to estimate a track for text (``synthesize: false``), to align given
phones to a known audio duration, and to spread a transcript over the voiced parts of audio.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from events.speech import LipSyncTrack, TimedPhone, TimedWord
from media.speech.phonemes import PhonemizedWord, phonemize
from media.speech.visemes import SILENCE, normalize_phone
from media.speech.voices import DEFAULT_VOICE

DEFAULT_RATE = 175  # words per minute, espeak's default

PHONE_CLASSES: dict[str, frozenset[str]] = {
    "long_vowel": frozenset({"AA", "AE", "AO", "AW", "AY", "ER", "EY", "IY", "OW", "OY", "UW"}),
    "short_vowel": frozenset({"AH", "EH", "IH", "UH"}),
    "affricate": frozenset({"CH", "JH"}),
    "fricative": frozenset({"F", "V", "TH", "S", "Z", "SH", "ZH"}),
    "weak_fricative": frozenset({"DH", "HH"}),
    "stop": frozenset({"P", "B", "T", "D", "K", "G"}),
    "nasal": frozenset({"M", "N", "NG"}),
    "liquid": frozenset({"L", "R"}),
    "glide": frozenset({"W", "Y"}),
    "silence": frozenset({SILENCE}),
}

CLASS_MS: dict[str, float] = {
    "long_vowel": 130.0,
    "short_vowel": 80.0,
    "affricate": 95.0,
    "fricative": 85.0,
    "weak_fricative": 50.0,
    "stop": 65.0,
    "nasal": 65.0,
    "liquid": 65.0,
    "glide": 55.0,
    "silence": 0.0,
    "other": 70.0,
}

#: Pauses after punctuation, in ms at the default rate.
PAUSE_MS: dict[str, float] = {
    ",": 180.0,
    ";": 250.0,
    ":": 250.0,
    ".": 350.0,
    "!": 350.0,
    "?": 350.0,
}
EDGE_SILENCE_MS = 50.0  # before the first and after the last word of an estimate

_CLASS_OF = {phone: name for name, phones in PHONE_CLASSES.items() for phone in phones}


def phone_class(phone: str) -> str:
    """The duration class of an ARPAbet phone (``"other"`` if unknown)."""
    return _CLASS_OF.get(normalize_phone(phone), "other")


def phone_duration_ms(phone: str, rate: int = DEFAULT_RATE) -> float:
    """Typical duration of ``phone`` at ``rate`` words per minute."""
    return CLASS_MS[phone_class(phone)] * DEFAULT_RATE / rate


def phone_weight(phone: str) -> float:
    """Relative length of a phone, for sharing a span among phones (silence counts a little)."""
    return max(phone_duration_ms(phone), 20.0)


def _lay(phones: Sequence[str], start: float, end: float) -> list[TimedPhone]:
    """Phones one after another filling [start, end], each in proportion to its class."""
    weights = [phone_weight(p) for p in phones]
    total = sum(weights)
    out, at, acc = [], start, 0.0
    for phone, weight in zip(phones, weights, strict=True):
        acc += weight
        stop = start + (end - start) * acc / total
        out.append(
            TimedPhone(phone=normalize_phone(phone), start_ms=round(at, 3), end_ms=round(stop, 3))
        )
        at = stop
    return out


def align_phones(phones: Sequence[str], duration_ms: float) -> LipSyncTrack:
    """Spread ``phones`` over ``duration_ms`` by phone class (vowels longer than stops)."""
    if duration_ms < 0:
        raise ValueError("duration_ms must be >= 0")
    laid = _lay(phones, 0.0, duration_ms) if phones else []
    return LipSyncTrack(duration_ms=duration_ms, phones=tuple(laid))


def _nominal(words: Sequence[PhonemizedWord], rate: int) -> list[tuple[float, float]]:
    """(speech, pause after) of each word, in ms at ``rate``."""
    scale = DEFAULT_RATE / rate
    return [
        (
            sum(phone_duration_ms(p, rate) for p in w.phones),
            PAUSE_MS.get(w.punctuation, 0.0) * scale,
        )
        for w in words
    ]


def layout_words(
    words: Sequence[PhonemizedWord],
    start_ms: float,
    end_ms: float,
    rate: int = DEFAULT_RATE,
    pauses: bool = True,
) -> tuple[list[TimedPhone], list[TimedWord]]:
    """Words (and, if ``pauses``, their punctuation pauses) stretched over [start, end] ms."""
    spoken = [w for w in words if w.phones]
    nominal = _nominal(spoken, rate)
    if not pauses:
        nominal = [(s, 0.0) for s, _ in nominal]
    if spoken:
        nominal[-1] = (nominal[-1][0], 0.0)  # no pause after the last word of a span
    total = sum(s + p for s, p in nominal)
    if not spoken or total <= 0 or end_ms <= start_ms:
        return [], []
    scale = (end_ms - start_ms) / total
    phones: list[TimedPhone] = []
    timed: list[TimedWord] = []
    at = start_ms
    for word, (speech, pause) in zip(spoken, nominal, strict=True):
        word_end = at + speech * scale
        phones.extend(_lay(word.phones, at, word_end))
        timed.append(TimedWord(word=word.word, start_ms=round(at, 3), end_ms=round(word_end, 3)))
        at = word_end
        if pause > 0:
            phones.append(
                TimedPhone(
                    phone=SILENCE, start_ms=round(at, 3), end_ms=round(at + pause * scale, 3)
                )
            )
            at += pause * scale
    return phones, timed


def fill_silence(phones: list[TimedPhone], duration_ms: float) -> tuple[TimedPhone, ...]:
    """Fill the gaps before, between and after ``phones`` with silence."""
    out: list[TimedPhone] = []
    at = 0.0
    for p in phones:
        if p.start_ms > at + 1e-6:
            out.append(TimedPhone(phone=SILENCE, start_ms=round(at, 3), end_ms=p.start_ms))
        out.append(p)
        at = p.end_ms
    if duration_ms > at + 1e-6:
        out.append(TimedPhone(phone=SILENCE, start_ms=round(at, 3), end_ms=round(duration_ms, 3)))
    return tuple(out)


def estimate_track(text: str, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE) -> LipSyncTrack:
    """A track for ``text`` without synthesis: dictionary phones at class durations."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    words = phonemize(text, voice)
    nominal = _nominal([w for w in words if w.phones], rate)
    speech = sum(s + p for s, p in nominal) - (nominal[-1][1] if nominal else 0.0)
    edge = EDGE_SILENCE_MS * DEFAULT_RATE / rate
    duration = round(speech + 2 * edge, 3) if speech > 0 else 0.0
    phones, timed = layout_words(words, edge, edge + speech, rate)
    return LipSyncTrack(
        duration_ms=duration, phones=fill_silence(phones, duration), words=tuple(timed)
    )


Fitter = Callable[
    [Sequence[PhonemizedWord], float, float], tuple[list[TimedPhone], list[TimedWord]]
]


def _proportional(
    words: Sequence[PhonemizedWord], start_ms: float, end_ms: float
) -> tuple[list[TimedPhone], list[TimedWord]]:
    return layout_words(words, start_ms, end_ms, pauses=False)  # the audio has the pauses


def assign_words_to_segments(
    words: Sequence[PhonemizedWord],
    segments: Sequence[tuple[float, float]],
) -> list[list[PhonemizedWord]]:
    """The words spoken in each voiced segment: each pause between segments goes to the word
    boundary nearest to it in nominal time (monotonic), so no word straddles a silence."""
    spoken = [w for w in words if w.phones]
    if not segments:
        return []
    if not spoken:
        return [[] for _ in segments]
    nominal = [s for s, _ in _nominal(spoken, DEFAULT_RATE)]
    voiced_total = sum(e - s for s, e in segments)
    scale = voiced_total / sum(nominal)
    bounds = [0.0]  # cumulative nominal word boundaries, in voiced time
    for d in nominal:
        bounds.append(bounds[-1] + d * scale)
    cuts = [0]
    voiced_before = 0.0
    for s, e in segments[:-1]:
        voiced_before += e - s
        cuts.append(min(range(cuts[-1], len(bounds)), key=lambda k: abs(bounds[k] - voiced_before)))
    cuts.append(len(spoken))
    return [spoken[lo:hi] for lo, hi in itertools.pairwise(cuts)]


def align_words_to_segments(
    words: Sequence[PhonemizedWord],
    segments: Sequence[tuple[float, float]],
    duration_ms: float,
    fit: Fitter = _proportional,
) -> LipSyncTrack:
    """Spread a transcript over voiced ``segments`` (start, end ms) of audio.

    Words go to segments by :func:`assign_words_to_segments`; within a segment ``fit`` places
    them (by default in proportion to their phone classes).
    """
    segs = [(s, e) for s, e in segments if e > s]
    phones: list[TimedPhone] = []
    timed: list[TimedWord] = []
    for (s, e), group in zip(segs, assign_words_to_segments(words, segs), strict=True):
        if group:
            p, w = fit(group, s, e)
            phones += p
            timed += w
    return LipSyncTrack(
        duration_ms=duration_ms, phones=fill_silence(phones, duration_ms), words=tuple(timed)
    )

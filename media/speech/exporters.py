"""Exports of the canonical lip-sync track into the formats players and engines read.

All exports are computed on demand from one :class:`LipSyncTrack`, so a stored utterance can be
served in any format later. Times follow each format's own convention: TalkingHead and Azure
(``offsetMs``) in ms, Azure ``audioOffset`` in 100-ns ticks, Polly in integer ms, Rhubarb in
seconds with two decimals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from events.speech import LipSyncTrack
from media.speech.arkit import to_arkit
from media.speech.errors import InvalidSpeechInput
from media.speech.visemes import (
    SILENCE,
    phone_to_azure,
    phone_to_oculus,
    phone_to_polly,
    phone_to_rhubarb,
)

Cue = tuple[Any, float, float]  # (value, start ms, end ms)


class OculusExport(TypedDict):
    """The lip-sync fields of TalkingHead's ``speakAudio`` (times in ms)."""

    visemes: list[str]
    vtimes: list[float]
    vdurations: list[float]
    words: list[str]
    wtimes: list[float]
    wdurations: list[float]


class AzureViseme(TypedDict):
    """One Azure ``VisemeReceived`` event."""

    visemeId: int
    audioOffset: int  # 100-ns ticks
    offsetMs: float  # the same instant in ms


class PollyMark(TypedDict):
    """One Amazon Polly speech mark; ``start``/``end`` (UTF-8 byte offsets) on words only."""

    time: int
    type: str
    value: str
    start: NotRequired[int]
    end: NotRequired[int]


class RhubarbCue(TypedDict):
    start: float
    end: float
    value: str


class RhubarbMetadata(TypedDict):
    soundFile: str
    duration: float


class RhubarbExport(TypedDict):
    """Rhubarb Lip Sync's JSON output (times in seconds)."""

    metadata: RhubarbMetadata
    mouthCues: list[RhubarbCue]


def _runs(track: LipSyncTrack, mapper: Callable[[str], Any]) -> list[Cue]:
    """Consecutive phones with the same mapped value merged into one cue."""
    cues: list[Cue] = []
    for p in track.phones:
        if p.end_ms <= p.start_ms:
            continue
        value = mapper(p.phone)
        if cues and cues[-1][0] == value and abs(cues[-1][2] - p.start_ms) < 1e-6:
            cues[-1] = (value, cues[-1][1], p.end_ms)
        else:
            cues.append((value, p.start_ms, p.end_ms))
    return cues


def _fill(cues: list[Cue], duration_ms: float, rest: Any) -> list[Cue]:
    """Cover [0, duration] without gaps: silence where the track has no phone."""
    out: list[Cue] = []
    at = 0.0
    for value, start, end in cues:
        if start > at:
            out.append((rest, at, start))
        out.append((value, max(start, at), end))
        at = max(at, end)
    if duration_ms > at:
        out.append((rest, at, duration_ms))
    merged: list[Cue] = []
    for cue in out:
        if merged and merged[-1][0] == cue[0]:
            merged[-1] = (cue[0], merged[-1][1], cue[2])
        elif cue[2] > cue[1]:
            merged.append(cue)
    return merged


def oculus_cues(track: LipSyncTrack) -> list[Cue]:
    """(Oculus viseme, start, end) runs, silence included."""
    return _runs(track, phone_to_oculus)


def to_oculus(track: LipSyncTrack, include_silence: bool = False) -> OculusExport:
    """TalkingHead ``speakAudio`` fields: visemes/vtimes/vdurations and words/wtimes/wdurations
    in ms. Silence is left out by default, as TalkingHead's own lip-sync does (gap = rest)."""
    cues = [c for c in oculus_cues(track) if include_silence or c[0] != SILENCE]
    return {
        "visemes": [c[0] for c in cues],
        "vtimes": [round(c[1], 1) for c in cues],
        "vdurations": [round(c[2] - c[1], 1) for c in cues],
        "words": [w.word for w in track.words],
        "wtimes": [round(w.start_ms, 1) for w in track.words],
        "wdurations": [round(w.end_ms - w.start_ms, 1) for w in track.words],
    }


def to_azure(track: LipSyncTrack) -> list[AzureViseme]:
    """Azure ``VisemeReceived`` events: ``visemeId`` 0..21, ``audioOffset`` in 100-ns ticks
    (as the Speech SDK reports it) and ``offsetMs``; starts and ends with silence (0)."""
    cues = _fill(_runs(track, phone_to_azure), track.duration_ms, 0)
    if cues and cues[0][0] != 0:  # Azure always opens with silence at offset 0
        cues.insert(0, (0, 0.0, 0.0))
    events: list[AzureViseme] = [
        {"visemeId": int(v), "audioOffset": round(start * 10_000), "offsetMs": round(start, 1)}
        for v, start, _ in cues
    ]
    if not events or events[-1]["visemeId"] != 0:
        events.append(
            {
                "visemeId": 0,
                "audioOffset": round(track.duration_ms * 10_000),
                "offsetMs": round(track.duration_ms, 1),
            }
        )
    return events


def _byte_spans(words: list[str], text: str | None) -> list[tuple[int, int]]:
    """UTF-8 byte offsets of each word in ``text`` (or in the words joined by spaces)."""
    source = text if text is not None else " ".join(words)
    lowered = source.lower()
    spans: list[tuple[int, int]] = []
    at = 0
    for word in words:
        found = lowered.find(word.lower(), at)
        if found < 0:  # normalised away ("42" -> "forty"): point at the current position
            found = at
            length = 0
        else:
            length = len(word)
        start = len(source[:found].encode())
        spans.append((start, start + len(source[found : found + length].encode())))
        at = found + length
    return spans


def to_polly(track: LipSyncTrack, text: str | None = None) -> list[PollyMark]:
    """Amazon Polly speech marks: ``{"time", "type": "word"|"viseme", "value"}``, words with
    byte ``start``/``end`` in ``text``; time-ordered, a word before the visemes it starts."""
    marks: list[tuple[int, int, PollyMark]] = []
    spans = _byte_spans([w.word for w in track.words], text)
    for w, (start, end) in zip(track.words, spans, strict=True):
        ms = round(w.start_ms)
        marks.append(
            (ms, 0, {"time": ms, "type": "word", "start": start, "end": end, "value": w.word})
        )
    for value, start_ms, _ in _runs(track, phone_to_polly):
        ms = round(start_ms)
        marks.append((ms, 1, {"time": ms, "type": "viseme", "value": value}))
    marks.sort(key=lambda m: (m[0], m[1]))
    return [m[2] for m in marks]


def to_polly_jsonl(track: LipSyncTrack, text: str | None = None) -> str:
    """Polly speech marks as JSON lines, the way Polly's ``SpeechMarkTypes`` output arrives."""
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in to_polly(track, text))


def rhubarb_cues(track: LipSyncTrack) -> list[Cue]:
    """(shape, start s, end s) cues rounded to centiseconds, contiguous from 0 to the end."""
    cues = _fill(_runs(track, phone_to_rhubarb), track.duration_ms, "X")
    rounded: list[Cue] = []
    for value, start, end in cues:
        s, e = round(start / 1000.0, 2), round(end / 1000.0, 2)
        if rounded:
            s = rounded[-1][2]
        if e <= s:
            continue
        if rounded and rounded[-1][0] == value:
            rounded[-1] = (value, rounded[-1][1], e)
        else:
            rounded.append((value, s, e))
    return rounded


def to_rhubarb(track: LipSyncTrack, sound_file: str = "") -> RhubarbExport:
    """Rhubarb Lip Sync JSON: ``{"metadata": {...}, "mouthCues": [{start, end, value}]}``."""
    return {
        "metadata": {"soundFile": sound_file, "duration": round(track.duration_ms / 1000.0, 2)},
        "mouthCues": [{"start": s, "end": e, "value": v} for v, s, e in rhubarb_cues(track)],
    }


def to_rhubarb_tsv(track: LipSyncTrack) -> str:
    """Rhubarb TSV: ``start<TAB>shape`` a line, closed by the end time with ``X``."""
    cues = rhubarb_cues(track)
    lines = [f"{s:.2f}\t{v}" for v, s, _ in cues]
    if cues and cues[-1][0] != "X":
        lines.append(f"{cues[-1][2]:.2f}\tX")
    return "\n".join(lines) + "\n"


EXPORTERS: dict[str, Callable[[LipSyncTrack], object]] = {
    "oculus": to_oculus,
    "arkit": to_arkit,
    "azure": to_azure,
    "polly": to_polly,
    "polly_jsonl": to_polly_jsonl,
    "rhubarb": to_rhubarb,
    "rhubarb_tsv": to_rhubarb_tsv,
}
FORMATS: tuple[str, ...] = tuple(EXPORTERS)


def export(track: LipSyncTrack, fmt: str = "oculus") -> object:
    """The track in format ``fmt`` (one of :data:`FORMATS`): JSON-ready, or a string for the
    text formats (``rhubarb_tsv``, ``polly_jsonl``)."""
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise InvalidSpeechInput(
            f"unknown lip-sync format {fmt!r}; choose one of {FORMATS}"
        ) from None
    return exporter(track)

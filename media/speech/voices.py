"""The voices espeak-ng offers, and how a caller's voice string becomes one of them.

A voice string is a base voice, optionally followed by ``+variant``: ``"en-us"``, ``"en-gb"``,
``"English (America)"``, ``"gmw/en-US"``, ``"de+f3"``, ``"fr+Annie"``. The base matches, in this
order, an identifier, the last part of an identifier, a name, a language (the voice that ranks
it highest) or a language prefix (``"fr"`` -> ``fr-fr``). We resolve it ourselves against the
voice list instead of trusting ``espeak_SetVoiceByName``, which refuses ``en-gb`` and ``fr-fr``
and silently keeps the previous voice when ``SetVoiceByProperties`` finds nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from media.speech.errors import UnknownVoice
from media.speech.espeak import ENGINE, RawVoice

DEFAULT_VOICE = "en-us"
_GENDERS = {0: "unknown", 1: "male", 2: "female"}


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice that can speak: a base voice and an optional variant (timbre, gender)."""

    id: str  # the espeak identifier, e.g. "gmw/en-US"
    name: str  # e.g. "English (America)"
    language: str  # the language it ranks highest, e.g. "en-us"
    languages: tuple[str, ...]
    gender: str  # "male", "female" or "unknown"
    variant: str = ""  # e.g. "f3"; "" for the base voice

    @property
    def espeak_name(self) -> str:
        """What ``espeak_SetVoiceByName`` loads: ``identifier[+variant]``."""
        return f"{self.id}+{self.variant}" if self.variant else self.id

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "language": self.language,
            "languages": list(self.languages),
            "gender": self.gender,
            "variant": self.variant or None,
        }


def _voice(raw: RawVoice) -> Voice:
    languages = tuple(lang for _, lang in raw.languages)
    return Voice(
        raw.identifier,
        raw.name,
        languages[0] if languages else "",
        languages,
        _GENDERS.get(raw.gender, "unknown"),
    )


def list_voices() -> list[Voice]:
    """Every base voice with its languages and gender (espeak's voices are mostly male)."""
    return [_voice(raw) for raw in ENGINE.voices()]


def list_variants() -> list[Voice]:
    """Voice variants (append ``+id`` to a voice); ``id`` is the short name, e.g. ``f3``."""
    out = []
    for raw in ENGINE.variants():
        short = raw.identifier.rsplit("/", 1)[-1]
        out.append(Voice(short, raw.name, "", (), _GENDERS.get(raw.gender, "unknown")))
    return out


def _rank(raw: RawVoice, wanted: str, prefix: bool) -> int | None:
    """The priority with which ``raw`` speaks ``wanted`` (lower is better), or None."""
    ranks = [
        priority
        for priority, lang in raw.languages
        if lang.lower() == wanted or (prefix and lang.lower().startswith(wanted + "-"))
    ]
    return min(ranks) if ranks else None


def _identifier(voice: RawVoice) -> str:
    return voice.identifier.lower()


def _short_id(voice: RawVoice) -> str:
    return voice.identifier.rsplit("/", 1)[-1].lower()


def _name(voice: RawVoice) -> str:
    return voice.name.lower()


def _find_base(spec: str, voices: tuple[RawVoice, ...]) -> RawVoice | None:
    wanted = spec.strip().lower()
    for key in (_identifier, _short_id, _name):
        found = next((v for v in voices if key(v) == wanted), None)
        if found is not None:
            return found
    for prefix in (False, True):
        ranked = [
            (rank, i)
            for i, v in enumerate(voices)
            if (rank := _rank(v, wanted, prefix)) is not None
        ]
        if ranked:
            return voices[min(ranked)[1]]
    return None


def _find_variant(spec: str, variants: tuple[RawVoice, ...]) -> RawVoice | None:
    wanted = spec.strip().lower()
    return next(
        (
            v
            for v in variants
            if wanted in (v.identifier.rsplit("/", 1)[-1].lower(), v.name.lower())
        ),
        None,
    )


@functools.lru_cache(maxsize=512)
def resolve_voice(spec: str = DEFAULT_VOICE) -> Voice:
    """The voice a caller's string names; :class:`UnknownVoice` if none matches."""
    base_spec, _, variant_spec = spec.partition("+")
    if not base_spec.strip():
        raise UnknownVoice(spec)
    raw = _find_base(base_spec, ENGINE.voices())
    if raw is None:
        raise UnknownVoice(spec)
    voice = _voice(raw)
    if not variant_spec:
        return voice
    variant = _find_variant(variant_spec, ENGINE.variants())
    if variant is None:
        raise UnknownVoice(spec)
    return Voice(
        voice.id,
        voice.name,
        voice.language,
        voice.languages,
        _GENDERS.get(variant.gender, "unknown"),
        variant.identifier.rsplit("/", 1)[-1],
    )

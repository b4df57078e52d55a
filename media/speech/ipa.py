"""IPA (as espeak-ng writes it) to ARPAbet, for every language.

espeak-ng reports phonemes in IPA when asked, whatever the voice, so one table serves English,
German, French, Spanish... Sounds that English lacks map to the ARPAbet phone whose mouth shape
is closest (lip rounding and jaw opening matter for lip-sync, not the exact sound): the front
rounded vowels /y ø/ go to rounded UW/OW, uvular /ʁ/ to R, the Spanish approximant /β/ to B.
A symbol may stand for several phones (``ɛɹ`` -> EH R, ``ts`` -> T S).
"""

# ruff: noqa: RUF001 - IPA letters that look like Latin ones are the point of this table
from __future__ import annotations

from types import MappingProxyType
from typing import Final

# Marks that do not change the mouth shape: stress, length, syllabicity, aspiration, nasality...
_DIACRITICS: Final = frozenset("ˈˌːˑ-#ʰʲʷ̩̯̥̪̃̊͡‿'!,.%=_|")

_UNITS: Final = MappingProxyType(
    {
        # diphthongs and affricates first (longest match wins)
        "aɪə": ("AY", "AH"),
        "aʊə": ("AW", "AH"),
        "aɪ": ("AY",),
        "aʊ": ("AW",),
        "eɪ": ("EY",),
        "oʊ": ("OW",),
        "əʊ": ("OW",),
        "ɔɪ": ("OY",),
        "ɔʏ": ("OY",),
        "ɔø": ("OY",),
        "ɪə": ("IH", "AH"),
        "eə": ("EH", "AH"),
        "ʊə": ("UH", "AH"),
        "ɛə": ("EH", "AH"),
        "aɛ": ("AY",),
        "ao": ("AW",),
        "ɑɪ": ("AY",),
        "tʃ": ("CH",),
        "dʒ": ("JH",),
        "ts": ("T", "S"),
        "dz": ("D", "Z"),
        "pf": ("P", "F"),
        "ɑ": ("AA",),
        "a": ("AA",),
        "ä": ("AA",),
        "ɒ": ("AO",),
        "æ": ("AE",),
        "ʌ": ("AH",),
        "ɐ": ("AH",),
        "ə": ("AH",),
        "ɘ": ("AH",),
        "ɵ": ("AH",),
        "ɔ": ("AO",),
        "œ": ("AO",),
        "ɶ": ("AO",),
        "ɛ": ("EH",),
        "e": ("EY",),
        "ɜ": ("ER",),
        "ɚ": ("ER",),
        "ɝ": ("ER",),
        "ɪ": ("IH",),
        "ɨ": ("IH",),
        "i": ("IY",),
        "ɯ": ("UW",),
        "y": ("UW",),
        "ʏ": ("UH",),
        "ø": ("OW",),
        "o": ("OW",),
        "ʊ": ("UH",),
        "u": ("UW",),
        "ɤ": ("AH",),
        "p": ("P",),
        "b": ("B",),
        "m": ("M",),
        "ɱ": ("M",),
        "β": ("B",),
        "ɸ": ("F",),
        "f": ("F",),
        "v": ("V",),
        "ʋ": ("V",),
        "θ": ("TH",),
        "ð": ("DH",),
        "t": ("T",),
        "d": ("D",),
        "ɾ": ("D",),
        "ɗ": ("D",),
        "ʈ": ("T",),
        "ɖ": ("D",),
        "n": ("N",),
        "ɲ": ("N", "Y"),
        "ɳ": ("N",),
        "ŋ": ("NG",),
        "ɴ": ("NG",),
        "k": ("K",),
        "g": ("G",),
        "ɡ": ("G",),
        "q": ("K",),
        "c": ("K",),
        "ɟ": ("G",),
        "ɣ": ("G",),
        "x": ("HH",),
        "χ": ("HH",),
        "ç": ("HH",),
        "h": ("HH",),
        "ɦ": ("HH",),
        "ħ": ("HH",),
        "ʔ": ("sil",),
        "s": ("S",),
        "z": ("Z",),
        "ʃ": ("SH",),
        "ʒ": ("ZH",),
        "ɕ": ("SH",),
        "ʑ": ("ZH",),
        "ʂ": ("SH",),
        "ʐ": ("ZH",),
        "l": ("L",),
        "ɫ": ("L",),
        "ɬ": ("L",),
        "ʎ": ("L", "Y"),
        "ɭ": ("L",),
        "ɹ": ("R",),
        "r": ("R",),
        "ʁ": ("R",),
        "ʀ": ("R",),
        "ɻ": ("R",),
        "ɽ": ("R",),
        "j": ("Y",),
        "ʝ": ("Y",),
        "w": ("W",),
        "ɥ": ("W",),
        "ʍ": ("W",),
        "ɰ": ("W",),
    }
)
_LONGEST: Final = max(len(k) for k in _UNITS)


def ipa_to_arpabet(symbol: str) -> tuple[str, ...]:
    """The ARPAbet phones of one espeak IPA phoneme; ``()`` for a pause or unknown symbol."""
    text = "".join(ch for ch in symbol if ch not in _DIACRITICS)
    phones: list[str] = []
    i = 0
    while i < len(text):
        for size in range(min(_LONGEST, len(text) - i), 0, -1):
            unit = _UNITS.get(text[i : i + size])
            if unit is not None:
                phones.extend(unit)
                i += size
                break
        else:
            i += 1  # a symbol with no mouth shape of its own: skip it
    return tuple(phones)

"""English text normalisation for phonemes without audio: numbers, symbols, abbreviations.

espeak normalises by itself when it speaks; this is for the dictionary path (CMU has no entry
for "42" or "Dr."), so the estimated phones match what espeak would say. Deliberately small:
cardinals, ordinals, decimals, currency, percent, clock times and a table of abbreviations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

ABBREVIATIONS: dict[str, str] = {
    "dr.": "doctor",
    "mr.": "mister",
    "mrs.": "missus",
    "ms.": "miz",
    "prof.": "professor",
    "jr.": "junior",
    "sr.": "senior",
    "st.": "street",
    "mt.": "mount",
    "ave.": "avenue",
    "rd.": "road",
    "blvd.": "boulevard",
    "etc.": "et cetera",
    "vs.": "versus",
    "e.g.": "for example",
    "i.e.": "that is",
    "approx.": "approximately",
    "no.": "number",
    "inc.": "incorporated",
    "ltd.": "limited",
    "co.": "company",
    "corp.": "corporation",
    "dept.": "department",
    "min.": "minutes",
    "hr.": "hour",
    "hrs.": "hours",
    "gov.": "governor",
    "gen.": "general",
    "capt.": "captain",
    "sgt.": "sergeant",
    "jan.": "january",
    "feb.": "february",
    "mar.": "march",
    "apr.": "april",
    "aug.": "august",
    "sept.": "september",
    "sep.": "september",
    "oct.": "october",
    "nov.": "november",
    "dec.": "december",
    "a.m.": "a m",
    "p.m.": "p m",
    "u.s.": "u s",
    "u.k.": "u k",
}
_SYMBOLS = {
    "&": " and ",
    "%": " percent ",
    "+": " plus ",
    "=": " equals ",
    "@": " at ",
    "#": " number ",
    "°": " degrees ",
}
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
}

_ABBREV_RE = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_SAINT_RE = re.compile(r"(?<![\w.])St\.\s+(?=[A-Z])")
_CURRENCY_RE = re.compile(r"([$€£])\s?(\d[\d,]*)(?:\.(\d{1,2}))?\b")
_TIME_RE = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"(?<![\w.])(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\w)")
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|[.!?;:,]")
_TOKEN_WITH_DIGITS_RE = re.compile(r"[^\W_]+(?:['\u2019.,][^\W_]+)*|[.!?;:,]")


def number_to_words(n: int) -> str:
    """``1234`` -> ``"one thousand two hundred thirty-four"``; negatives say "minus"."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{number_to_words(high)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def ordinal_to_words(n: int) -> str:
    """``21`` -> ``"twenty-first"``."""
    words = number_to_words(n)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + last


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _number(match: re.Match[str]) -> str:
    sign, whole, frac = match.group(1), match.group(2), match.group(3)
    if len(whole.replace(",", "")) > 15:
        return " " + _digits(whole.replace(",", "")) + " "
    words = number_to_words(int(whole.replace(",", "")))
    if frac:
        words += " point " + _digits(frac)
    return f" {'minus ' if sign else ''}{words} "


def _currency(match: re.Match[str]) -> str:
    one, many, cent, cents = _CURRENCIES[match.group(1)]
    amount = int(match.group(2).replace(",", ""))
    out = f"{number_to_words(amount)} {one if amount == 1 else many}"
    if match.group(3):
        sub = int(match.group(3).ljust(2, "0"))
        if sub:
            out += f" and {number_to_words(sub)} {cent if sub == 1 else cents}"
    return f" {out} "


def _time(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f" {number_to_words(hours)} o'clock "
    tail = f"oh {_ONES[minutes]}" if minutes < 10 else number_to_words(minutes)
    return f" {number_to_words(hours)} {tail} "


def normalize_text(text: str) -> str:
    """Spell out what a pronouncing dictionary cannot look up (English)."""
    text = _SAINT_RE.sub("saint ", text)  # "St. Louis"; any other "St." is a street
    text = _ABBREV_RE.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)
    text = _CURRENCY_RE.sub(_currency, text)
    text = _TIME_RE.sub(_time, text)
    text = _ORDINAL_RE.sub(lambda m: " " + ordinal_to_words(int(m.group(1))) + " ", text)
    text = _NUMBER_RE.sub(_number, text)
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r" ([.,!?;:])", r"\1", text).strip()


@dataclass(frozen=True, slots=True)
class Token:
    """A word to pronounce and the punctuation that follows it (for pauses)."""

    word: str
    punctuation: str = ""


def tokenize(text: str, digits: bool = False) -> list[Token]:
    """Words (letters and inner apostrophes; hyphens split) with their trailing punctuation.
    With ``digits``, numbers are words too (for espeak, which reads them in any language)."""
    tokens: list[Token] = []
    pattern = _TOKEN_WITH_DIGITS_RE if digits else _TOKEN_RE
    for piece in pattern.findall(text.replace("-", " ")):
        if piece in ".!?;:,":
            if tokens and not tokens[-1].punctuation:
                tokens[-1] = Token(tokens[-1].word, piece)
        else:
            tokens.append(Token(piece.replace("\u2019", "'")))
    return tokens

"""Phonemes without audio: CMU lookup, espeak fallback, IPA mapping, text normalisation."""

# ruff: noqa: RUF001 - IPA letters that look like Latin ones are the point here
from __future__ import annotations

import pytest

from media.speech.ipa import ipa_to_arpabet
from media.speech.normalize import (
    Token,
    normalize_text,
    number_to_words,
    ordinal_to_words,
    tokenize,
)
from media.speech.phonemes import cmu_lookup, espeak_phones, phonemize, phonemize_word
from media.speech.visemes import ARPABET_PHONES

pytestmark = pytest.mark.timeout(60)


def test_cmu_lookup_strips_stress_and_is_case_insensitive() -> None:
    assert cmu_lookup("hello") == ("HH", "AH", "L", "OW")
    assert cmu_lookup("Interview") == ("IH", "N", "T", "ER", "V", "Y", "UW")
    assert cmu_lookup("blorptastic") is None


def test_made_up_word_falls_back_to_espeak() -> None:
    phones, source = phonemize_word("blorptastic")
    assert source == "espeak"
    assert phones[:3] == ("B", "L", "AO")
    assert {"P", "T", "S", "K"} <= set(phones)
    assert set(phones) <= set(ARPABET_PHONES)
    assert phonemize_word("table") == (("T", "EY", "B", "AH", "L"), "cmu")


def test_non_english_voices_use_espeak_rules() -> None:
    words = phonemize("Guten Tag, 42 Leute", "de")
    assert [w.source for w in words] == ["espeak"] * 4
    assert words[2].word == "42" and len(words[2].phones) >= 8  # zweiundvierzig
    assert words[0].phones[0] == "G" and "T" in words[1].phones
    assert espeak_phones("bonjour", "fr")[0] == "B"


def test_phonemize_normalises_before_lookup() -> None:
    words = phonemize("Dr. Smith paid $42.50, didn't he?")
    assert [w.word for w in words] == [
        "doctor",
        "Smith",
        "paid",
        "forty",
        "two",
        "dollars",
        "and",
        "fifty",
        "cents",
        "didn't",
        "he",
    ]
    assert all(w.source == "cmu" for w in words)
    assert words[8].punctuation == ","
    assert words[-1].punctuation == "?"


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (115, "one hundred fifteen"),
        (2024, "two thousand twenty-four"),
        (1_000_001, "one million one"),
        (-3, "minus three"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (103, "one hundred third"),
    ],
)
def test_ordinals(n: int, words: str) -> None:
    assert ordinal_to_words(n) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have 2 cats.", "I have two cats."),
        ("It costs $1,250.", "It costs one thousand two hundred fifty dollars."),
        ("Pi is 3.14", "Pi is three point one four"),
        ("on the 21st", "on the twenty-first"),
        ("at 9:05", "at nine oh five"),
        ("50% off", "fifty percent off"),
        ("Mr. and Mrs. Jones, Dr. Who", "mister and missus Jones, doctor Who"),
        ("Elm St. near St. Louis", "Elm street near saint Louis"),
        ("apples, pears, etc.", "apples, pears, et cetera"),
        ("cats & dogs", "cats and dogs"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_tokenize_keeps_punctuation_for_pauses() -> None:
    assert tokenize("Well, twenty-one... isn't it?") == [
        Token("Well", ","),
        Token("twenty"),
        Token("one", "."),
        Token("isn't"),
        Token("it", "?"),
    ]


@pytest.mark.parametrize(
    ("ipa", "phones"),
    [
        ("ˈaɪ", ("AY",)),
        ("tʃ", ("CH",)),
        ("ˈɛɹ", ("EH", "R")),
        ("ɔ̃", ("AO",)),
        ("ʁ", ("R",)),
        ("ts", ("T", "S")),
        ("", ()),
        ("ə-", ("AH",)),
        ("ˌoʊ", ("OW",)),
    ],
)
def test_ipa_to_arpabet(ipa: str, phones: tuple[str, ...]) -> None:
    assert ipa_to_arpabet(ipa) == phones

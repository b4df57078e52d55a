"""Viseme tables: complete over the phone set, valid values, closed mouth for P/B/M."""

from __future__ import annotations

import json

import pytest

from media.speech.visemes import (
    ARKIT_MOUTH_SHAPES,
    ARPABET_PHONES,
    AZURE_VISEMES,
    OCULUS_ARKIT,
    OCULUS_VISEMES,
    PHONE_TO_AZURE,
    PHONE_TO_OCULUS,
    PHONE_TO_RHUBARB,
    POLLY_VISEMES,
    RHUBARB_SHAPES,
    normalize_phone,
    phone_to_azure,
    phone_to_oculus,
    phone_to_polly,
    phone_to_rhubarb,
    viseme_sets,
)

pytestmark = pytest.mark.timeout(60)


def test_oculus_set_is_metas_fifteen() -> None:
    assert OCULUS_VISEMES == (
        "sil",
        "PP",
        "FF",
        "TH",
        "DD",
        "kk",
        "CH",
        "SS",
        "nn",
        "RR",
        "aa",
        "E",
        "I",
        "O",
        "U",
    )


@pytest.mark.parametrize(
    "table", [PHONE_TO_OCULUS, PHONE_TO_AZURE, PHONE_TO_RHUBARB, POLLY_VISEMES]
)
def test_every_phone_is_mapped(table: object) -> None:
    assert isinstance(table, type(PHONE_TO_OCULUS))
    assert set(table) == set(ARPABET_PHONES)


def test_mapped_values_belong_to_their_sets() -> None:
    assert set(PHONE_TO_OCULUS.values()) == set(OCULUS_VISEMES)
    assert set(PHONE_TO_AZURE.values()) == set(AZURE_VISEMES) == set(range(22))
    assert set(PHONE_TO_RHUBARB.values()) <= set(RHUBARB_SHAPES) == set("ABCDEFGHX")


@pytest.mark.parametrize("phone", ["P", "B", "M", "p", "B1", "m"])
def test_bilabials_close_the_mouth_in_every_set(phone: str) -> None:
    assert phone_to_oculus(phone) == "PP"
    assert phone_to_azure(phone) == 21
    assert phone_to_rhubarb(phone) == "A"
    assert phone_to_polly(phone) == "p"


def test_arkit_poses_are_complete_and_in_range() -> None:
    assert set(OCULUS_ARKIT) == set(OCULUS_VISEMES)
    for pose in OCULUS_ARKIT.values():
        assert set(pose) == set(ARKIT_MOUTH_SHAPES)
        assert all(0.0 <= w <= 1.0 for w in pose.values())


def test_pp_is_sealed_and_sil_relaxed() -> None:
    pp, sil, aa = OCULUS_ARKIT["PP"], OCULUS_ARKIT["sil"], OCULUS_ARKIT["aa"]
    assert pp["jawOpen"] <= 0.02
    assert pp["mouthClose"] >= 0.6
    assert pp["mouthPressLeft"] >= 0.5 and pp["mouthPressRight"] >= 0.5
    assert sil["jawOpen"] <= 0.02 and max(sil.values()) <= 0.1
    assert aa["jawOpen"] >= 0.5 > OCULUS_ARKIT["SS"]["jawOpen"]
    assert OCULUS_ARKIT["U"]["mouthPucker"] >= 0.5


def test_unknown_and_stressed_phones() -> None:
    assert normalize_phone("AA1") == "AA"
    assert normalize_phone("") == normalize_phone("pau") == "sil"
    assert phone_to_oculus("QX") == "sil"
    assert phone_to_azure("QX") == 0
    assert phone_to_rhubarb("QX") == "X"


def test_viseme_sets_is_json_ready() -> None:
    sets = viseme_sets()
    decoded = json.loads(json.dumps(sets))
    assert set(decoded) >= {"phones", "oculus", "azure", "rhubarb", "polly", "arkit"}
    assert decoded["oculus"]["phone_to_viseme"]["B"] == "PP"
    assert decoded["azure"]["phone_to_viseme"]["M"] == 21

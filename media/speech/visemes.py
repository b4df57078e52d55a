"""Viseme sets and the tables that map ARPAbet phones onto them.

Tables, not code: every exporter and the animation sampler read the same mappings, so a mouth
shape is decided in one place. Phones are ARPAbet without stress digits plus ``sil`` (the
alphabet of :class:`events.speech.TimedPhone`). Unknown phones map to the silent/rest shape of
each set rather than raising, because espeak and client transcripts can carry odd symbols and a
missing mouth shape is better than a failed utterance.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

SILENCE: Final = "sil"

#: ARPAbet phones (CMU dictionary set, no stress) plus ``sil``.
ARPABET_PHONES: tuple[str, ...] = (
    "sil",
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "EH",
    "ER",
    "EY",
    "IH",
    "IY",
    "OW",
    "OY",
    "UH",
    "UW",
    "B",
    "CH",
    "D",
    "DH",
    "F",
    "G",
    "HH",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)

VOWELS: frozenset[str] = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)

#: The 15 Oculus (Meta) visemes, in Meta's order; TalkingHead uses the same names.
OCULUS_VISEMES: tuple[str, ...] = (
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

PHONE_TO_OCULUS: MappingProxyType[str, str] = MappingProxyType(
    {
        "sil": "sil",
        "P": "PP",
        "B": "PP",
        "M": "PP",
        "F": "FF",
        "V": "FF",
        "TH": "TH",
        "DH": "TH",
        "T": "DD",
        "D": "DD",
        "K": "kk",
        "G": "kk",
        "HH": "kk",
        "CH": "CH",
        "JH": "CH",
        "SH": "CH",
        "ZH": "CH",
        "S": "SS",
        "Z": "SS",
        "N": "nn",
        "NG": "nn",
        "L": "nn",
        "R": "RR",
        "ER": "RR",
        "AA": "aa",
        "AE": "aa",
        "AH": "aa",
        "AW": "aa",
        "AY": "aa",
        "EH": "E",
        "EY": "E",
        "IH": "I",
        "IY": "I",
        "Y": "I",
        "AO": "O",
        "OW": "O",
        "OY": "O",
        "UH": "U",
        "UW": "U",
        "W": "U",
    }
)

#: Azure Speech viseme ids (en-US table of the Azure docs) and what each shows.
AZURE_VISEMES: MappingProxyType[int, str] = MappingProxyType(
    {
        0: "silence",
        1: "ae ax ah",
        2: "aa",
        3: "ao",
        4: "ey eh uh",
        5: "er",
        6: "y iy ih ix",
        7: "w uw",
        8: "ow",
        9: "aw",
        10: "oy",
        11: "ay",
        12: "h",
        13: "r",
        14: "l",
        15: "s z",
        16: "sh ch jh zh",
        17: "th (voiced, dh)",
        18: "f v",
        19: "d t n th",
        20: "k g ng",
        21: "p b m",
    }
)

PHONE_TO_AZURE: MappingProxyType[str, int] = MappingProxyType(
    {
        "sil": 0,
        "AE": 1,
        "AH": 1,
        "AA": 2,
        "AO": 3,
        "EY": 4,
        "EH": 4,
        "UH": 4,
        "ER": 5,
        "Y": 6,
        "IY": 6,
        "IH": 6,
        "W": 7,
        "UW": 7,
        "OW": 8,
        "AW": 9,
        "OY": 10,
        "AY": 11,
        "HH": 12,
        "R": 13,
        "L": 14,
        "S": 15,
        "Z": 15,
        "SH": 16,
        "CH": 16,
        "JH": 16,
        "ZH": 16,
        "DH": 17,
        "F": 18,
        "V": 18,
        "D": 19,
        "T": 19,
        "N": 19,
        "TH": 19,
        "K": 20,
        "G": 20,
        "NG": 20,
        "P": 21,
        "B": 21,
        "M": 21,
    }
)

#: Rhubarb Lip Sync mouth shapes (Preston Blair style), A-H plus X for idle.
RHUBARB_SHAPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "A": "closed mouth (P, B, M)",
        "B": "slightly open, clenched teeth (most consonants, EE)",
        "C": "open mouth (EH, AE, AH)",
        "D": "wide open (AA)",
        "E": "slightly rounded (AO, ER)",
        "F": "puckered (UW, OW, W)",
        "G": "upper teeth on lower lip (F, V)",
        "H": "tongue raised (long L)",
        "X": "idle, mouth at rest",
    }
)

PHONE_TO_RHUBARB: MappingProxyType[str, str] = MappingProxyType(
    {
        "sil": "X",
        "P": "A",
        "B": "A",
        "M": "A",
        "F": "G",
        "V": "G",
        "L": "H",
        "AA": "D",
        "AW": "D",
        "AY": "D",
        "AE": "C",
        "AH": "C",
        "EH": "C",
        "EY": "C",
        "AO": "E",
        "ER": "E",
        "OY": "E",
        "UH": "E",
        "R": "E",
        "UW": "F",
        "OW": "F",
        "W": "F",
        "IH": "B",
        "IY": "B",
        "Y": "B",
        "CH": "B",
        "JH": "B",
        "SH": "B",
        "ZH": "B",
        "S": "B",
        "Z": "B",
        "T": "B",
        "D": "B",
        "N": "B",
        "NG": "B",
        "K": "B",
        "G": "B",
        "HH": "B",
        "TH": "B",
        "DH": "B",
    }
)

#: Amazon Polly viseme symbols (its en-US table: p t S T f k i r s u @ a e E o O sil).
POLLY_VISEMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "sil": "sil",
        "P": "p",
        "B": "p",
        "M": "p",
        "T": "t",
        "D": "t",
        "N": "t",
        "L": "t",
        "CH": "S",
        "JH": "S",
        "SH": "S",
        "ZH": "S",
        "TH": "T",
        "DH": "T",
        "F": "f",
        "V": "f",
        "K": "k",
        "G": "k",
        "NG": "k",
        "HH": "k",
        "IY": "i",
        "IH": "i",
        "Y": "i",
        "R": "r",
        "ER": "r",
        "S": "s",
        "Z": "s",
        "UW": "u",
        "UH": "u",
        "W": "u",
        "AH": "@",
        "AA": "a",
        "AE": "a",
        "AW": "a",
        "AY": "a",
        "EY": "e",
        "EH": "E",
        "OW": "o",
        "AO": "O",
        "OY": "O",
    }
)


#: The ARKit blendshapes a viseme drives; every entry of :data:`OCULUS_ARKIT` has all of them.
ARKIT_MOUTH_SHAPES: tuple[str, ...] = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "tongueOut",
)


def _shape(**weights: float) -> dict[str, float]:
    """A full ARKit mouth pose; left/right pairs given once (``mouthSmile=0.2``) are mirrored."""
    pose = dict.fromkeys(ARKIT_MOUTH_SHAPES, 0.0)
    for name, value in weights.items():
        if name in pose:
            pose[name] = value
        else:
            pose[name + "Left"] = value
            pose[name + "Right"] = value
    if set(pose) != set(ARKIT_MOUTH_SHAPES):
        raise ValueError(f"unknown ARKit shapes: {sorted(set(pose) - set(ARKIT_MOUTH_SHAPES))}")
    return pose


#: Oculus viseme -> ARKit blendshape weights (0..1). Hand-tuned to read well on a 2D rig and
#: a stock ARKit head: PP seals the lips with the jaw shut, sil is a relaxed closed mouth.
OCULUS_ARKIT: dict[str, dict[str, float]] = {
    "sil": _shape(mouthClose=0.05),
    "PP": _shape(
        jawOpen=0.0, mouthClose=0.75, mouthPress=0.6, mouthRollLower=0.2, mouthRollUpper=0.1
    ),
    "FF": _shape(
        jawOpen=0.05, mouthClose=0.1, mouthRollLower=0.6, mouthUpperUp=0.3, mouthFunnel=0.05
    ),
    "TH": _shape(jawOpen=0.12, tongueOut=0.4, mouthStretch=0.1, mouthLowerDown=0.15),
    "DD": _shape(jawOpen=0.12, mouthStretch=0.15, mouthLowerDown=0.2, mouthUpperUp=0.1),
    "kk": _shape(jawOpen=0.15, mouthStretch=0.2, mouthLowerDown=0.15),
    "CH": _shape(
        jawOpen=0.1, mouthFunnel=0.45, mouthPucker=0.25, mouthUpperUp=0.3, mouthLowerDown=0.3
    ),
    "SS": _shape(
        jawOpen=0.05, mouthStretch=0.35, mouthSmile=0.2, mouthUpperUp=0.2, mouthLowerDown=0.2
    ),
    "nn": _shape(jawOpen=0.1, mouthStretch=0.1, mouthLowerDown=0.1, mouthUpperUp=0.05),
    "RR": _shape(jawOpen=0.25, mouthFunnel=0.3, mouthPucker=0.2),
    "aa": _shape(jawOpen=0.65, mouthLowerDown=0.3, mouthUpperUp=0.1, mouthStretch=0.1),
    "E": _shape(
        jawOpen=0.45, mouthStretch=0.35, mouthSmile=0.25, mouthLowerDown=0.25, mouthUpperUp=0.15
    ),
    "I": _shape(
        jawOpen=0.3, mouthStretch=0.3, mouthSmile=0.35, mouthUpperUp=0.1, mouthLowerDown=0.15
    ),
    "O": _shape(jawOpen=0.5, mouthFunnel=0.55, mouthPucker=0.25),
    "U": _shape(jawOpen=0.3, mouthPucker=0.7, mouthFunnel=0.35),
}

#: Visemes that must be reached fully whatever the neighbours (lips sealed or on the teeth);
#: coarticulation smoothing may not blend them away.
CRITICAL_VISEMES: frozenset[str] = frozenset({"PP", "FF"})


def normalize_phone(phone: str) -> str:
    """``"AA1"`` -> ``"AA"``, ``"SIL"``/``""``/``"pau"`` -> ``"sil"``; other text upper-cased."""
    p = phone.strip().rstrip("012")
    if not p or p.lower() in {"sil", "sp", "pau", "spn", "_"}:
        return SILENCE
    return p.upper()


def phone_to_oculus(phone: str) -> str:
    """The Oculus viseme of an ARPAbet phone (stress digits tolerated); unknown -> ``sil``."""
    return PHONE_TO_OCULUS.get(normalize_phone(phone), "sil")


def phone_to_azure(phone: str) -> int:
    """The Azure viseme id (0..21) of an ARPAbet phone; unknown -> 0 (silence)."""
    return PHONE_TO_AZURE.get(normalize_phone(phone), 0)


def phone_to_rhubarb(phone: str) -> str:
    """The Rhubarb mouth shape (A-H, X) of an ARPAbet phone; unknown -> ``X``."""
    return PHONE_TO_RHUBARB.get(normalize_phone(phone), "X")


def oculus_to_arkit(viseme: str) -> dict[str, float]:
    """A copy of the ARKit pose of an Oculus viseme; unknown -> the ``sil`` pose."""
    return dict(OCULUS_ARKIT.get(viseme, OCULUS_ARKIT["sil"]))


def viseme_sets() -> dict[str, object]:
    """Every viseme set and phone mapping, JSON-ready (the body of ``GET /visemes``)."""
    return {
        "phones": list(ARPABET_PHONES),
        "oculus": {
            "visemes": list(OCULUS_VISEMES),
            "phone_to_viseme": dict(PHONE_TO_OCULUS),
            "arkit": {k: dict(v) for k, v in OCULUS_ARKIT.items()},
        },
        "azure": {
            "visemes": {str(k): v for k, v in AZURE_VISEMES.items()},
            "phone_to_viseme": dict(PHONE_TO_AZURE),
        },
        "rhubarb": {
            "shapes": dict(RHUBARB_SHAPES),
            "phone_to_shape": dict(PHONE_TO_RHUBARB),
        },
        "polly": {
            "visemes": sorted(set(POLLY_VISEMES.values())),
            "phone_to_viseme": dict(POLLY_VISEMES),
        },
        "arkit": {"blendshapes": list(ARKIT_MOUTH_SHAPES)},
    }


def phone_to_polly(phone: str) -> str:
    """The Amazon Polly viseme symbol of an ARPAbet phone; unknown -> ``sil``."""
    return POLLY_VISEMES.get(normalize_phone(phone), "sil")

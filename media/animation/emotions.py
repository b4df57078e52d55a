"""Each emotion of :data:`events.avatar.EMOTIONS` as a face pose at full intensity.

The poses are additive offsets from a neutral face (blendshapes plus a little head pose and
gaze), so speech, blinks and animations layer on top of them; intensity scales them linearly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from events.avatar import EMOTIONS
from media.animation.params import FloatArray, vector


def _sym(**weights: float) -> dict[str, float]:
    """Expand ``mouthSmile=0.5`` into ``mouthSmileLeft``/``mouthSmileRight``; others unchanged."""
    out: dict[str, float] = {}
    for name, value in weights.items():
        if name in _PAIRED:
            out[name + "Left"] = value
            out[name + "Right"] = value
        else:
            out[name] = value
    return out


_PAIRED = frozenset(
    {
        "eyeBlink",
        "eyeSquint",
        "eyeWide",
        "mouthSmile",
        "mouthFrown",
        "mouthDimple",
        "mouthStretch",
        "mouthPress",
        "mouthLowerDown",
        "mouthUpperUp",
        "browDown",
        "browOuterUp",
        "cheekSquint",
        "noseSneer",
    }
)

#: Emotion -> channel values at intensity 1.
EMOTION_POSES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "neutral": {},
        "happy": _sym(
            mouthSmile=0.85,
            cheekSquint=0.55,
            eyeSquint=0.3,
            browOuterUp=0.15,
            mouthDimple=0.3,
            head_pitch=2.0,
        ),
        "sad": _sym(
            mouthFrown=0.75,
            browInnerUp=0.85,
            eyeBlink=0.22,
            mouthShrugLower=0.3,
            mouthPress=0.2,
            head_pitch=-5.0,
            gaze_y=-0.25,
        ),
        "surprised": _sym(
            browInnerUp=0.9,
            browOuterUp=0.9,
            eyeWide=0.85,
            jawOpen=0.3,
            mouthFunnel=0.25,
            head_pitch=3.0,
        ),
        "angry": _sym(
            browDown=0.95,
            eyeSquint=0.45,
            mouthFrown=0.45,
            mouthPress=0.55,
            noseSneer=0.45,
            head_pitch=-3.0,
        ),
        "fearful": _sym(
            browInnerUp=0.95,
            browOuterUp=0.35,
            eyeWide=0.8,
            mouthStretch=0.65,
            jawOpen=0.12,
            mouthFrown=0.25,
            head_pitch=-2.0,
        ),
        "disgusted": _sym(
            noseSneer=0.85,
            mouthUpperUp=0.55,
            browDown=0.5,
            eyeSquint=0.45,
            mouthFrown=0.45,
            cheekSquint=0.3,
            head_yaw=-4.0,
        ),
        "confused": {
            "browDownLeft": 0.6,
            "browOuterUpRight": 0.75,
            "browInnerUp": 0.2,
            "mouthLeft": 0.35,
            "mouthPressLeft": 0.35,
            "mouthFrownRight": 0.2,
            "head_roll": 7.0,
        },
        "thoughtful": {
            **_sym(browInnerUp=0.3, mouthPucker=0.25, mouthPress=0.3),
            "browDownLeft": 0.35,
            "mouthRight": 0.2,
            "gaze_x": -0.35,
            "gaze_y": 0.45,
            "head_roll": -4.0,
        },
        "professional": _sym(mouthSmile=0.3, mouthPress=0.15, cheekSquint=0.1, browOuterUp=0.05),
    }
)

if set(EMOTION_POSES) != set(EMOTIONS):  # pragma: no cover - guards edits of either list
    raise RuntimeError("EMOTION_POSES must cover events.avatar.EMOTIONS exactly")

_VECTORS: Mapping[str, FloatArray] = {name: vector(p) for name, p in EMOTION_POSES.items()}


def emotion_vector(emotion: str, intensity: float) -> FloatArray:
    """The channel row of ``emotion`` at ``intensity`` (0..1); unknown emotion -> KeyError."""
    return _VECTORS[emotion] * float(min(1.0, max(0.0, intensity)))

"""The animation catalog: each animation of :data:`events.avatar.ANIMATIONS` as a curve.

A curve maps the phase ``p`` (0..1, one cycle; an array over frames) to additive channel
offsets. Every curve is zero at ``p = 0`` and ``p = 1``, so one-shot animations start and end
on the underlying pose and looped ones repeat without a jump.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from events.avatar import ANIMATIONS
from media.animation.easing import plateau, smoothstep
from media.animation.params import FloatArray

Curve = Callable[[FloatArray], dict[str, FloatArray]]

_TAU = 2.0 * np.pi


def _hann(p: FloatArray) -> FloatArray:
    return np.sin(np.pi * p) ** 2


def _nod(p: FloatArray) -> dict[str, FloatArray]:
    dip = (1.0 - np.cos(_TAU * 2.0 * p)) / 2.0  # two nods per cycle
    return {"head_pitch": -9.0 * dip, "browInnerUp": 0.1 * dip}


def _shake(p: FloatArray) -> dict[str, FloatArray]:
    return {
        "head_yaw": 13.0 * np.sin(_TAU * 2.0 * p) * _hann(p),
        "browDownLeft": 0.15 * _hann(p),
        "browDownRight": 0.15 * _hann(p),
    }


def _tilt(p: FloatArray) -> dict[str, FloatArray]:
    hold = plateau(p, 0.25)
    return {"head_roll": 11.0 * hold, "browInnerUp": 0.25 * hold, "head_yaw": 3.0 * hold}


def _look_around(p: FloatArray) -> dict[str, FloatArray]:
    env = plateau(p, 0.15)
    x = np.sin(_TAU * p)
    return {
        "gaze_x": 0.85 * x * env,
        "gaze_y": 0.3 * np.sin(_TAU * 2.0 * p) * env,
        "head_yaw": 12.0 * x * env,
    }


def _eyebrow_raise(p: FloatArray) -> dict[str, FloatArray]:
    hold = plateau(p, 0.25)
    return {
        "browInnerUp": 0.9 * hold,
        "browOuterUpLeft": 0.9 * hold,
        "browOuterUpRight": 0.9 * hold,
        "eyeWideLeft": 0.3 * hold,
        "eyeWideRight": 0.3 * hold,
        "head_pitch": 2.0 * hold,
    }


def _smile(p: FloatArray) -> dict[str, FloatArray]:
    hold = plateau(p, 0.25)
    return {
        "mouthSmileLeft": 0.9 * hold,
        "mouthSmileRight": 0.9 * hold,
        "cheekSquintLeft": 0.6 * hold,
        "cheekSquintRight": 0.6 * hold,
        "eyeSquintLeft": 0.3 * hold,
        "eyeSquintRight": 0.3 * hold,
        "mouthDimpleLeft": 0.3 * hold,
        "mouthDimpleRight": 0.3 * hold,
    }


def _think(p: FloatArray) -> dict[str, FloatArray]:
    hold = plateau(p, 0.2)
    return {
        "gaze_x": -0.55 * hold,
        "gaze_y": 0.65 * hold,
        "browDownLeft": 0.4 * hold,
        "browInnerUp": 0.3 * hold,
        "mouthPucker": 0.3 * hold,
        "mouthRight": 0.3 * hold,
        "mouthPressLeft": 0.3 * hold,
        "mouthPressRight": 0.3 * hold,
        "head_roll": -6.0 * hold,
        "head_pitch": 3.0 * hold,
    }


def _wink(p: FloatArray) -> dict[str, FloatArray]:
    lid = smoothstep((p - 0.15) / 0.2) * smoothstep((0.85 - p) / 0.2)
    hold = plateau(p, 0.2)
    return {
        "eyeBlinkLeft": lid,
        "cheekSquintLeft": 0.45 * hold,
        "mouthSmileLeft": 0.45 * hold,
        "mouthSmileRight": 0.15 * hold,
        "browDownLeft": 0.25 * hold,
        "head_roll": 3.0 * hold,
    }


def _blink(p: FloatArray) -> dict[str, FloatArray]:
    lid = smoothstep(p / 0.35) * smoothstep((1.0 - p) / 0.45)
    return {"eyeBlinkLeft": lid, "eyeBlinkRight": lid}


CATALOG: Mapping[str, Curve] = MappingProxyType(
    {
        "nod": _nod,
        "shake": _shake,
        "tilt": _tilt,
        "look_around": _look_around,
        "eyebrow_raise": _eyebrow_raise,
        "smile": _smile,
        "think": _think,
        "wink": _wink,
        "blink": _blink,
    }
)

if set(CATALOG) != set(ANIMATIONS):  # pragma: no cover - guards edits of either list
    raise RuntimeError("CATALOG must cover events.avatar.ANIMATIONS exactly")

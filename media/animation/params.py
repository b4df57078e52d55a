"""Per-frame face parameters: ARKit blendshape weights plus head pose and gaze.

ARKit names are used so that a 3D client can apply a frame directly; the 2D rig reads the
subset it draws. Inside the sampler a frame is one row of a float64 array with one column per
:data:`CHANNELS` entry; :class:`FaceParams` is the named, immutable view of such a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The 52 ARKit blendshapes, in Apple's documented order.
BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)

#: Pose channels after the blendshapes: degrees for the head, -1..1 for the gaze.
POSE: tuple[str, ...] = ("head_yaw", "head_pitch", "head_roll", "gaze_x", "gaze_y")

CHANNELS: tuple[str, ...] = BLENDSHAPES + POSE
INDEX: Final[Mapping[str, int]] = MappingProxyType({n: i for i, n in enumerate(CHANNELS)})
N_BLENDSHAPES: Final = len(BLENDSHAPES)

#: Clamp range of each pose channel (the limits of :class:`events.avatar.FaceState`).
POSE_LIMITS: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        "head_yaw": (-45.0, 45.0),
        "head_pitch": (-30.0, 30.0),
        "head_roll": (-30.0, 30.0),
        "gaze_x": (-1.0, 1.0),
        "gaze_y": (-1.0, 1.0),
    }
)


def zeros(n: int | None = None) -> FloatArray:
    """A neutral frame (``n is None``) or ``n`` neutral frames."""
    shape = (len(CHANNELS),) if n is None else (n, len(CHANNELS))
    return np.zeros(shape, dtype=np.float64)


def vector(values: Mapping[str, float]) -> FloatArray:
    """A frame row from named values; unknown names are a programming error (KeyError)."""
    row = zeros()
    for name, value in values.items():
        row[INDEX[name]] = value
    return row


def clamp(frames: FloatArray) -> FloatArray:
    """Clip blendshapes to 0..1 and pose channels to their limits, in place; returns ``frames``."""
    np.clip(frames[..., :N_BLENDSHAPES], 0.0, 1.0, out=frames[..., :N_BLENDSHAPES])
    for name, (lo, hi) in POSE_LIMITS.items():
        i = INDEX[name]
        np.clip(frames[..., i], lo, hi, out=frames[..., i])
    return frames


@dataclass(frozen=True, slots=True)
class FaceParams:
    """One frame of a face: blendshape weights (0..1) by ARKit name, head angles, gaze.

    ``head_yaw`` > 0 turns the face to the viewer's right, ``head_pitch`` > 0 lifts the chin,
    ``head_roll`` > 0 tilts the top of the head to the viewer's right; ``gaze_x`` > 0 looks to
    the viewer's right and ``gaze_y`` > 0 looks up.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    head_yaw: float = 0.0
    head_pitch: float = 0.0
    head_roll: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0

    def __getitem__(self, name: str) -> float:
        """The weight of blendshape ``name``; 0 when not set."""
        return self.weights.get(name, 0.0)

    @classmethod
    def from_row(cls, row: FloatArray) -> FaceParams:
        """The named view of one sampler row (non-zero blendshapes only)."""
        values = row.tolist()
        weights = {n: v for n, v in zip(BLENDSHAPES, values, strict=False) if v != 0.0}
        yaw, pitch, roll, gx, gy = values[N_BLENDSHAPES:]
        return cls(MappingProxyType(weights), yaw, pitch, roll, gx, gy)

    @classmethod
    def of(cls, weights: Mapping[str, float] | None = None, **pose: float) -> FaceParams:
        """Build from plain values, validating names and clamping ranges (for callers/tests)."""
        row = vector({**(weights or {}), **pose})
        return cls.from_row(clamp(row))

    def to_row(self) -> FloatArray:
        return vector(
            {
                **self.weights,
                "head_yaw": self.head_yaw,
                "head_pitch": self.head_pitch,
                "head_roll": self.head_roll,
                "gaze_x": self.gaze_x,
                "gaze_y": self.gaze_y,
            }
        )

    def to_json(self) -> dict[str, object]:
        """All 52 blendshapes plus the pose, as 3D clients consume them."""
        return {
            "blendshapes": {n: float(self.weights.get(n, 0.0)) for n in BLENDSHAPES},
            "head": {"yaw": self.head_yaw, "pitch": self.head_pitch, "roll": self.head_roll},
            "gaze": {"x": self.gaze_x, "y": self.gaze_y},
        }

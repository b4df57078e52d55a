"""ARKit blendshape curves from a lip-sync track, with coarticulation.

A dominance model (Cohen & Massaro 1993, simplified): every phone pulls the mouth towards its
viseme pose with a strength that is flat over the phone and falls off as a Gaussian outside it,
so neighbours blend into each other (anticipation and carry-over) instead of snapping. Lip and
teeth closures (PP, FF) dominate strongly and are then enforced over their whole phone: a
/p b m/ that does not close the lips is the one lip-sync error every viewer sees. Tongue
consonants (DD, kk, nn, TH) dominate weakly, so the lips keep the shape of the nearby vowels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from events.speech import LipSyncTrack
from media.speech.visemes import (
    ARKIT_MOUTH_SHAPES,
    CRITICAL_VISEMES,
    OCULUS_ARKIT,
    OCULUS_VISEMES,
    phone_to_oculus,
)

FloatArray = npt.NDArray[np.float64]

#: How strongly each viseme holds the mouth against its neighbours.
DOMINANCE: dict[str, float] = {
    "sil": 0.6,
    "PP": 4.0,
    "FF": 3.0,
    "TH": 0.8,
    "DD": 0.8,
    "kk": 0.8,
    "CH": 0.9,
    "SS": 0.8,
    "nn": 0.8,
    "RR": 0.8,
    "aa": 1.0,
    "E": 1.0,
    "I": 1.0,
    "O": 1.1,
    "U": 1.1,
}
REACH_MS = 25.0  # Gaussian width of the fall-off outside a phone
_POSES: FloatArray = np.array(
    [[OCULUS_ARKIT[v][name] for name in ARKIT_MOUTH_SHAPES] for v in OCULUS_VISEMES],
    dtype=np.float64,
)
_INDEX = {v: i for i, v in enumerate(OCULUS_VISEMES)}


def frame_times(duration_ms: float, fps: float) -> FloatArray:
    """Frame times in ms: 0, 1000/fps, ... up to and including the end of the audio."""
    if fps <= 0:
        raise ValueError("fps must be > 0")
    count = int(np.floor(duration_ms * fps / 1000.0 + 1e-9)) + 1
    return np.arange(count, dtype=np.float64) * (1000.0 / fps)


def _spans(track: LipSyncTrack) -> list[tuple[int, float, float]]:
    return [
        (_INDEX[phone_to_oculus(p.phone)], p.start_ms, p.end_ms)
        for p in track.phones
        if p.end_ms > p.start_ms
    ]


def arkit_weights(
    track: LipSyncTrack,
    times_ms: Sequence[float] | FloatArray,
    smoothing: bool = True,
    reach_ms: float = REACH_MS,
) -> FloatArray:
    """Blendshape weights (len(times) x len(ARKIT_MOUTH_SHAPES)) at ``times_ms``."""
    t = np.asarray(times_ms, dtype=np.float64)
    spans = _spans(track)
    rest = _POSES[_INDEX["sil"]]
    if not spans:
        return np.tile(rest, (len(t), 1))
    if not smoothing or reach_ms <= 0:
        out = np.tile(rest, (len(t), 1))
        for idx, start, end in spans:
            out[(t >= start) & (t < end)] = _POSES[idx]
        return out
    num = np.zeros((len(t), len(ARKIT_MOUTH_SHAPES)))
    den = np.full(len(t), 1e-6)  # the rest pose wins where no phone reaches
    num += den[:, None] * rest
    window = 4.0 * reach_ms
    for idx, start, end in spans:
        lo, hi = np.searchsorted(t, start - window), np.searchsorted(t, end + window)
        if lo >= hi:
            continue
        seg = t[lo:hi]
        outside = np.maximum(np.maximum(start - seg, seg - end), 0.0)
        dom = DOMINANCE[OCULUS_VISEMES[idx]] * np.exp(-((outside / reach_ms) ** 2))
        num[lo:hi] += dom[:, None] * _POSES[idx]
        den[lo:hi] += dom
    out = num / den[:, None]
    for idx, start, end in spans:  # closures are reached, whatever the neighbours
        if OCULUS_VISEMES[idx] in CRITICAL_VISEMES:
            out[(t >= start) & (t <= end)] = _POSES[idx]
    clipped: FloatArray = np.clip(out, 0.0, 1.0)
    return clipped


class ArkitExport(TypedDict):
    """Blendshape keyframes: ``frames[i][k]`` is ``names[k]`` at ``times[i]`` ms."""

    format: str
    fps: float
    duration: float
    names: list[str]
    times: list[float]
    frames: list[list[float]]


def to_arkit(
    track: LipSyncTrack, fps: float = 60.0, smoothing: bool = True, reach_ms: float = REACH_MS
) -> ArkitExport:
    """ARKit keyframes at ``fps``: ``names``, ``times`` (ms) and one row of weights a frame."""
    times = frame_times(track.duration_ms, fps)
    weights = arkit_weights(track, times, smoothing, reach_ms)
    return {
        "format": "arkit",
        "fps": fps,
        "duration": track.duration_ms,
        "names": list(ARKIT_MOUTH_SHAPES),
        "times": [round(float(x), 3) for x in times],
        "frames": [[float(w) for w in row] for row in np.round(weights, 4)],
    }

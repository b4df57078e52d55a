"""Lip-sync: a speech's :class:`~events.speech.LipSyncTrack` -> mouth blendshapes per frame.

Phones become Oculus visemes and their ARKit poses (``media.speech.visemes``, the one table of
mouth shapes). Coarticulation in two steps: a consonant whose lips are free (not a critical
viseme such as PP or FF) borrows 35 % of the lip shape of its neighbouring phones, and
neighbouring visemes cross-fade over up to 50 ms around each boundary with complementary
smoothstep envelopes, so weights stay a convex blend. Silence contributes nothing: the mouth is
closed outside phones. An interrupted speech is cut at the interruption and closes by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from events.speech import LipSyncTrack
from media.animation.easing import smoothstep
from media.animation.params import INDEX, FloatArray
from media.speech.visemes import (
    ARKIT_MOUTH_SHAPES,
    CRITICAL_VISEMES,
    OCULUS_ARKIT,
    SILENCE,
    phone_to_oculus,
)

MAX_RAMP_MS = 50.0
_BORROW = 0.35
_MIN_PHONE_MS = 1.0

MOUTH_COLUMNS: tuple[int, ...] = tuple(INDEX[n] for n in ARKIT_MOUTH_SHAPES)
_POSES = {v: np.array([p[n] for n in ARKIT_MOUTH_SHAPES]) for v, p in OCULUS_ARKIT.items()}


@dataclass(frozen=True, slots=True)
class SpokenTrack:
    """A lip-sync track placed on the timeline: starts at ``start_ms``, cut at ``cut_ms``."""

    start_ms: float
    track: LipSyncTrack
    cut_ms: float | None = None
    """Timeline time where the speech stops (interrupted or replaced), if before its end."""


@dataclass(frozen=True, slots=True)
class _Phone:
    start: float
    end: float
    viseme: str


def _phones(spoken: SpokenTrack) -> list[_Phone]:
    out: list[_Phone] = []
    for p in spoken.track.phones:
        viseme = phone_to_oculus(p.phone)
        start, end = spoken.start_ms + p.start_ms, spoken.start_ms + p.end_ms
        if spoken.cut_ms is not None:
            if start >= spoken.cut_ms:
                break
            end = min(end, spoken.cut_ms)
        if viseme == SILENCE or end - start < _MIN_PHONE_MS:
            continue
        out.append(_Phone(start, end, viseme))
    return out


def _coarticulated(phones: Sequence[_Phone]) -> list[np.ndarray]:
    """Each phone's pose after borrowing the lip shape of touching neighbours."""
    poses = [_POSES[p.viseme] for p in phones]
    out: list[np.ndarray] = []
    for i, p in enumerate(phones):
        if p.viseme in CRITICAL_VISEMES:
            out.append(poses[i])
            continue
        near = [
            poses[j]
            for j in (i - 1, i + 1)
            if 0 <= j < len(phones) and _touching(phones[min(i, j)], phones[max(i, j)])
        ]
        if not near:
            out.append(poses[i])
            continue
        out.append((1.0 - _BORROW) * poses[i] + _BORROW * np.mean(near, axis=0))
    return out


def _touching(a: _Phone, b: _Phone) -> bool:
    return b.start - a.end < 1.0


def _ramp(a: _Phone, b: _Phone | None) -> float:
    """Half-width of the cross-fade after ``a`` (into ``b`` or into silence)."""
    half = 0.5 * (a.end - a.start)
    if b is not None and _touching(a, b):
        half = min(half, 0.5 * (b.end - b.start))
    if a.viseme in CRITICAL_VISEMES or (b is not None and b.viseme in CRITICAL_VISEMES):
        half *= 0.6  # reach the closure fully: shorter blend into and out of it
    return min(MAX_RAMP_MS, half)


def mouth_track(times_ms: FloatArray, spoken: Sequence[SpokenTrack]) -> FloatArray:
    """Mouth weights per frame, shape ``(len(times_ms), len(ARKIT_MOUTH_SHAPES))``."""
    out = np.zeros((len(times_ms), len(ARKIT_MOUTH_SHAPES)))
    for sp in spoken:
        phones = _phones(sp)
        poses = _coarticulated(phones)
        for i, (ph, pose) in enumerate(zip(phones, poses, strict=True)):
            prev = phones[i - 1] if i > 0 else None
            nxt = phones[i + 1] if i + 1 < len(phones) else None
            a_in = _ramp(prev, ph) if prev is not None and _touching(prev, ph) else _ramp(ph, None)
            a_out = _ramp(ph, nxt)
            rise_from = ph.start - a_in
            fall_to = ph.end + a_out
            if sp.cut_ms is not None and nxt is None:
                fall_to = min(fall_to, sp.cut_ms)  # closed by the interruption
            lo, hi = np.searchsorted(times_ms, [rise_from, fall_to])
            if lo >= hi:
                continue
            t = times_ms[lo:hi]
            w = smoothstep((t - rise_from) / (2.0 * a_in))
            w = w * smoothstep((fall_to - t) / max(1e-9, fall_to - (ph.end - a_out)))
            out[lo:hi] += w[:, None] * pose[None, :]
    return out

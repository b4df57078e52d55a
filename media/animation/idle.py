"""Life between cues: automatic blinks and idle head/gaze motion from a seeded generator.

Everything is drawn from ``numpy.random.Generator`` streams spawned from one seed, one stream
per kind of motion, and drawn in time order, so the same seed gives the same motion and a
longer clip starts with exactly the frames of a shorter one.
"""

from __future__ import annotations

import numpy as np

from media.animation.easing import smoothstep
from media.animation.params import FloatArray

_BLINK_MS = 170.0
_CLOSE_FRACTION = 0.4


def _streams(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def blink_times(rng: np.random.Generator, duration_ms: float) -> list[float]:
    """Blink onsets in ms: gaps of 1.8 s + Gamma(2, 1.1 s), sometimes a quick double blink."""
    times: list[float] = []
    t = float(rng.uniform(300.0, 2500.0))
    while t < duration_ms:
        times.append(t)
        if rng.random() < 0.15:
            times.append(t + _BLINK_MS + float(rng.uniform(60.0, 140.0)))
        t += 1800.0 + float(rng.gamma(2.0, 1100.0))
    return times


def blink_curve(times_ms: FloatArray, onsets: list[float]) -> FloatArray:
    """Eyelid closure 0..1 per frame: fast close, slower reopen."""
    out = np.zeros_like(times_ms)
    for t0 in onsets:
        lo, hi = np.searchsorted(times_ms, [t0, t0 + _BLINK_MS])
        if lo == hi:
            continue
        p = (times_ms[lo:hi] - t0) / _BLINK_MS
        lid = np.where(
            p < _CLOSE_FRACTION,
            smoothstep(p / _CLOSE_FRACTION),
            smoothstep((1.0 - p) / (1.0 - _CLOSE_FRACTION)),
        )
        np.maximum(out[lo:hi], lid, out=out[lo:hi])
    return out


def _wander(rng: np.random.Generator, times_ms: FloatArray, amplitude: float) -> FloatArray:
    """A smooth, aperiodic drift: three sines of random slow frequency and phase."""
    freqs = rng.uniform(0.05, 0.35, size=3)  # Hz
    phases = rng.uniform(0.0, 2.0 * np.pi, size=3)
    gains = rng.uniform(0.5, 1.0, size=3)
    gains = gains / gains.sum()
    t = times_ms[:, None] / 1000.0
    wave: FloatArray = (gains * np.sin(2.0 * np.pi * freqs * t + phases)).sum(axis=1)
    return amplitude * wave


def _saccades(rng: np.random.Generator, times_ms: FloatArray, amplitude: float) -> FloatArray:
    """Piecewise-constant glances (0.6-3 s each) joined by 60 ms eased jumps, for one axis."""
    out = np.zeros_like(times_ms)
    end = float(times_ms[-1]) if len(times_ms) else 0.0
    t, level = 0.0, 0.0
    while t <= end:
        nxt = t + float(rng.uniform(600.0, 3000.0))
        target = float(rng.normal(0.0, amplitude))
        lo, hi = np.searchsorted(times_ms, [t, nxt])
        u = smoothstep((times_ms[lo:hi] - t) / 60.0)
        out[lo:hi] = level + (target - level) * u
        t, level = nxt, target
    return out


def idle_motion(times_ms: FloatArray, seed: int) -> dict[str, FloatArray]:
    """Blinks and idle motion per frame (before the avatar's idle/blink switches apply)."""
    blink_rng, head_rng, gaze_x_rng, gaze_y_rng = _streams(seed)
    duration = float(times_ms[-1]) + 1.0 if len(times_ms) else 0.0
    lid = blink_curve(times_ms, blink_times(blink_rng, duration))
    return {
        "eyeBlinkLeft": lid,
        "eyeBlinkRight": lid,
        "head_yaw": _wander(head_rng, times_ms, 3.0),
        "head_pitch": _wander(head_rng, times_ms, 2.0),
        "head_roll": _wander(head_rng, times_ms, 1.5),
        "gaze_x": _saccades(gaze_x_rng, times_ms, 0.12),
        "gaze_y": _saccades(gaze_y_rng, times_ms, 0.06),
    }

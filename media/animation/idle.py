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


class _Blinks:
    """Blink onsets drawn in time order, as far as asked (the same draws however it is cut)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.onsets: list[float] = []
        self._next = float(rng.uniform(300.0, 2500.0))

    def until(self, end_ms: float) -> list[float]:
        """Every onset before ``end_ms`` (and the second of a double blink started before)."""
        rng = self.rng
        while self._next < end_ms:
            t = self._next
            self.onsets.append(t)
            if rng.random() < 0.15:
                self.onsets.append(t + _BLINK_MS + float(rng.uniform(60.0, 140.0)))
            self._next = t + 1800.0 + float(rng.gamma(2.0, 1100.0))
        return self.onsets


def blink_times(rng: np.random.Generator, duration_ms: float) -> list[float]:
    """Blink onsets in ms: gaps of 1.8 s + Gamma(2, 1.1 s), sometimes a quick double blink."""
    return _Blinks(rng).until(duration_ms)


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


_Wave = tuple[FloatArray, FloatArray, FloatArray, float]


def _wave_of(rng: np.random.Generator, amplitude: float) -> _Wave:
    """Three sines of random slow frequency, phase and weight (drawn in that order)."""
    freqs = rng.uniform(0.05, 0.35, size=3)  # Hz
    phases = rng.uniform(0.0, 2.0 * np.pi, size=3)
    gains = rng.uniform(0.5, 1.0, size=3)
    return freqs, phases, gains / gains.sum(), amplitude


def _wave(wave: _Wave, times_ms: FloatArray) -> FloatArray:
    freqs, phases, gains, amplitude = wave
    t = times_ms[:, None] / 1000.0
    values: FloatArray = (gains * np.sin(2.0 * np.pi * freqs * t + phases)).sum(axis=1)
    return amplitude * values


def _wander(rng: np.random.Generator, times_ms: FloatArray, amplitude: float) -> FloatArray:
    """A smooth, aperiodic drift: three sines of random slow frequency and phase."""
    return _wave(_wave_of(rng, amplitude), times_ms)


class _Glances:
    """Piecewise-constant glances (0.6-3 s each) joined by 60 ms eased jumps, for one axis,
    drawn in time order as far as asked."""

    def __init__(self, rng: np.random.Generator, amplitude: float) -> None:
        self.rng = rng
        self.amplitude = amplitude
        self.segments: list[tuple[float, float, float, float]] = []  # start, end, from, to
        self._t, self._level = 0.0, 0.0

    def until(self, end_ms: float) -> None:
        while self._t <= end_ms:
            nxt = self._t + float(self.rng.uniform(600.0, 3000.0))
            target = float(self.rng.normal(0.0, self.amplitude))
            self.segments.append((self._t, nxt, self._level, target))
            self._t, self._level = nxt, target

    def values(self, times_ms: FloatArray) -> FloatArray:
        out = np.zeros_like(times_ms)
        for t, nxt, level, target in self.segments:
            lo, hi = np.searchsorted(times_ms, [t, nxt])
            u = smoothstep((times_ms[lo:hi] - t) / 60.0)
            out[lo:hi] = level + (target - level) * u
        return out


def _saccades(rng: np.random.Generator, times_ms: FloatArray, amplitude: float) -> FloatArray:
    """Piecewise-constant glances (0.6-3 s each) joined by 60 ms eased jumps, for one axis."""
    glances = _Glances(rng, amplitude)
    glances.until(float(times_ms[-1]) if len(times_ms) else 0.0)
    return glances.values(times_ms)


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


class IdleStream:
    """:func:`idle_motion` of one seed, window by window, for a stream with no known end.

    ``window(times)`` equals the rows of ``idle_motion(all_times, seed)`` at ``times``,
    whatever windows came before, as long as no time is before the last :meth:`forget_before`;
    its cost does not grow with the time already played (what it has drawn is kept only from
    the forgotten time on).
    """

    def __init__(self, seed: int) -> None:
        blink_rng, head_rng, gaze_x_rng, gaze_y_rng = _streams(seed)
        self._blinks = _Blinks(blink_rng)
        self._waves = [_wave_of(head_rng, a) for a in (3.0, 2.0, 1.5)]
        self._glances = [_Glances(gaze_x_rng, 0.12), _Glances(gaze_y_rng, 0.06)]

    def window(self, times_ms: FloatArray) -> dict[str, FloatArray]:
        """Blinks and idle motion at ``times_ms`` (ascending, ms from the stream's start)."""
        if not len(times_ms):
            empty = np.zeros(0)
            return dict.fromkeys(_KEYS, empty)
        last = float(times_ms[-1])
        lid = blink_curve(times_ms, self._blinks.until(last + 1.0))
        for g in self._glances:
            g.until(last)
        yaw, pitch, roll = (_wave(w, times_ms) for w in self._waves)
        gaze_x, gaze_y = (g.values(times_ms) for g in self._glances)
        return {
            "eyeBlinkLeft": lid,
            "eyeBlinkRight": lid,
            "head_yaw": yaw,
            "head_pitch": pitch,
            "head_roll": roll,
            "gaze_x": gaze_x,
            "gaze_y": gaze_y,
        }

    def forget_before(self, t_ms: float) -> None:
        """Drop what only times before ``t_ms`` need (windows never go back before it)."""
        self._blinks.onsets = [t for t in self._blinks.onsets if t + _BLINK_MS > t_ms]
        for g in self._glances:
            g.segments = [s for s in g.segments if s[1] > t_ms]


_KEYS = ("eyeBlinkLeft", "eyeBlinkRight", "head_yaw", "head_pitch", "head_roll", "gaze_x", "gaze_y")

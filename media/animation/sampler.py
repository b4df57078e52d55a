"""The sampler: a :class:`~media.animation.timeline.Timeline` -> face parameters per frame.

Layers, each an array over all frames, summed then clamped: the emotion pose (eased
transitions), the directly set face state (gaze, head pose, mouth opening, eyes closed;
eased over 250 ms), the current animation of the catalog, the lip-sync mouth, and the idle
layer (blinks, head drift, glances) gated by the avatar's ``idle``/``blink`` switches. Pure
numpy on the inputs and the seed only, so the same inputs give bit-identical frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from events.avatar import (
    AnimationTriggered,
    AvatarState,
    EmotionSet,
    FaceState,
    SpeechInterrupted,
    SpeechStarted,
    StatePatched,
)
from media.animation.catalog import CATALOG
from media.animation.easing import ease_in_out_cubic, smoothstep
from media.animation.emotions import emotion_vector
from media.animation.idle import idle_motion
from media.animation.mouth import MOUTH_COLUMNS, SpokenTrack, mouth_track
from media.animation.params import INDEX, FaceParams, FloatArray, clamp
from media.animation.timeline import Timeline

FACE_TRANSITION_MS = 250.0
ANIMATION_RELEASE_MS = 150.0
MAX_FPS = 240.0

_FACE_FIELDS = (
    "gaze_x",
    "gaze_y",
    "head_yaw",
    "head_pitch",
    "head_roll",
    "idle",
    "blink",
    "eyes_closed",
    "mouth_open",
    "listening",
)
_F = {name: i for i, name in enumerate(_FACE_FIELDS)}
_BLINK_KEYS = ("eyeBlinkLeft", "eyeBlinkRight")


@dataclass(frozen=True, slots=True)
class FaceTrack:
    """Sampled frames: ``frames[i]`` is frame ``i`` (one column per ``params.CHANNELS``)."""

    fps: float
    frames: FloatArray

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def __getitem__(self, i: int) -> FaceParams:
        return FaceParams.from_row(self.frames[i])

    def __iter__(self) -> Iterator[FaceParams]:
        for i in range(len(self)):
            yield self[i]

    @property
    def times_ms(self) -> FloatArray:
        return frame_times(len(self), self.fps)

    def channel(self, name: str) -> FloatArray:
        """One channel over all frames (a view)."""
        return self.frames[:, INDEX[name]]


def frame_count(duration_ms: float, fps: float) -> int:
    """Frames in ``duration_ms`` at ``fps``: rounded, at least one."""
    return max(1, round(duration_ms * fps / 1000.0))


def frame_times(n: int, fps: float) -> FloatArray:
    return np.arange(n, dtype=np.float64) * (1000.0 / fps)


def eased_steps(
    times: FloatArray,
    initial: FloatArray,
    steps: Sequence[tuple[float, FloatArray, float]],
    *,
    cubic: bool = True,
) -> FloatArray:
    """Values over ``times`` from ``initial`` through ``(at, target, transition_ms)`` steps.

    Each step eases from wherever the previous one had got to at ``at`` (a change that
    interrupts a transition starts from the in-between value, never jumps).
    """
    ease = ease_in_out_cubic if cubic else smoothstep
    out = np.empty((len(times), initial.shape[0]))
    out[:] = initial
    start, target, t0, dur = initial, initial, -np.inf, 0.0
    for k, (at, new_target, new_dur) in enumerate(steps):
        u = np.array([1.0 if dur <= 0 else (at - t0) / dur])
        start = start + (target - start) * ease(u)[0]
        target, t0, dur = new_target, at, new_dur
        t_next = steps[k + 1][0] if k + 1 < len(steps) else np.inf
        lo, hi = np.searchsorted(times, [at, t_next])
        if lo < hi:
            u = np.ones(hi - lo) if dur <= 0 else (times[lo:hi] - at) / dur
            out[lo:hi] = start + (target - start) * ease(u)[:, None]
    return out


def _face_vector(face: FaceState) -> FloatArray:
    return np.array([float(getattr(face, name)) for name in _FACE_FIELDS])


def _emotion_layer(tl: Timeline, times: FloatArray) -> FloatArray:
    e = tl.initial.emotion
    steps = [
        (c.at_ms, emotion_vector(ev.emotion, ev.intensity), float(ev.transition_ms))
        for c in tl.cues
        if isinstance(ev := c.event, EmotionSet)
    ]
    return eased_steps(times, emotion_vector(e.emotion, e.intensity), steps)


def _face_layer(tl: Timeline, times: FloatArray) -> FloatArray:
    face = tl.initial.face
    steps: list[tuple[float, FloatArray, float]] = []
    for c in tl.cues:
        if isinstance(c.event, StatePatched):
            face = face.model_copy(update=c.event.patch.changes())
            steps.append((c.at_ms, _face_vector(face), FACE_TRANSITION_MS))
    return eased_steps(times, _face_vector(tl.initial.face), steps, cubic=False)


def _animation_layer(tl: Timeline, times: FloatArray, out: FloatArray) -> None:
    anims = [(c.at_ms, ev) for c in tl.cues if isinstance(ev := c.event, AnimationTriggered)]
    for k, (t0, ev) in enumerate(anims):
        dur = float(ev.duration_ms)
        end = np.inf if ev.loop else t0 + dur
        replaced = anims[k + 1][0] if k + 1 < len(anims) else np.inf
        stop = min(end, replaced + ANIMATION_RELEASE_MS)
        lo, hi = np.searchsorted(times, [t0, stop])
        if lo >= hi:
            continue
        t = times[lo:hi]
        elapsed = t - t0
        phase = np.mod(elapsed, dur) / dur if ev.loop else np.clip(elapsed / dur, 0.0, 1.0)
        gain = ev.intensity * (1.0 - smoothstep((t - replaced) / ANIMATION_RELEASE_MS))
        for name, values in CATALOG[ev.name](phase).items():
            out[lo:hi, INDEX[name]] += gain * values


def spoken_tracks(tl: Timeline) -> list[SpokenTrack]:
    """Speeches on the timeline, each cut by a matching interruption or by the next speech."""
    spoken: list[SpokenTrack] = []
    ids: list[str] = []
    for c in tl.cues:
        ev = c.event
        if isinstance(ev, SpeechStarted):
            if spoken and _cut(spoken[-1]) > c.at_ms:
                spoken[-1] = SpokenTrack(spoken[-1].start_ms, spoken[-1].track, c.at_ms)
            spoken.append(SpokenTrack(c.at_ms, ev.track))
            ids.append(ev.utterance_id)
        elif isinstance(ev, SpeechInterrupted) and ids and ids[-1] == ev.utterance_id:
            last = spoken[-1]
            at = last.start_ms + ev.at_ms
            if at < _cut(last):
                spoken[-1] = SpokenTrack(last.start_ms, last.track, at)
    return spoken


def _cut(sp: SpokenTrack) -> float:
    end = sp.start_ms + sp.track.duration_ms
    return end if sp.cut_ms is None else min(end, sp.cut_ms)


def _gaze_to_eye_looks(frames: FloatArray) -> None:
    gx = frames[:, INDEX["gaze_x"]]
    gy = frames[:, INDEX["gaze_y"]]
    right, left = np.maximum(gx, 0.0), np.maximum(-gx, 0.0)
    up, down = np.maximum(gy, 0.0), np.maximum(-gy, 0.0)
    # The avatar's left eye is on the viewer's right: looking there turns it outwards.
    frames[:, INDEX["eyeLookOutLeft"]] = right
    frames[:, INDEX["eyeLookInRight"]] = right
    frames[:, INDEX["eyeLookInLeft"]] = left
    frames[:, INDEX["eyeLookOutRight"]] = left
    for side in ("Left", "Right"):
        frames[:, INDEX["eyeLookUp" + side]] = up
        frames[:, INDEX["eyeLookDown" + side]] = down


def sample(timeline: Timeline, fps: float, seed: int = 0) -> FaceTrack:
    """Face parameters for every frame of ``timeline`` at ``fps`` (idle motion from ``seed``)."""
    if not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be in (0, {MAX_FPS:g}], got {fps}")
    n = frame_count(timeline.duration_ms, fps)
    times = frame_times(n, fps)
    return FaceTrack(float(fps), sample_times(timeline, times, idle_motion(times, seed)))


def sample_times(
    timeline: Timeline,
    times: FloatArray,
    idle: dict[str, FloatArray],
    spoken: Sequence[SpokenTrack] | None = None,
) -> FloatArray:
    """Face rows (one per ``params.CHANNELS`` column) at ``times`` (ms, ascending) of
    ``timeline``, with ``idle`` motion at those times (:func:`idle_motion` or a window of
    :class:`~media.animation.idle.IdleStream`). ``spoken``: the lip-sync tracks placed on the
    timeline, when the caller places them itself (a live stream); else the timeline's speeches.
    """
    frames = _emotion_layer(timeline, times)
    _animation_layer(timeline, times, frames)
    tracks = spoken_tracks(timeline) if spoken is None else spoken
    frames[:, list(MOUTH_COLUMNS)] += mouth_track(times, tracks)

    face = _face_layer(timeline, times)
    for name in ("gaze_x", "gaze_y", "head_yaw", "head_pitch", "head_roll"):
        frames[:, INDEX[name]] += face[:, _F[name]]
    listening = face[:, _F["listening"]]
    frames[:, INDEX["head_roll"]] += 4.0 * listening
    frames[:, INDEX["head_pitch"]] += 1.5 * listening
    frames[:, INDEX["browInnerUp"]] += 0.15 * listening
    frames[:, INDEX["jawOpen"]] += face[:, _F["mouth_open"]]

    idle_on, blink_on = face[:, _F["idle"]], face[:, _F["blink"]]
    closed = face[:, _F["eyes_closed"]]
    for name, values in idle.items():
        i = INDEX[name]
        if name in _BLINK_KEYS:
            lid = np.clip(frames[:, i], 0.0, 1.0)
            lid = lid + (1.0 - lid) * values * blink_on  # a blink closes the eye fully
            frames[:, i] = np.maximum(lid, closed)
        else:
            frames[:, i] += values * idle_on

    clamp(frames)
    _gaze_to_eye_looks(frames)
    return frames


def still(state: AvatarState) -> FaceParams:
    """The face of ``state`` at rest: its emotion and face state, no idle motion or blink."""
    e, face = state.emotion, state.face
    row = emotion_vector(e.emotion, e.intensity)
    for name in ("gaze_x", "gaze_y", "head_yaw", "head_pitch", "head_roll"):
        row[INDEX[name]] += float(getattr(face, name))
    row[INDEX["jawOpen"]] += face.mouth_open
    if face.eyes_closed:
        row[INDEX["eyeBlinkLeft"]] = row[INDEX["eyeBlinkRight"]] = 1.0
    frames = clamp(row[None, :].copy())
    _gaze_to_eye_looks(frames)
    return FaceParams.from_row(frames[0])

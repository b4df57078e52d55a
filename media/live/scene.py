"""A live scene: an avatar's state as its events arrive, as frames and audio on one clock.

Times are milliseconds of the stream's own clock (0 when the stream began). Cues are placed at
the time the stream learns of them; the picture is sampled with the rendering sampler
(:func:`~media.animation.sampler.sample_times`: the same emotion easing, animations, lip-sync
and idle motion as rendered videos), window by window, and the speech audio is mixed from the
utterances' clips at 48 kHz. Speech and its mouth are placed together: an utterance starts at
the first instant that neither track has emitted yet, so its first sample and its first open
mouth share a time; an interruption cuts both at the first instant not yet emitted.

Thread-safe: events arrive on the event loop while frames are drawn in worker threads.
Nothing here reads a clock; callers pass the time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from events.avatar import (
    AnimationTriggered,
    AvatarState,
    Customized,
    EmotionSet,
    EmotionState,
    SpeechStarted,
    StatePatched,
    Traits,
)
from events.base import Event
from events.speech import LipSyncTrack
from media.animation.idle import IdleStream
from media.animation.mouth import MAX_RAMP_MS, SpokenTrack
from media.animation.params import FaceParams, FloatArray
from media.animation.sampler import ANIMATION_RELEASE_MS, FACE_TRANSITION_MS, sample_times
from media.animation.timeline import Cue, Timeline
from media.video.audio import PcmAudio

SAMPLE_RATE = 48_000
"""Audio sample rate of a live stream (Opus's)."""
FADE_MS = 5.0
"""An interrupted clip fades out over this long after the cut (no click)."""
CHUNK_FRAMES = 6
"""Frames sampled at once (200 ms at 30 fps); an event invalidates them."""

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Utterance:
    """A speech placed on the stream: its track and clip from ``start_ms``, cut at ``cut_ms``."""

    utterance_id: str
    start_ms: float
    track: LipSyncTrack
    clip: PcmAudio | None
    cut_ms: float | None = None

    @property
    def end_ms(self) -> float:
        """When it stops sounding (its end, or the cut)."""
        end = self.start_ms + self.track.duration_ms
        if self.clip is not None:
            end = max(end, self.start_ms + 1000.0 * self.clip.duration_s)
        return end if self.cut_ms is None else min(end, self.cut_ms)

    def spoken(self) -> SpokenTrack:
        return SpokenTrack(self.start_ms, self.track, self.cut_ms)


class LiveScene:
    """One stream's avatar: ``apply`` events, then ``frame(i)`` and ``audio(start, n)``."""

    def __init__(
        self,
        initial: AvatarState,
        *,
        fps: float,
        seed: int,
        animation_at_ms: float | None = None,
        chunk_frames: int = CHUNK_FRAMES,
    ) -> None:
        """``initial``: the avatar's state when the stream begins (a speech in progress then
        is not joined). ``animation_at_ms``: when its current animation began on this clock
        (negative: before the stream), so it plays on; ``seed``: idle motion."""
        if not 0 < fps <= 240:
            raise ValueError(f"fps must be in (0, 240], got {fps}")
        self.fps = float(fps)
        self._period_ms = 1000.0 / self.fps
        self._initial = initial.model_copy(update={"speech": None})
        self._cues: list[Cue] = []
        anim = initial.animation
        if anim is not None and animation_at_ms is not None:
            self._cues.append(
                Cue(
                    animation_at_ms,
                    AnimationTriggered(
                        name=anim.name,
                        loop=anim.loop,
                        duration_ms=anim.duration_ms,
                        intensity=anim.intensity,
                    ),
                )
            )
        self._speech: list[Utterance] = []
        self._idle = IdleStream(seed)
        self._chunk_frames = max(1, chunk_frames)
        self._chunk_first = -1
        self._chunk: FloatArray | None = None
        self._lock = threading.Lock()
        self.audio_until = 0
        """Audio samples emitted so far (the next ``audio`` call starts here)."""
        self.video_until_ms = -math.inf
        """Time of the latest frame drawn."""

    # ------------------------------------------------------------------ events

    def apply(self, event: Event, at_ms: float) -> bool:
        """Place a picture event (emotion, state patch, animation, appearance) at ``at_ms``.
        Other events change nothing here (speech has :meth:`speak` and :meth:`interrupt`);
        returns whether the event was placed."""
        if not isinstance(event, EmotionSet | StatePatched | AnimationTriggered | Customized):
            return False
        with self._lock:
            self._cues.append(Cue(at_ms, event))
            self._cues.sort(key=lambda c: c.at_ms)
            self._chunk = None
        return True

    def _unemitted_ms(self, at_ms: float) -> float:
        """The first time at or after ``at_ms`` that no track has emitted yet."""
        audio_ms = self.audio_until * 1000.0 / SAMPLE_RATE
        return max(at_ms, audio_ms, self.video_until_ms + 1e-3)

    def speak(self, event: SpeechStarted, clip: PcmAudio | None, at_ms: float) -> float:
        """Start ``event``'s utterance (with its recorded lip-sync track and ``clip``, its
        audio) at the first instant not yet emitted from ``at_ms`` on; a speech still playing
        is cut there. Returns the start time."""
        with self._lock:
            start = self._unemitted_ms(at_ms)
            if self._speech and self._speech[-1].end_ms > start:
                self._speech[-1] = replace(self._speech[-1], cut_ms=start)
            self._speech.append(Utterance(event.utterance_id, start, event.track, clip))
            self._chunk = None
            return start

    def interrupt(self, utterance_id: str, at_ms: float) -> float | None:
        """Cut the utterance ``utterance_id`` (if it is the current one and still sounding)
        at the first instant not yet emitted from ``at_ms`` on: audio stops and the mouth
        closes there. Returns the cut time, or ``None`` when there was nothing to cut."""
        with self._lock:
            if not self._speech or self._speech[-1].utterance_id != utterance_id:
                return None
            last = self._speech[-1]
            cut = max(last.start_ms, self._unemitted_ms(at_ms))
            if cut >= last.end_ms:
                return None
            self._speech[-1] = replace(last, cut_ms=cut)
            self._chunk = None
            return cut

    def speaking(self, at_ms: float) -> str | None:
        """The utterance sounding at ``at_ms``, if any."""
        with self._lock:
            for u in reversed(self._speech):
                if u.start_ms <= at_ms < u.end_ms:
                    return u.utterance_id
        return None

    # ------------------------------------------------------------------ pictures

    def frame(self, index: int) -> tuple[FaceParams, Traits]:
        """Face parameters and appearance of frame ``index`` (at ``index / fps`` s).

        Frames are sampled a chunk at a time; asking for an earlier frame than the last one
        drawn is allowed only within the current chunk."""
        with self._lock:
            t = index * self._period_ms
            chunk = self._chunk
            if chunk is None or not 0 <= index - self._chunk_first < len(chunk):
                self._compact(t)
                times = (index + np.arange(self._chunk_frames, dtype=np.float64)) * self._period_ms
                chunk = self._chunk = self._sample(times)
                self._chunk_first = index
            row = chunk[index - self._chunk_first]
            self.video_until_ms = max(self.video_until_ms, t)
            return FaceParams.from_row(row), self._traits_at(t)

    def _sample(self, times: FloatArray) -> FloatArray:
        timeline = Timeline(self._initial, tuple(self._cues), float(times[-1]) + 1.0)
        spoken = [u.spoken() for u in self._speech]
        return sample_times(timeline, times, self._idle.window(times), spoken)

    def _traits_at(self, t_ms: float) -> Traits:
        traits = self._initial.traits
        for c in self._cues:
            if c.at_ms > t_ms:
                break
            if isinstance(c.event, Customized):
                traits = c.event.traits
        return traits

    def _compact(self, horizon: float) -> None:
        """Fold what no frame from ``horizon`` on can tell apart into the initial state, so a
        frame's cost does not grow with the stream's age."""
        self._idle.forget_before(horizon)
        initial = self._initial
        emotions = [c for c in self._cues if isinstance(c.event, EmotionSet)]
        k = _settled(emotions, horizon, _transition_ms)
        if k >= 0:
            ev = emotions[k].event
            assert isinstance(ev, EmotionSet)
            emotion = EmotionState(
                emotion=ev.emotion, intensity=ev.intensity, transition_ms=ev.transition_ms
            )
            initial = initial.model_copy(update={"emotion": emotion})
        patches = [c for c in self._cues if isinstance(c.event, StatePatched)]
        j = _settled(patches, horizon, lambda e: FACE_TRANSITION_MS)
        face = initial.face
        for c in patches[: j + 1]:
            assert isinstance(c.event, StatePatched)
            face = face.model_copy(update=c.event.patch.changes())
        looks = [c for c in self._cues if isinstance(c.event, Customized) and c.at_ms <= horizon]
        traits = initial.traits
        if looks:
            assert isinstance(looks[-1].event, Customized)
            traits = looks[-1].event.traits
        self._initial = initial.model_copy(update={"face": face, "traits": traits})
        dropped = {id(c) for c in emotions[: k + 1] + patches[: j + 1] + looks}
        anims = [c for c in self._cues if isinstance(c.event, AnimationTriggered)]
        for i, c in enumerate(anims):
            ev = c.event
            assert isinstance(ev, AnimationTriggered)
            end = math.inf if ev.loop else c.at_ms + ev.duration_ms
            if i + 1 < len(anims):
                end = min(end, anims[i + 1].at_ms + ANIMATION_RELEASE_MS)
            if end <= horizon:
                dropped.add(id(c))
        self._cues = [c for c in self._cues if id(c) not in dropped]
        audio_ms = self.audio_until * 1000.0 / SAMPLE_RATE
        done = min(horizon - MAX_RAMP_MS, audio_ms - FADE_MS)
        while self._speech and self._speech[0].end_ms < done:
            self._speech.pop(0)

    # ------------------------------------------------------------------ sound

    def audio(self, start: int, count: int) -> Samples:
        """Mono 16-bit samples ``[start, start + count)`` at :data:`SAMPLE_RATE`: the speech
        (silence between utterances)."""
        with self._lock:
            out = np.zeros(count, dtype=np.float64)
            for u in self._speech:
                _mix(out, start, u)
            self.audio_until = max(self.audio_until, start + count)
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def _transition_ms(event: Event) -> float:
    return float(event.transition_ms) if isinstance(event, EmotionSet) else 0.0


def _settled(cues: Sequence[Cue], horizon: float, duration: Callable[[Event], float]) -> int:
    """Index of the last step (of eased steps ``cues``) that had finished its transition
    before the next one began and before ``horizon``; -1 when none."""
    found = -1
    for i, c in enumerate(cues):
        if c.at_ms > horizon:
            break
        nxt = cues[i + 1].at_ms if i + 1 < len(cues) else math.inf
        if c.at_ms + float(duration(c.event)) <= min(horizon, nxt):
            found = i
    return found


def _mix(out: FloatArray, start: int, u: Utterance) -> None:
    """Add ``u``'s clip, resampled (linearly) to the live rate, into ``out`` (at ``start``)."""
    clip = u.clip
    if clip is None:
        return
    first = round(u.start_ms * SAMPLE_RATE / 1000.0)
    length = math.floor(len(clip.samples) * SAMPLE_RATE / clip.sample_rate)
    stop = first + length
    fade_from = None
    if u.cut_ms is not None:
        fade_from = round(u.cut_ms * SAMPLE_RATE / 1000.0)
        stop = min(stop, fade_from + round(FADE_MS * SAMPLE_RATE / 1000.0))
    lo, hi = max(start, first), min(start + len(out), stop)
    if lo >= hi:
        return
    mono = clip.samples if clip.samples.ndim == 1 else clip.samples.mean(axis=1)
    pos = (np.arange(lo, hi) - first) * (clip.sample_rate / SAMPLE_RATE)
    i0 = int(pos[0])
    i1 = min(len(mono), int(pos[-1]) + 2)
    part = np.interp(pos, np.arange(i0, i1), mono[i0:i1].astype(np.float64))
    if fade_from is not None and hi > fade_from:
        fade = np.arange(lo, hi) - fade_from
        gain = np.clip(1.0 - fade / (FADE_MS * SAMPLE_RATE / 1000.0), 0.0, 1.0)
        part = part * np.where(fade >= 0, gain, 1.0)
    out[lo - start : hi - start] += part

"""The live scene and pacing: frames and audio of an avatar whose events arrive while it plays.

No clock is read: times are passed in, as the stream's tracks do with their clock.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from events.avatar import (
    AnimationState,
    AnimationTriggered,
    AvatarState,
    Customized,
    EmotionSet,
    FaceState,
    SpeechStarted,
    StatePatch,
    StatePatched,
    Traits,
)
from media.animation import Cue, Timeline, sample
from media.animation.idle import IdleStream, idle_motion
from media.animation.params import INDEX
from media.animation.sampler import frame_times
from media.live import SAMPLE_RATE, LiveScene, Pacer
from media.speech import synthesize
from media.video import PcmAudio

FPS = 30.0
PERIOD = 1000.0 / FPS


@functools.cache
def utterance() -> tuple[SpeechStarted, PcmAudio]:
    spoken = synthesize("Hello, and thanks for joining me today.", "en-us")
    event = SpeechStarted(
        utterance_id="u1",
        text="Hello, and thanks for joining me today.",
        voice_id="en-us",
        duration_ms=spoken.duration_ms,
        track=spoken.track,
    )
    return event, PcmAudio(spoken.pcm.astype(np.int16), spoken.sample_rate)


def rows(scene: LiveScene, first: int, n: int) -> np.ndarray:
    return np.array([scene.frame(i)[0].to_row() for i in range(first, first + n)])


def jaw(scene: LiveScene, first: int, n: int) -> np.ndarray:
    return rows(scene, first, n)[:, INDEX["jawOpen"]]


# ---------------------------------------------------------------------------- idle motion


def test_idle_stream_windows_equal_the_whole_clip() -> None:
    times = frame_times(2400, FPS)
    whole = idle_motion(times, 11)
    stream = IdleStream(11)
    parts = []
    for a in range(0, len(times), 7):
        parts.append(stream.window(times[a : a + 7]))
        stream.forget_before(float(times[a]))
    for key, values in whole.items():
        assert np.array_equal(np.concatenate([p[key] for p in parts]), values), key


def test_idle_stream_keeps_little_however_long_it_plays() -> None:
    stream = IdleStream(3)
    for k in range(0, 3600):  # an hour, a window a second
        t = k * 1000.0 + frame_times(30, FPS)
        stream.window(t)
        stream.forget_before(float(t[0]))
    assert len(stream._blinks.onsets) < 5
    assert all(len(g.segments) < 5 for g in stream._glances)


# ---------------------------------------------------------------------------- pictures


def test_without_events_the_frames_are_the_rendered_ones() -> None:
    initial = AvatarState(emotion={"emotion": "happy", "intensity": 0.7})
    scene = LiveScene(initial, fps=FPS, seed=5)
    rendered = sample(Timeline.of(initial, [], 200 * PERIOD), FPS, seed=5)
    assert np.array_equal(rows(scene, 0, 200), rendered.frames)


def test_a_stream_that_starts_late_starts_where_the_clock_is() -> None:
    initial = AvatarState()
    scene = LiveScene(initial, fps=FPS, seed=5)
    rendered = sample(Timeline.of(initial, [], 400 * PERIOD), FPS, seed=5)
    assert np.array_equal(rows(scene, 300, 50), rendered.frames[300:350])


def test_events_change_the_frames_from_when_they_arrive() -> None:
    initial = AvatarState()
    scene = LiveScene(initial, fps=FPS, seed=2)
    before = rows(scene, 0, 30)
    emotion = EmotionSet(emotion="surprised", intensity=1.0, transition_ms=300)
    nod = AnimationTriggered(name="nod", duration_ms=800)
    scene.apply(emotion, 30 * PERIOD)
    scene.apply(nod, 45 * PERIOD)
    after = rows(scene, 30, 60)
    cues = [Cue(30 * PERIOD, emotion), Cue(45 * PERIOD, nod)]
    rendered = sample(Timeline.of(initial, cues, 90 * PERIOD), FPS, seed=2)
    assert np.array_equal(before, rendered.frames[:30])
    np.testing.assert_allclose(after, rendered.frames[30:90], atol=1e-12)


def test_old_events_are_folded_and_their_effect_stays() -> None:
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    for k in range(200):  # a long, busy session
        t = k * 3000.0
        scene.apply(EmotionSet(emotion="happy" if k % 2 else "sad", transition_ms=300), t)
        scene.apply(StatePatched(patch=StatePatch(gaze_x=0.1 * (k % 3))), t + 10)
        scene.apply(AnimationTriggered(name="nod", duration_ms=500), t + 20)
        scene.frame(round((t + 1000.0) / PERIOD))
    assert len(scene._cues) <= 6
    last = round(199 * 3000.0 / PERIOD) + 60
    params, _ = scene.frame(last)
    happy = rows(LiveScene(AvatarState(emotion={"emotion": "happy"}), fps=FPS, seed=1), 0, 1)
    assert params.to_row()[INDEX["mouthSmileLeft"]] == pytest.approx(
        happy[0, INDEX["mouthSmileLeft"]]
    )
    assert scene._initial.face.gaze_x == pytest.approx(0.1)


def test_an_animation_running_when_the_stream_starts_plays_on() -> None:
    anim = AnimationState(name="shake", duration_ms=2000, started_at=0.0)
    initial = AvatarState(animation=anim, face=FaceState(idle=False, blink=False))
    scene = LiveScene(initial, fps=FPS, seed=1, animation_at_ms=-500.0)
    yaw = rows(scene, 0, 60)[:, INDEX["head_yaw"]]
    assert np.abs(yaw[:30]).max() > 1.0  # still shaking
    assert np.abs(yaw[50:]).max() < 1e-9  # over after 1.5 s (+ release)


def test_appearance_changes_at_its_cue() -> None:
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    curly = Traits(hair_style="curly")
    scene.apply(Customized(traits=curly), 10 * PERIOD + 1)
    assert scene.frame(10)[1] == Traits()
    assert scene.frame(11)[1] == curly
    assert scene.frame(500)[1] == curly


# ---------------------------------------------------------------------------- speech


def test_speech_starts_where_neither_track_has_been() -> None:
    event, clip = utterance()
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    scene.frame(10)
    scene.audio(0, 960 * 20)  # 400 ms of audio already sent
    start = scene.speak(event, clip, at_ms=250.0)
    assert start == pytest.approx(400.0)
    scene2 = LiveScene(AvatarState(), fps=FPS, seed=1)
    scene2.audio(0, 960)
    scene2.frame(30)  # a frame drawn at 1000 ms
    assert scene2.speak(event, clip, at_ms=500.0) == pytest.approx(1000.0, abs=0.01)


def test_audio_and_mouth_follow_the_recorded_track_from_one_start() -> None:
    event, clip = utterance()
    face = FaceState(idle=False, blink=False)
    scene = LiveScene(AvatarState(face=face), fps=FPS, seed=1)
    start = scene.speak(event, clip, at_ms=1000.0)
    assert start == 1000.0
    n = round((start + event.duration_ms + 500) * SAMPLE_RATE / 1000)
    audio = scene.audio(0, n)
    first = round(start * SAMPLE_RATE / 1000)
    assert not audio[:first].any(), "silence before the utterance"
    heard = np.flatnonzero(np.abs(audio) > 500)
    resampled_len = len(clip.samples) * SAMPLE_RATE / clip.sample_rate
    assert first <= heard[0] and heard[-1] < first + resampled_len
    src_heard = np.flatnonzero(np.abs(clip.samples) > 500)
    # the same sound at the same place, at the live rate
    assert heard[0] - first == pytest.approx(src_heard[0] * SAMPLE_RATE / clip.sample_rate, abs=2)
    # the mouth is the rendered lip-sync of the recorded track, shifted to the start
    frames = round((start + event.duration_ms) / PERIOD) + 10
    live = jaw(scene, 0, frames)
    initial = AvatarState(face=face)
    rendered = sample(Timeline.of(initial, [Cue(start, event)], frames * PERIOD), FPS, seed=1)
    np.testing.assert_allclose(live, rendered.channel("jawOpen")[:frames], atol=1e-12)
    assert live.max() > 0.2


def test_interrupt_cuts_audio_and_closes_the_mouth_at_once() -> None:
    event, clip = utterance()
    scene = LiveScene(AvatarState(face=FaceState(idle=False, blink=False)), fps=FPS, seed=1)
    scene.speak(event, clip, at_ms=0.0)
    spoken = scene.audio(0, 48 * 800)
    assert np.abs(spoken).max() > 1000
    open_frames = jaw(scene, 0, 24)
    assert open_frames.max() > 0.2
    cut = scene.interrupt("u1", at_ms=790.0)
    assert cut == pytest.approx(800.0)  # the audio sent so far is not taken back
    after = scene.audio(48 * 800, 48 * 1000)
    fade = 5 * 48
    assert not after[fade:].any(), "silence after the cut (and a 5 ms fade)"
    uncut = LiveScene(AvatarState(), fps=FPS, seed=1)
    uncut.speak(event, clip, at_ms=0.0)
    going_on = uncut.audio(48 * 800, fade)
    assert np.all(np.abs(after[:fade]) <= np.abs(going_on) + 1), "a fade, not a click"
    assert after[0] == pytest.approx(going_on[0], abs=1)
    closed = jaw(scene, 25, 30)
    assert closed.max() < 1e-9, "the mouth is closed from the first frame after the cut"
    assert scene.speaking(850.0) is None
    assert scene.interrupt("u1", 900.0) is None  # nothing left to cut


def test_interrupting_another_utterance_changes_nothing() -> None:
    event, clip = utterance()
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    scene.speak(event, clip, at_ms=0.0)
    assert scene.interrupt("other", 100.0) is None
    assert scene.speaking(500.0) == "u1"


def test_a_new_utterance_cuts_the_one_playing() -> None:
    event, clip = utterance()
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    scene.speak(event, clip, at_ms=0.0)
    scene.audio(0, 48 * 500)
    second = event.model_copy(update={"utterance_id": "u2"})
    start = scene.speak(second, clip, at_ms=500.0)
    assert start == 500.0
    assert scene.speaking(499.0) == "u1" and scene.speaking(501.0) == "u2"
    assert scene._speech[0].cut_ms == 500.0


def test_speech_without_audio_still_moves_the_mouth() -> None:
    event, _ = utterance()
    scene = LiveScene(AvatarState(face=FaceState(idle=False, blink=False)), fps=FPS, seed=1)
    scene.speak(event, None, at_ms=0.0)
    assert not scene.audio(0, 48_000).any()
    assert jaw(scene, 0, 30).max() > 0.2


def test_finished_utterances_are_let_go() -> None:
    event, clip = utterance()
    scene = LiveScene(AvatarState(), fps=FPS, seed=1)
    scene.speak(event, clip, at_ms=0.0)
    end = event.duration_ms + 1000
    scene.audio(0, round(end * 48))
    scene.frame(round(end / PERIOD))
    assert scene._speech == []


# ---------------------------------------------------------------------------- pacing


def test_pacer_gives_consecutive_frames_at_their_due_times() -> None:
    pacer = Pacer(0.02, origin_s=100.0)
    assert pacer.next(100.05) == (2, pytest.approx(100.04))  # starts at the present
    assert pacer.next(100.051) == (3, pytest.approx(100.06))
    assert pacer.next(100.07) == (4, pytest.approx(100.08))
    assert pacer.skipped == 0


def test_pacer_skips_to_the_present_when_far_behind() -> None:
    pacer = Pacer(0.1, origin_s=0.0, max_late=1.0)
    assert pacer.next(0.0)[0] == 0
    assert pacer.next(0.15)[0] == 1  # half a period late: sent, not skipped
    index, due = pacer.next(0.75)  # frame 2 was due at 0.2
    assert (index, due) == (7, pytest.approx(0.7))
    assert pacer.skipped == 5


def test_an_audio_pacer_catches_up_without_gaps() -> None:
    pacer = Pacer(0.02, origin_s=0.0, max_late=10.0)
    pacer.next(0.0)
    got = [pacer.next(0.1)[0] for _ in range(5)]  # 100 ms stall: five frames due at once
    assert got == [1, 2, 3, 4, 5] and pacer.skipped == 0

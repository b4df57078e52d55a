"""Timelines from an avatar's event log: cue times from ``recorded_at``, window bounds."""

from __future__ import annotations

import pytest

from events.avatar import (
    AnimationTriggered,
    AvatarState,
    Customized,
    EmotionSet,
    SpeechStarted,
    StatePatch,
    StatePatched,
    Traits,
    VoiceDetached,
    avatar_folder,
)
from events.base import Event
from events.records import RecordedEvent
from events.speech import LipSyncTrack, TimedPhone
from media.animation import Timeline, sample, timeline_from_records

pytestmark = pytest.mark.timeout(120)

T0 = 1_700_000_000.0


def records(*events: tuple[float, Event]) -> list[RecordedEvent]:
    return [RecordedEvent(i + 1, "avatar-1", i + 1, e, T0 + t) for i, (t, e) in enumerate(events)]


def test_cues_are_placed_at_recorded_times_relative_to_the_window() -> None:
    log = records(
        (-5.0, EmotionSet(emotion="sad")),  # before the window: part of the folded state
        (1.0, EmotionSet(emotion="happy", intensity=1.0)),
        (2.5, StatePatched(patch=StatePatch(gaze_x=0.5))),
        (3.0, VoiceDetached()),  # not a cue
        (9.0, EmotionSet(emotion="angry")),  # after the window
    )
    before = avatar_folder.fold(AvatarState(), log[:1])
    tl = timeline_from_records(before, log[1:], T0, T0 + 5.0)
    assert tl.duration_ms == pytest.approx(5000.0)
    assert tl.initial.emotion.emotion == "sad"
    assert [c.event.type for c in tl.cues] == ["EmotionSet", "StatePatched"]
    assert [c.at_ms for c in tl.cues] == pytest.approx([1000.0, 2500.0])


def test_an_animation_running_before_the_window_continues() -> None:
    log = records((-0.5, AnimationTriggered(name="shake", loop=True, duration_ms=500)))
    before = avatar_folder.fold(AvatarState(), log)
    tl = timeline_from_records(before, [], T0, T0 + 2.0)
    assert tl.cues[0].at_ms == pytest.approx(-500.0)
    assert abs(sample(tl, 30).channel("head_yaw")).max() > 3.0


def test_without_an_end_the_window_covers_the_last_speech() -> None:
    track = LipSyncTrack(
        duration_ms=2000, phones=(TimedPhone(phone="AA", start_ms=0, end_ms=2000),)
    )
    log = records(
        (
            1.0,
            SpeechStarted(utterance_id="u", text="a", voice_id="v", duration_ms=2000, track=track),
        )
    )
    tl = timeline_from_records(AvatarState(), log, T0)
    assert tl.duration_ms == pytest.approx(3500.0)


def test_replay_from_the_log_is_deterministic() -> None:
    log = records(
        (0.2, EmotionSet(emotion="surprised")),
        (0.4, Customized(traits=Traits())),
        (0.9, AnimationTriggered(name="wink")),
    )
    a = sample(timeline_from_records(AvatarState(), log, T0, T0 + 2), 30, seed=5)
    b = sample(timeline_from_records(AvatarState(), log, T0, T0 + 2), 30, seed=5)
    assert a.frames.tobytes() == b.frames.tobytes()


def test_timeline_sorts_cues_and_drops_non_cues() -> None:
    from media.animation import Cue

    tl = Timeline.of(
        AvatarState(),
        [
            Cue(200, EmotionSet(emotion="happy")),
            Cue(100, VoiceDetached()),
            Cue(50, EmotionSet(emotion="sad")),
        ],
        300,
    )
    assert [c.at_ms for c in tl.cues] == [50, 200]

"""Folding: mutators, state at version N, snapshots + tail == full replay (property-based)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import MemoryJournal, load_state, save_snapshot
from events.avatar import (
    EMOTIONS,
    AnimationTriggered,
    AvatarCreated,
    AvatarState,
    EmotionSet,
    StatePatch,
    StatePatched,
    avatar_folder,
)
from events.base import Event
from events.fold import FoldError
from events.records import SnapshotRecord
from events.session import SessionStarted, session_folder

STREAM = "avatar:default:a-1"

emotion_events = st.builds(
    EmotionSet,
    emotion=st.sampled_from(EMOTIONS),
    intensity=st.floats(0, 1),
    transition_ms=st.integers(0, 10_000),
)
patch_events = st.builds(
    StatePatched,
    patch=st.builds(
        StatePatch,
        gaze_x=st.none() | st.floats(-1, 1),
        head_yaw=st.none() | st.floats(-45, 45),
        idle=st.none() | st.booleans(),
    ),
)
anim_events = st.builds(
    AnimationTriggered,
    name=st.sampled_from(["nod", "wink", "think"]),
    loop=st.booleans(),
    duration_ms=st.integers(50, 5000),
)
any_event = st.one_of(emotion_events, patch_events, anim_events)


def journal_with(events: list[Event]) -> MemoryJournal:
    clock = iter(float(i) for i in range(1, 10_000))
    j = MemoryJournal(clock=lambda: next(clock))
    j.append(STREAM, [AvatarCreated(avatar_id="a-1", tenant="default"), *events])
    return j


def test_fold_applies_each_mutator() -> None:
    j = journal_with(
        [
            EmotionSet(emotion="sad", intensity=0.9),
            StatePatched(patch=StatePatch(gaze_x=0.4)),
            AnimationTriggered(name="nod"),
        ]
    )
    state = load_state(j, STREAM, avatar_folder)
    assert state.version == 4 and state.avatar_id == "a-1"
    assert (state.emotion.emotion, state.emotion.intensity) == ("sad", 0.9)
    assert state.face.gaze_x == 0.4 and state.face.idle is True
    assert state.animation is not None and state.animation.name == "nod"
    assert state.updated_at == 1.0


def test_state_at_version() -> None:
    j = journal_with([EmotionSet(emotion="sad"), EmotionSet(emotion="happy")])
    assert load_state(j, STREAM, avatar_folder, version=2).emotion.emotion == "sad"
    assert load_state(j, STREAM, avatar_folder, version=3).emotion.emotion == "happy"
    assert load_state(j, STREAM, avatar_folder, version=1).emotion.emotion == "neutral"


def test_fold_refuses_foreign_events() -> None:
    j = MemoryJournal()
    j.append(
        STREAM,
        [
            SessionStarted(
                session_id="s",
                tenant="t",
                avatar_id="a",
                avatar_version=0,
                ttl_seconds=60,
                expires_at=1,
            )
        ],
    )
    with pytest.raises(FoldError):
        load_state(j, STREAM, avatar_folder)
    assert load_state(j, STREAM, session_folder).status == "active"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(any_event, min_size=1, max_size=40), data=st.data())
def test_snapshot_plus_tail_equals_full_replay(events: list[Event], data: st.DataObject) -> None:
    j = journal_with(events)
    total = len(events) + 1
    full = load_state(j, STREAM, avatar_folder, use_snapshots=False)
    cut = data.draw(st.integers(1, total), label="snapshot at")
    prefix = load_state(j, STREAM, avatar_folder, version=cut, use_snapshots=False)
    assert save_snapshot(j, STREAM, prefix)
    assert load_state(j, STREAM, avatar_folder) == full
    at = data.draw(st.integers(1, total), label="state at")
    assert load_state(j, STREAM, avatar_folder, version=at) == load_state(
        j, STREAM, avatar_folder, version=at, use_snapshots=False
    )


def test_unusable_snapshots_fall_back_to_full_replay() -> None:
    j = journal_with([EmotionSet(emotion="angry")])
    full = load_state(j, STREAM, avatar_folder)
    j.save_snapshot(SnapshotRecord(STREAM, 1, "AvatarState", 1, b"\xc1corrupt", 1.0))
    assert load_state(j, STREAM, avatar_folder) == full
    j.save_snapshot(SnapshotRecord(STREAM, 1, "AvatarState", 99, b"", 1.0))
    assert load_state(j, STREAM, avatar_folder) == full
    j.save_snapshot(SnapshotRecord(STREAM, 1, "SessionState", 1, b"", 1.0))
    assert load_state(j, STREAM, avatar_folder) == full


def test_failed_snapshot_save_is_not_fatal() -> None:
    class Broken(MemoryJournal):
        def save_snapshot(self, snapshot: SnapshotRecord, keep: int | None = None) -> None:
            from events.errors import StorageError

            raise StorageError("disk full")

    j = Broken()
    assert save_snapshot(j, STREAM, AvatarState(version=1)) is False

"""What the sampler plays: an initial avatar state plus events at times (ms from the start).

:func:`timeline_from_records` builds one from an avatar's event log, so a session replay is
rendered from the journal alone: the state folded before the window is the initial state and
each record's ``recorded_at`` (relative to the window start) is its cue time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from events.avatar import (
    AnimationTriggered,
    AvatarState,
    Customized,
    EmotionSet,
    SpeechInterrupted,
    SpeechStarted,
    StatePatched,
)
from events.base import Event
from events.records import RecordedEvent

CueEvent = (
    EmotionSet | StatePatched | AnimationTriggered | SpeechStarted | SpeechInterrupted | Customized
)
#: The event types that change what a frame shows; other events are not cues.
CUE_TYPES: tuple[type[Event], ...] = (
    EmotionSet,
    StatePatched,
    AnimationTriggered,
    SpeechStarted,
    SpeechInterrupted,
    Customized,
)


@dataclass(frozen=True, slots=True)
class Cue:
    """An event at ``at_ms`` from the start of the timeline (may be negative: began before)."""

    at_ms: float
    event: Event


@dataclass(frozen=True, slots=True)
class Timeline:
    """Initial state, cues sorted by time (stable for equal times), and the length to play."""

    initial: AvatarState
    cues: tuple[Cue, ...]
    duration_ms: float

    @classmethod
    def of(cls, initial: AvatarState, cues: Iterable[Cue], duration_ms: float) -> Timeline:
        """Sort ``cues`` (events that change nothing visible are dropped); ``duration_ms`` > 0."""
        if not duration_ms > 0:
            raise ValueError(f"duration_ms must be > 0, got {duration_ms}")
        ordered = sorted((c for c in cues if isinstance(c.event, CUE_TYPES)), key=lambda c: c.at_ms)
        return cls(initial, tuple(ordered), float(duration_ms))


def timeline_from_records(
    before: AvatarState,
    records: Iterable[RecordedEvent],
    start: float,
    end: float | None = None,
) -> Timeline:
    """The timeline of the window ``[start, end)`` (epoch seconds) of one avatar's records.

    ``before`` is the avatar's state folded up to the window (e.g. at a session's start
    version). An animation still running in ``before`` becomes a cue at a negative time so it
    continues; a speech in ``before`` carries no lip-sync track and is not replayed. Without
    ``end`` the window closes at the last record (at least 1 s long).
    """
    cues: list[Cue] = []
    anim = before.animation
    if anim is not None and anim.started_at is not None:
        cues.append(
            Cue(
                (anim.started_at - start) * 1000.0,
                AnimationTriggered(
                    name=anim.name,
                    loop=anim.loop,
                    duration_ms=anim.duration_ms,
                    intensity=anim.intensity,
                ),
            )
        )
    for r in records:
        if r.recorded_at < start or (end is not None and r.recorded_at >= end):
            continue
        if isinstance(r.event, CUE_TYPES):
            cues.append(Cue((r.recorded_at - start) * 1000.0, r.event))
    if end is not None:
        return Timeline.of(before, cues, (end - start) * 1000.0)
    return Timeline.of(before, cues, max(1000.0, natural_end_ms(cues)))


def natural_end_ms(cues: Iterable[Cue]) -> float:
    """When the last cue has played out: speech and one-shot animations finished, +0.5 s."""
    end = 0.0
    for c in cues:
        ev = c.event
        length = 0.0
        if isinstance(ev, SpeechStarted | AnimationTriggered):
            length = 0.0 if isinstance(ev, AnimationTriggered) and ev.loop else ev.duration_ms
        end = max(end, c.at_ms + length + 500.0)
    return end


def speech_cues(timeline: Timeline) -> Sequence[Cue]:
    """The SpeechStarted cues of ``timeline`` (their audio must be laid out at ``at_ms``)."""
    return [c for c in timeline.cues if isinstance(c.event, SpeechStarted)]

"""Timelines to render: from a sequence request (speech synthesised here), from a range of an
avatar's recorded events, or from a session (a replay reads only the journal), with the
idle-motion seed of a session replay."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from events.avatar import (
    AnimationTriggered,
    AvatarState,
    EmotionSet,
    SpeechStarted,
    StatePatched,
    avatar_folder,
)
from events.journal import Journal
from events.records import RecordedEvent
from events.replay import load_state
from events.session import SessionState, session_folder
from media.animation import Cue, Timeline, natural_end_ms, timeline_from_records
from media.speech import SpeechError, synthesize
from media.video import PcmAudio
from serve_app.rendering.errors import RenderFailure
from serve_app.rendering.models import SequenceRequest

StreamOf = Callable[[str, str], str]
"""``stream_of(kind, entity_id)`` -> the journal stream id (the tenant is bound in)."""


def session_seed(session_id: str) -> int:
    """A replay's idle-motion seed, fixed per session so that replays are identical."""
    return zlib.crc32(session_id.encode())


def sequence_timeline(
    req: SequenceRequest, initial: AvatarState
) -> tuple[Timeline, dict[str, PcmAudio]]:
    """The timeline of a sequence request; speech is synthesised here (espeak-ng)."""
    if req.traits is not None:
        initial = initial.model_copy(update={"traits": req.traits})
    cues: list[Cue] = []
    clips: dict[str, PcmAudio] = {}
    for i, s in enumerate(req.speech_cues()):
        try:
            spoken = synthesize(s.text, s.voice, rate=s.rate, pitch=s.pitch)
        except SpeechError as e:
            raise RenderFailure("speech_failed", f"speech {i}: {e}") from e
        uid = f"u{i}"
        clips[uid] = PcmAudio(spoken.pcm.astype(np.int16), spoken.sample_rate)
        event = SpeechStarted(
            utterance_id=uid,
            text=s.text,
            voice_id=s.voice,
            duration_ms=spoken.duration_ms,
            track=spoken.track,
        )
        cues.append(Cue(s.at_ms, event))
    for em in req.emotions:
        ev = EmotionSet(emotion=em.emotion, intensity=em.intensity, transition_ms=em.transition_ms)
        cues.append(Cue(em.at_ms, ev))
    for a in req.animations:
        anim = AnimationTriggered(
            name=a.animation, loop=a.loop, duration_ms=a.duration_ms, intensity=a.intensity
        )
        cues.append(Cue(a.at_ms, anim))
    for st in req.states:
        cues.append(Cue(st.at_ms, StatePatched(patch=st.state)))
    duration = req.duration_ms or max(1000.0, natural_end_ms(cues))
    return Timeline.of(initial, cues, duration), clips


def events_timeline(
    journal: Journal, stream_of: StreamOf, avatar_id: str, from_version: int, to_version: int | None
) -> Timeline:
    """The avatar's recorded events ``from_version..to_version`` at their recorded times."""
    stream = stream_of("avatar", avatar_id)
    highest = journal.highest_version(stream)
    if highest == 0:
        raise RenderFailure("avatar_not_found", f"avatar {avatar_id!r} not found")
    if from_version > highest or (to_version is not None and to_version < from_version):
        raise RenderFailure(
            "validation_error",
            f"no events in {from_version}..{to_version} (highest {highest})",
        )
    before = load_state(journal, stream, avatar_folder, version=from_version - 1)
    records = journal.read(stream, from_version, to_version)
    return timeline_from_records(before, records, records[0].recorded_at)


def session_timeline(
    journal: Journal, stream_of: StreamOf, session_id: str
) -> tuple[Timeline, SessionState, list[RecordedEvent]]:
    """A session's timeline from the journal alone: the avatar's state folded up to the
    session's start version, then its events inside the session window at their recorded
    times; with the session's state and records (markers, transcript)."""
    s_stream = stream_of("session", session_id)
    session_records = journal.read(s_stream)
    if not session_records:
        raise RenderFailure("session_not_found", f"session {session_id!r} not found")
    session = session_folder.fold(session_folder.initial(), session_records)
    if session.started_at is None:
        raise RenderFailure("session_not_started", f"session {session_id!r} never started")
    a_stream = stream_of("avatar", session.avatar_id)
    before = load_state(journal, a_stream, avatar_folder, version=session.avatar_version_start)
    records = journal.read(a_stream, session.avatar_version_start + 1, session.avatar_version_end)
    timeline = timeline_from_records(before, records, session.started_at, session.ended_at)
    return timeline, session, session_records

"""Timelines to render: from a sequence request (speech synthesised here), with the idle-motion
seed of a session replay."""

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
)
from media.animation import Cue, Timeline, natural_end_ms
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

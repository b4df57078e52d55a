"""One valid instance of every registered event type (tests fail when a type has none)."""

from __future__ import annotations

from events import avatar as a
from events import idempotency as i
from events import jobs as j
from events import keys as k
from events import presets, render_config
from events import session as s
from events.base import Event
from events.speech import LipSyncTrack, TimedPhone, TimedWord

TRACK = LipSyncTrack(
    duration_ms=500,
    phones=(
        TimedPhone(phone="HH", start_ms=0, end_ms=80),
        TimedPhone(phone="AY", start_ms=80, end_ms=400),
    ),
    words=(TimedWord(word="hi", start_ms=0, end_ms=400),),
)

SAMPLES: list[Event] = [
    a.AvatarCreated(avatar_id="a-1", tenant="default", name="Ada"),
    a.Customized(
        traits=a.Traits(hair_style="bun", glasses="round", accessories=("earrings",)),
        preset_id="p-1",
    ),
    a.ModelSelected(model_id="classic"),
    a.VoiceAttached(voice=a.Voice(voice_id="en-us", rate=160, pitch=40)),
    a.VoiceDetached(),
    a.EmotionSet(emotion="thoughtful", intensity=0.3, transition_ms=500),
    a.StatePatched(patch=a.StatePatch(gaze_x=0.5, idle=False)),
    a.AnimationTriggered(name="look_around", loop=True, duration_ms=2000, intensity=0.8),
    a.SpeechStarted(
        utterance_id="u-1",
        text="hi",
        voice_id="en-us",
        audio_asset_id="as-1",
        duration_ms=500,
        track=TRACK,
    ),
    a.SpeechInterrupted(utterance_id="u-1", at_ms=250),
    a.SnapshotTaken(asset_id="as-2", width=512, height=512),
    s.SessionStarted(
        session_id="s-1",
        tenant="default",
        avatar_id="a-1",
        avatar_version=3,
        metadata={"candidate": "x", "n": [1, 2]},
        ttl_seconds=600,
        expires_at=1_800_000_000.5,
    ),
    s.MarkerAdded(label="question-1", data={"k": 1}),
    s.TranscriptLine(speaker="user", text="Hello there"),
    s.SessionClosed(avatar_version=7, reason="done"),
    s.SessionExpired(avatar_version=8),
    presets.PresetCreated(
        preset_id="p-2", name="Host", description="warm", traits=a.Traits(hair_style="curly")
    ),
    presets.PresetUpdated(preset_id="p-2", name="Host", traits=a.Traits(glasses="square")),
    presets.PresetDeleted(preset_id="p-2"),
    render_config.ConfigSet(
        config=render_config.RenderConfig(quality="ultra", fps=48, width=640, height=360)
    ),
    j.JobQueued(
        job_id="job-" + "a" * 32,
        kind="replay",
        payload={"session_id": "s-1", "options": {"fps": 30}},
        session_id="s-1",
    ),
    j.JobClaimed(worker="ingress:host:1", attempt=1),
    j.JobHeartbeat(worker="ingress:host:1"),
    j.JobProgress(frames_done=12, frames_total=72),
    j.JobFinished(result={"asset_id": "as-3", "frames": 72}),
    j.JobFailed(error=j.JobError(status=500, code="render_failed", message="boom")),
    j.JobListed(job_id="job-" + "a" * 32),
    k.KeyIssued(key_id="key-1", tenant="acme", prefix="avk_abcdefgh", digest="0" * 64),
    k.KeyRevoked(key_id="key-1"),
    k.TokenSecretSet(secret="ab" * 32),
    i.RequestStarted(request="POST /api/v1/avatars/presets"),
    i.RequestCompleted(status=201, headers=[("content-type", "application/json")], body="e30="),
    i.RequestAbandoned(),
    j.JobUnlisted(job_id="job-" + "a" * 32),
]

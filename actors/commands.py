"""Commands an entity decides on, and what executing one returns.

Commands are validated pydantic models (bad input never reaches an actor); the ``command`` field
discriminates them, so the same models parse HTTP bodies and WebSocket command frames.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.avatar import (
    AnimationMs,
    AnimationName,
    Emotion,
    Intensity,
    StatePatch,
    Traits,
    TransitionMs,
    Voice,
)
from events.session import MAX_TTL_S
from events.speech import MAX_TEXT_CHARS, LipSyncTrack


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------- avatar


class SetEmotion(_Command):
    command: Literal["set_emotion"] = "set_emotion"
    emotion: Emotion
    intensity: Intensity = 0.5
    transition_ms: TransitionMs = 300


class PatchEmotion(_Command):
    """Change some of the emotion's fields; the avatar keeps the others (decided inside the
    entity, so two concurrent patches of different fields both take effect)."""

    command: Literal["patch_emotion"] = "patch_emotion"
    emotion: Emotion | None = None
    intensity: Intensity | None = None
    transition_ms: TransitionMs | None = None


class PatchState(_Command):
    command: Literal["patch_state"] = "patch_state"
    state: StatePatch


class TriggerAnimation(_Command):
    command: Literal["trigger_animation"] = "trigger_animation"
    name: AnimationName
    loop: bool = False
    duration_ms: AnimationMs = 1000
    intensity: Intensity = 1.0


class TakeSnapshot(_Command):
    """Record that a snapshot image of the current state was stored as ``asset_id``.

    Issued by the server after it stored the image, so it is not in :data:`AvatarCommand`
    (WebSocket clients cannot record snapshots that do not exist).
    """

    command: Literal["take_snapshot"] = "take_snapshot"
    asset_id: str = Field(min_length=1, max_length=200)
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class Customize(_Command):
    """Change the avatar's looks: ``changes`` merged over ``base`` (a preset's traits, with its
    ``preset_id``), or over the avatar's own traits when ``base`` is ``None`` (it then keeps the
    preset it was based on). The entity merges, so nothing read before can be stale."""

    command: Literal["customize"] = "customize"
    changes: dict[str, Any] = Field(default_factory=dict)
    base: Traits | None = None
    preset_id: str | None = None


class SelectModel(_Command):
    """Choose the face rig or uploaded model; the server checks the model exists first."""

    command: Literal["select_model"] = "select_model"
    model_id: str = Field(min_length=1, max_length=200)


class AttachVoice(_Command):
    command: Literal["attach_voice"] = "attach_voice"
    voice: Voice


class DetachVoice(_Command):
    command: Literal["detach_voice"] = "detach_voice"


class StartSpeech(_Command):
    """Record an utterance the server synthesised (audio stored as ``audio_asset_id``).

    Issued by the server after synthesis, so it is not in :data:`AvatarCommand`.
    """

    command: Literal["start_speech"] = "start_speech"
    utterance_id: str = Field(min_length=1, max_length=200)
    text: str
    voice_id: str
    audio_asset_id: str | None = None
    duration_ms: float = Field(ge=0)
    track: LipSyncTrack


class InterruptSpeech(_Command):
    """Stop the current utterance at the playhead (now - start, within the audio)."""

    command: Literal["interrupt_speech"] = "interrupt_speech"


class Touch(_Command):
    """Create the avatar if it does not exist yet (the seed creates avatars on first use)."""

    command: Literal["touch"] = "touch"


AvatarCommand = Annotated[
    SetEmotion | PatchEmotion | PatchState | TriggerAnimation | Touch | InterruptSpeech,
    Field(discriminator="command"),
]


# ---------------------------------------------------------------------------- session


class StartSession(_Command):
    command: Literal["start_session"] = "start_session"
    avatar_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int = Field(ge=1, le=MAX_TTL_S)


class CloseSession(_Command):
    command: Literal["close_session"] = "close_session"
    reason: str | None = None


class ExpireSession(_Command):
    command: Literal["expire_session"] = "expire_session"


class AddMarker(_Command):
    command: Literal["add_marker"] = "add_marker"
    label: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class AddTranscriptLine(_Command):
    command: Literal["add_transcript_line"] = "add_transcript_line"
    speaker: Literal["user", "avatar", "system"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


SessionCommand = Annotated[
    StartSession | CloseSession | ExpireSession | AddMarker | AddTranscriptLine,
    Field(discriminator="command"),
]


# ---------------------------------------------------------------------------- results


class CommandResult(BaseModel):
    """What a command did: the stream's version after it and the events it recorded.

    A retried command (same idempotency key) returns the first result with ``replayed=True``.
    """

    model_config = ConfigDict(frozen=True)

    stream_id: str
    version: int
    events: list[dict[str, Any]] = Field(default_factory=list)
    replayed: bool = False

"""Render request bodies (HTTP) and the specs the ingress hands to the Renderer deployment.

Everything a client can get wrong is validated here, in the ingress, so a bad request is a 422
before any replica is busy: sizes 64..4096 (16K is refused), fps 30..60, known formats,
emotions, animations and blendshape names.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from actors.naming import ID_PATTERN
from events.avatar import (
    AnimationMs,
    AnimationName,
    Emotion,
    Intensity,
    StatePatch,
    Traits,
    TransitionMs,
)
from events.picture import Quality, Shading, split_resolution
from events.render_config import RenderConfig
from events.speech import MAX_TEXT_CHARS
from media.animation import CHANNELS
from media.face import MAX_SIZE, MIN_SIZE
from media.speech.voices import DEFAULT_VOICE

ImageFormat = Literal["png", "jpeg", "webp"]
VideoFormat = Literal["mp4", "webm", "gif"]

MAX_SEQUENCE_MS = 15 * 60 * 1000

_FORMAT_ALIASES = {"jpg": "jpeg", "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}


def _format_alias(value: Any) -> Any:
    return _FORMAT_ALIASES.get(value.lower(), value.lower()) if isinstance(value, str) else value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Picture(_Body):
    """Size and look of the pictures."""

    width: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Pixels, 64..4096.")
    height: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Pixels, 64..4096.")
    shading: Shading | None = Field(
        None,
        description="Drawing style; default: the look of the avatar's model (the default "
        "classic rig: the configured shading, GET /config).",
    )
    quality: Quality = "high"
    antialiasing: bool = Field(True, description="Off draws hard edges (fast quality: always).")

    @model_validator(mode="before")
    @classmethod
    def _resolution(cls, data: Any) -> Any:
        """Accept the seed's ``"resolution": "1920x1080"`` (or ``[w, h]``, or one number)."""
        return split_resolution(data)


class FaceOverrides(_Body):
    """What to draw instead of (or on top of) an avatar's current state."""

    traits: Traits | None = Field(None, description="Appearance; the avatar's when absent.")
    emotion: Emotion | None = None
    intensity: Intensity | None = None
    state: StatePatch | None = Field(None, description="Face fields (gaze, head pose...).")
    parameters: dict[str, float] | None = Field(
        None,
        description="ARKit blendshape weights (0..1) and head_yaw/pitch/roll, gaze_x/y, "
        "added to the state's face.",
    )

    @field_validator("parameters")
    @classmethod
    def _known_channels(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            unknown = sorted(set(value) - set(CHANNELS))
            if unknown:
                raise ValueError(f"unknown face parameters: {', '.join(unknown[:5])}")
        return value


class FrameRequest(Picture, FaceOverrides):
    """``POST /render`` and ``POST /{avatar_id}/render``: one still frame."""

    avatar_id: str | None = Field(None, pattern=ID_PATTERN)
    format: ImageFormat = "png"
    response: Literal["image", "url"] = Field(
        "image", description="'image': the bytes; 'url': stored as an asset, its URL in JSON."
    )

    _fmt = field_validator("format", mode="before")(_format_alias)


class SpeechCue(_Body):
    at_ms: float = Field(0.0, ge=0, le=MAX_SEQUENCE_MS)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    voice: str = Field(DEFAULT_VOICE, min_length=1, max_length=100)
    rate: int = Field(175, ge=80, le=450)
    pitch: int = Field(50, ge=0, le=100)


class EmotionCue(_Body):
    at_ms: float = Field(0.0, ge=0, le=MAX_SEQUENCE_MS)
    emotion: Emotion
    intensity: Intensity = 0.7
    transition_ms: TransitionMs = 300


class AnimationCue(_Body):
    at_ms: float = Field(0.0, ge=0, le=MAX_SEQUENCE_MS)
    animation: AnimationName = Field(validation_alias=AliasChoices("animation", "name"))
    loop: bool = False
    duration_ms: AnimationMs = 1000
    intensity: Intensity = 1.0


class StateCue(_Body):
    at_ms: float = Field(0.0, ge=0, le=MAX_SEQUENCE_MS)
    state: StatePatch


class EventRange(_Body):
    """A range of an avatar's recorded events, played at their recorded times."""

    from_version: int = Field(1, ge=1)
    to_version: int | None = Field(None, ge=1)


class VideoOptions(Picture):
    format: VideoFormat = "mp4"
    fps: float = Field(30.0, ge=30, le=60)
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Idle motion (blinks, drift) seed.")

    _fmt = field_validator("format", mode="before")(_format_alias)


class SequenceRequest(VideoOptions):
    """``POST /render/sequence``: a timeline (speech, emotions, animations at times) or a range
    of an avatar's events, to a video."""

    avatar_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Start from this avatar's current state/looks."
    )
    traits: Traits | None = None
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS)
    voice: str = Field(DEFAULT_VOICE, min_length=1, max_length=100)
    speech: list[SpeechCue] = Field(default_factory=list, max_length=200)
    emotions: list[EmotionCue] = Field(default_factory=list, max_length=1000)
    animations: list[AnimationCue] = Field(default_factory=list, max_length=1000)
    states: list[StateCue] = Field(default_factory=list, max_length=1000)
    events: EventRange | None = Field(None, description="Render these events of avatar_id.")
    duration_ms: float | None = Field(
        None, gt=0, le=MAX_SEQUENCE_MS, description="Default: when the last cue has played."
    )
    response: Literal["json", "video"] = Field(
        "json", description="'json': asset URL and facts; 'video': the file itself."
    )
    background: bool = Field(False, description="Run as a job: 202 and a job id.")

    @model_validator(mode="after")
    def _something_to_play(self) -> SequenceRequest:
        if self.events is not None:
            if self.avatar_id is None:
                raise ValueError("events needs avatar_id")
            if self.text or self.speech or self.emotions or self.animations or self.states:
                raise ValueError("give either events or a timeline (text, speech, cues), not both")
        elif self.duration_ms is None and not (
            self.text or self.speech or self.emotions or self.animations or self.states
        ):
            raise ValueError("nothing to render: give text, cues, events or duration_ms")
        return self

    def speech_cues(self) -> list[SpeechCue]:
        cues = list(self.speech)
        if self.text:
            cues.insert(0, SpeechCue(at_ms=0.0, text=self.text, voice=self.voice))
        return cues


class ReplayRequest(VideoOptions):
    """``POST /session/{id}/replay``: options of the video (the content is the event log)."""

    seed: int | None = Field(  # type: ignore[assignment]
        None, ge=0, le=2**31 - 1, description="Default: derived from the session id."
    )


# shading is not filled in here: the model's look comes first (RenderWorker, options_of)
_CONFIGURED = ("width", "height", "quality", "antialiasing", "fps")
Configurable = TypeVar("Configurable", bound=Picture)


def with_config(request: Configurable, config: RenderConfig) -> Configurable:
    """``request`` with the service configuration's values for the fields the client omitted."""
    fields = type(request).model_fields
    unset = {
        name: getattr(config, name)
        for name in _CONFIGURED
        if name in fields and name not in request.model_fields_set
    }
    return request.model_copy(update=unset) if unset else request

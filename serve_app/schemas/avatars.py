"""Avatar routes' bodies: emotions, state, animations, the event log."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from actors.naming import ID_PATTERN
from events.avatar import (
    AnimationMs,
    AnimationName,
    Emotion,
    Intensity,
    StatePatch,
    TransitionMs,
)


class EmotionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    avatar_id: str = Field(pattern=ID_PATTERN)
    emotion: Emotion
    intensity: Intensity = 0.5
    transition_ms: TransitionMs = 300


class EmotionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emotion: Emotion | None = None
    intensity: Intensity | None = None
    transition_ms: TransitionMs | None = None


class EmotionView(BaseModel):
    avatar_id: str
    emotion: str
    intensity: float
    transition_ms: int
    version: int


class StatePatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: StatePatch = Field(description="Only these fields change; unknown fields -> 422.")


class StateView(BaseModel):
    avatar_id: str
    version: int
    state: dict[str, Any]


class AnimationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: AnimationName = Field(validation_alias=AliasChoices("name", "animation"))
    loop: bool = False
    duration_ms: AnimationMs = 1000
    intensity: Intensity = 1.0


class AnimationView(BaseModel):
    avatar_id: str
    animation: str
    loop: bool
    duration_ms: int
    intensity: float
    version: int
    status: str = "triggered"


class EventPage(BaseModel):
    stream_id: str
    events: list[dict[str, Any]]
    highest_version: int
    next_from_version: int | None = Field(description="Pass as from_version for the next page.")

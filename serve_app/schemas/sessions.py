"""Session routes' bodies: open, view, markers, transcript lines."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actors.naming import ID_PATTERN
from events.speech import MAX_TEXT_CHARS


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    avatar_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Avatar to talk through; a new one when absent."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int | None = Field(None, description="Lifetime, 60..86400 s by default.")


class SessionView(BaseModel):
    session_id: str
    avatar_id: str
    status: str
    created_at: str
    expires_at: str
    ended_at: str | None = None
    ttl_seconds: int
    metadata: dict[str, Any]
    avatar_version_start: int
    avatar_version_end: int | None = None
    markers: int
    transcript_lines: int
    version: int


class MarkerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class TranscriptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["user", "avatar", "system"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

"""The session stream: a conversation with one avatar, with a TTL."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from events.base import Event
from events.fold import Folder, State
from events.speech import MAX_TEXT_CHARS

SessionStatus = Literal["active", "closed", "expired"]
Speaker = Literal["user", "avatar", "system"]

MIN_TTL_S = 60
MAX_TTL_S = 86_400


class SessionStarted(Event):
    type: Literal["SessionStarted"] = "SessionStarted"
    session_id: str
    tenant: str
    avatar_id: str
    avatar_version: int = Field(ge=0, description="The avatar's version when the session began.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int = Field(ge=1, le=MAX_TTL_S, description="API default minimum: MIN_TTL_S.")
    expires_at: float


class MarkerAdded(Event):
    type: Literal["MarkerAdded"] = "MarkerAdded"
    label: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class TranscriptLine(Event):
    type: Literal["TranscriptLine"] = "TranscriptLine"
    speaker: Speaker
    text: str = Field(max_length=MAX_TEXT_CHARS)


class SessionClosed(Event):
    type: Literal["SessionClosed"] = "SessionClosed"
    avatar_version: int = Field(ge=0, description="The avatar's version when the session ended.")
    reason: str | None = None


class SessionExpired(Event):
    type: Literal["SessionExpired"] = "SessionExpired"
    avatar_version: int = Field(ge=0)


class SessionState(State):
    schema_version: ClassVar[int] = 1

    session_id: str = ""
    tenant: str = ""
    avatar_id: str = ""
    status: SessionStatus | None = None
    started_at: float | None = None
    expires_at: float | None = None
    ttl_seconds: int | None = None
    ended_at: float | None = None
    avatar_version_start: int = 0
    avatar_version_end: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    markers: int = 0
    transcript_lines: int = 0


session_folder: Folder[SessionState] = Folder(SessionState)
on = session_folder.mutator


@on(SessionStarted)
def _started(s: SessionState, e: SessionStarted, at: float) -> dict[str, Any]:
    return {
        "session_id": e.session_id,
        "tenant": e.tenant,
        "avatar_id": e.avatar_id,
        "status": "active",
        "started_at": at,
        "expires_at": e.expires_at,
        "ttl_seconds": e.ttl_seconds,
        "avatar_version_start": e.avatar_version,
        "metadata": e.metadata,
    }


@on(MarkerAdded)
def _marker(s: SessionState, e: MarkerAdded, at: float) -> dict[str, Any]:
    return {"markers": s.markers + 1}


@on(TranscriptLine)
def _line(s: SessionState, e: TranscriptLine, at: float) -> dict[str, Any]:
    return {"transcript_lines": s.transcript_lines + 1}


@on(SessionClosed)
def _closed(s: SessionState, e: SessionClosed, at: float) -> dict[str, Any]:
    return {"status": "closed", "ended_at": at, "avatar_version_end": e.avatar_version}


@on(SessionExpired)
def _expired(s: SessionState, e: SessionExpired, at: float) -> dict[str, Any]:
    return {"status": "expired", "ended_at": at, "avatar_version_end": e.avatar_version}

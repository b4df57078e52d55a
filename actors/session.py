"""The session entity's decisions: start, markers and transcript, close, expire (TTL)."""

from __future__ import annotations

from pydantic import BaseModel

from actors.aggregate import Aggregate, Context
from actors.commands import (
    AddMarker,
    AddTranscriptLine,
    CloseSession,
    ExpireSession,
    StartSession,
)
from actors.errors import Conflict, EntityError, NotFound
from actors.naming import stream_id
from events.base import Event
from events.session import (
    MarkerAdded,
    SessionClosed,
    SessionExpired,
    SessionStarted,
    SessionState,
    TranscriptLine,
    session_folder,
)


def avatar_version(ctx: Context, avatar_id: str) -> int:
    """The avatar's current version, read from the journal (the source of truth)."""
    return ctx.journal.highest_version(stream_id("avatar", ctx.tenant, avatar_id))


class SessionAggregate(Aggregate[SessionState]):
    kind = "session"
    folder = session_folder

    def decide(self, state: SessionState, command: BaseModel, ctx: Context) -> list[Event]:
        if isinstance(command, StartSession):
            if state.version > 0:
                raise Conflict(f"session {ctx.entity_id} already exists")
            return [
                SessionStarted(
                    session_id=ctx.entity_id,
                    tenant=ctx.tenant,
                    avatar_id=command.avatar_id,
                    avatar_version=avatar_version(ctx, command.avatar_id),
                    metadata=command.metadata,
                    ttl_seconds=command.ttl_seconds,
                    expires_at=ctx.now + command.ttl_seconds,
                )
            ]
        if state.version == 0:
            raise NotFound(f"session {ctx.entity_id} does not exist")
        if isinstance(command, CloseSession | ExpireSession) and state.status != "active":
            return []  # closing twice is fine: it stays closed
        if state.status != "active":
            raise Conflict(f"session {ctx.entity_id} is {state.status}")
        match command:
            case CloseSession(reason=reason):
                version = avatar_version(ctx, state.avatar_id)
                return [SessionClosed(avatar_version=version, reason=reason)]
            case ExpireSession():
                if state.expires_at is not None and ctx.now < state.expires_at:
                    return []
                return [SessionExpired(avatar_version=avatar_version(ctx, state.avatar_id))]
            case AddMarker(label=label, data=data):
                return [MarkerAdded(label=label, data=data)]
            case AddTranscriptLine(speaker=speaker, text=text):
                return [TranscriptLine(speaker=speaker, text=text)]
            case _:
                raise EntityError(f"a session does not take {type(command).__name__}")

    def next_due(self, state: SessionState) -> float | None:
        return state.expires_at if state.status == "active" else None

    def due(self, state: SessionState, ctx: Context) -> BaseModel | None:
        due_at = self.next_due(state)
        if due_at is not None and ctx.now >= due_at:
            return ExpireSession()
        return None

"""Session routes: start, read, close, markers and transcript lines, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Response

from actors.commands import AddMarker, AddTranscriptLine, CloseSession, StartSession
from serve_app.errors import ApiError
from serve_app.http import MAX_INT, IdempotencyKey, set_version
from serve_app.routes.avatars import event_page
from serve_app.routes.deps import GatewayDep, SessionId
from serve_app.schemas.avatars import EventPage
from serve_app.schemas.sessions import (
    MarkerRequest,
    SessionRequest,
    SessionView,
    TranscriptRequest,
)

router = APIRouter(tags=["sessions"])


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


def session_view(version: int, s: dict[str, Any]) -> SessionView:
    return SessionView(
        session_id=s["session_id"],
        avatar_id=s["avatar_id"],
        status=s["status"],
        created_at=_iso(s["started_at"]) or "",
        expires_at=_iso(s["expires_at"]) or "",
        ended_at=_iso(s["ended_at"]),
        ttl_seconds=s["ttl_seconds"],
        metadata=s["metadata"],
        avatar_version_start=s["avatar_version_start"],
        avatar_version_end=s["avatar_version_end"],
        markers=s["markers"],
        transcript_lines=s["transcript_lines"],
        version=version,
    )


@router.post("/session", response_model=SessionView, summary="Open a session with an avatar")
async def create_session(
    body: SessionRequest,
    gw: GatewayDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionView:
    s = gw.settings
    ttl = s.session_ttl_default_s if body.ttl_seconds is None else body.ttl_seconds
    if not s.session_ttl_min_s <= ttl <= s.session_ttl_max_s:
        raise ApiError(
            422,
            "validation_error",
            f"ttl_seconds must be within {s.session_ttl_min_s}..{s.session_ttl_max_s}",
        )
    avatar_id = body.avatar_id or f"avatar-{uuid.uuid4().hex[:12]}"
    await gw.create_avatar(avatar_id)  # recorded before the session points at it
    session_id = (
        f"s-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex}"
        if idempotency_key
        else f"s-{uuid.uuid4().hex}"
    )
    cmd = StartSession(avatar_id=avatar_id, metadata=body.metadata, ttl_seconds=ttl)
    result = await gw.command("session", session_id, cmd, idempotency_key=idempotency_key)
    set_version(response, result["version"])
    return session_view(result["version"], result["state"])


@router.get("/session/{session_id}", response_model=SessionView, summary="A session")
async def get_session(session_id: SessionId, gw: GatewayDep, response: Response) -> SessionView:
    view = await gw.session(session_id)
    set_version(response, view["version"])
    return session_view(view["version"], view["state"])


@router.delete(
    "/session/{session_id}",
    response_model=SessionView,
    summary="Close a session (closing again is fine; it stays closed)",
)
async def close_session(session_id: SessionId, gw: GatewayDep, response: Response) -> SessionView:
    await gw.require_session(session_id)
    result = await gw.command("session", session_id, CloseSession(reason="deleted"))
    set_version(response, result["version"])
    return session_view(result["version"], result["state"])


@router.post(
    "/session/{session_id}/markers",
    response_model=SessionView,
    summary="Record a marker (e.g. a question boundary)",
)
async def add_marker(
    session_id: SessionId,
    body: MarkerRequest,
    gw: GatewayDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionView:
    await gw.require_session(session_id)
    result = await gw.command(
        "session",
        session_id,
        AddMarker(label=body.label, data=body.data),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    return session_view(result["version"], result["state"])


@router.post(
    "/session/{session_id}/transcript",
    response_model=SessionView,
    summary="Record what was actually said (user or avatar turn)",
)
async def add_transcript_line(
    session_id: SessionId,
    body: TranscriptRequest,
    gw: GatewayDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SessionView:
    await gw.require_session(session_id)
    cmd = AddTranscriptLine(speaker=body.speaker, text=body.text)
    result = await gw.command("session", session_id, cmd, idempotency_key=idempotency_key)
    set_version(response, result["version"])
    return session_view(result["version"], result["state"])


@router.get(
    "/session/{session_id}/events", response_model=EventPage, summary="The session's event log"
)
async def session_events(
    session_id: SessionId,
    gw: GatewayDep,
    from_version: int = Query(1, ge=1, le=MAX_INT),
    limit: int = Query(100, ge=1, le=1000),
) -> EventPage:
    await gw.require_session(session_id)
    return await event_page(gw, "session", session_id, from_version, limit)

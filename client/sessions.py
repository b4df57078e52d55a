"""Sessions: open, read, close, markers and transcript lines, event log, replays."""

from __future__ import annotations

from typing import Any, Literal

from client.avatars import body
from client.transport import Transport
from serve_app.rendering.models import ReplayRequest
from serve_app.schemas import API_PREFIX
from serve_app.schemas.avatars import EventPage
from serve_app.schemas.jobs import JobView
from serve_app.schemas.sessions import (
    MarkerRequest,
    SessionRequest,
    SessionView,
    TranscriptRequest,
)


class SessionHandle:
    """``client.session(session_id)``."""

    def __init__(self, transport: Transport, session_id: str) -> None:
        self._t = transport
        self.session_id = session_id
        self._path = f"{API_PREFIX}/session/{session_id}"

    async def get(self) -> SessionView:
        return SessionView.model_validate((await self._t.request("GET", self._path)).json())

    async def close(self) -> SessionView:
        return SessionView.model_validate((await self._t.request("DELETE", self._path)).json())

    async def marker(self, label: str, data: dict[str, Any] | None = None) -> SessionView:
        req = MarkerRequest.model_validate({"label": label, "data": data or {}})
        reply = await self._t.request("POST", f"{self._path}/markers", json_body=body(req))
        return SessionView.model_validate(reply.json())

    async def transcript(
        self, speaker: Literal["user", "avatar", "system"], text: str
    ) -> SessionView:
        req = TranscriptRequest(speaker=speaker, text=text)
        reply = await self._t.request("POST", f"{self._path}/transcript", json_body=body(req))
        return SessionView.model_validate(reply.json())

    async def event_page(self, from_version: int = 1, limit: int = 100) -> EventPage:
        reply = await self._t.request(
            "GET", f"{self._path}/events", params={"from_version": from_version, "limit": limit}
        )
        return EventPage.model_validate(reply.json())

    async def replay(self, **options: Any) -> JobView:
        """Start rebuilding the session's video from its event log: a job (``client.jobs.wait``
        follows it). Options are :class:`ReplayRequest`'s (``format``, ``width``, ``fps``...)."""
        req = ReplayRequest.model_validate(options)
        reply = await self._t.request("POST", f"{self._path}/replay", json_body=body(req))
        return JobView.model_validate(reply.json())

    async def live_status(self) -> dict[str, Any]:
        out: dict[str, Any] = (await self._t.request("GET", f"{self._path}/live")).json()
        return out

    async def stop_live(self) -> dict[str, Any]:
        out: dict[str, Any] = (await self._t.request("DELETE", f"{self._path}/live")).json()
        return out


class Sessions:
    """``client.sessions``: open one; ``client.session(id)`` for the rest."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def open(
        self,
        avatar_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
    ) -> SessionView:
        fields = {"avatar_id": avatar_id, "metadata": metadata, "ttl_seconds": ttl_seconds}
        req = SessionRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        reply = await self._t.request("POST", f"{API_PREFIX}/session", json_body=body(req))
        return SessionView.model_validate(reply.json())

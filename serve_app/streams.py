"""WebSocket streams of an avatar and of a session.

Frames are JSON text (or msgpack binary with ``?format=msgpack``):

- ``{"type": "snapshot", "version", "state", ...}`` first;
- ``{"type": "event", "stream": "avatar"|"session", "version", "event": {...}}`` per event;
- ``{"type": "heartbeat", "version", "ts"}`` when nothing else was sent for a while;
- ``{"type": "lagged", "from_version"}`` when this subscriber fell behind the entity's buffer;
  the missing events follow, read from the journal (no gap, no duplicate);
- ``{"type": "progress", "stream": "render", "job_id", "status", "progress", ...}`` on a session
  stream while one of the session's render jobs (a replay) advances; not persisted, and the
  last one of a job carries its ``result`` (or ``error``);
- ``{"type": "ack", "id", "version", "events"}`` / ``{"type": "error", "id", "code", "message"}``
  answer command frames ``{"type": "command", "id", "command": "set_emotion", ...}``; a malformed
  frame gets an error frame and the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import msgpack
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from actors import prometheus
from actors.commands import AvatarCommand, SessionCommand
from actors.errors import EntityError
from actors.naming import Kind, check_id
from events.errors import JournalError
from serve_app.errors import ApiError
from serve_app.gateway import Gateway
from serve_app.http import MAX_INT
from serve_app.rendering.jobs import progress_frame
from serve_app.routes.deps import get_gateway

log = logging.getLogger(__name__)

router = APIRouter(tags=["streams"])

_avatar_commands: TypeAdapter[Any] = TypeAdapter(AvatarCommand)
_session_commands: TypeAdapter[Any] = TypeAdapter(SessionCommand)
_SESSION_COMMANDS = {"add_marker", "add_transcript_line"}

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


class FrameSocket:
    """Sends frames in the chosen encoding, one at a time."""

    def __init__(self, ws: WebSocket, binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self._lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._lock:
            if self.binary:
                await self.ws.send_bytes(msgpack.packb(frame, use_bin_type=True))
            else:
                await self.ws.send_text(json.dumps(frame, separators=(",", ":")))

    async def error(self, code: str, message: str, frame_id: Any = None) -> None:
        await self.send({"type": "error", "id": frame_id, "code": code, "message": message})

    async def receive(self) -> Any:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("bytes") is not None:
            return msgpack.unpackb(message["bytes"], raw=False)
        return json.loads(message["text"])


def _gateway(ws: WebSocket) -> Gateway:
    return get_gateway(ws)


def event_frame(stream: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "stream": stream, "version": event["version"], "event": event}


async def pump(
    gw: Gateway,
    sock: FrameSocket,
    kind: Kind,
    entity_id: str,
    cursor: int,
    heartbeat: bool,
    until: Any = None,
) -> None:
    """Forward an entity's events after ``cursor`` forever (or until ``until(event)`` is true)."""
    stream = kind
    while True:
        polled = await gw.wait(kind, entity_id, cursor, gw.settings.heartbeat_s)
        events = polled["events"]
        if polled["lagged"]:
            await sock.send({"type": "lagged", "stream": stream, "from_version": cursor + 1})
            records = await gw.events(kind, entity_id, cursor + 1, 10_000, polled["version"])
            events = [r.to_json() for r in records]
        for event in events:
            if event["version"] <= cursor:
                continue
            await sock.send(event_frame(stream, event))
            prometheus.fanned_out(stream, event["recorded_at"])
            cursor = event["version"]
            if until is not None and until(event):
                return
        if not events and heartbeat:
            await sock.send(
                {"type": "heartbeat", "stream": stream, "version": cursor, "ts": time.time()}
            )


async def serve_commands(
    gw: Gateway, sock: FrameSocket, avatar_id: str, session_id: str | None = None
) -> None:
    """Answer command frames until the client disconnects."""
    while True:
        try:
            frame = await sock.receive()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, msgpack.ExtraData) as e:
            await sock.error("bad_frame", f"frame is not valid JSON/msgpack: {e}")
            continue
        if not isinstance(frame, dict):
            await sock.error("bad_frame", "a frame must be an object")
            continue
        frame_id = frame.get("id")
        kind = frame.get("type")
        if kind == "ping":
            await sock.send({"type": "pong", "id": frame_id, "ts": time.time()})
            continue
        if kind != "command":
            await sock.error("bad_frame", f"unknown frame type {kind!r}", frame_id)
            continue
        body = {
            k: v
            for k, v in frame.items()
            if k not in ("type", "id", "expected_version", "idempotency_key")
        }
        try:
            if session_id is not None and body.get("command") in _SESSION_COMMANDS:
                target: tuple[Kind, str] = ("session", session_id)
                command = _session_commands.validate_python(body)
            else:
                target = ("avatar", avatar_id)
                command = _avatar_commands.validate_python(body)
            expected = frame.get("expected_version")
            if expected is not None and not isinstance(expected, int):
                raise ValueError("expected_version must be an integer")
            result = await gw.command(
                target[0],
                target[1],
                command,
                if_match=expected,
                idempotency_key=frame.get("idempotency_key"),
            )
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            await sock.error("validation_error", f"{where}: {first['msg']}", frame_id)
        except ValueError as e:
            await sock.error("validation_error", str(e), frame_id)
        except EntityError as e:
            await sock.error(e.code, e.message, frame_id)
        else:
            await sock.send(
                {
                    "type": "ack",
                    "id": frame_id,
                    "stream": target[0],
                    "version": result["version"],
                    "replayed": result["replayed"],
                    "events": [ev["type"] for ev in result["events"]],
                }
            )


async def run_until_first_done(*coros: Any) -> None:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect):
                raise exc
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


@router.websocket("/{avatar_id}/stream")
async def avatar_stream(
    ws: WebSocket, avatar_id: str, from_version: int | None = None, format: str = "json"
) -> None:
    """Live state of one avatar: snapshot, then every persisted event; accepts commands."""
    await ws.accept()
    prometheus.SUBSCRIBER_GAUGE.opened("avatar")
    try:
        await _avatar_stream(ws, avatar_id, from_version, format)
    finally:
        prometheus.SUBSCRIBER_GAUGE.closed("avatar")


async def _avatar_stream(
    ws: WebSocket, avatar_id: str, from_version: int | None, format: str
) -> None:
    sock = FrameSocket(ws, binary=format == "msgpack")
    gw = _gateway(ws)
    try:
        check_id(avatar_id, "avatar id")
        if from_version is not None and not 1 <= from_version <= MAX_INT:
            raise ValueError(f"from_version must be 1..{MAX_INT}")
    except ValueError as e:
        await sock.error("validation_error", str(e))
        await ws.close(CLOSE_BAD_REQUEST)
        return
    try:
        view = await gw.avatar(avatar_id)
        if from_version is not None and from_version <= view["version"]:
            view = (
                await gw.state_at("avatar", avatar_id, from_version - 1)
                if from_version > 1
                else {"version": 0, "state": None}
            )
        await sock.send(
            {
                "type": "snapshot",
                "stream": "avatar",
                "avatar_id": avatar_id,
                "version": view["version"],
                "state": view["state"],
            }
        )
        await run_until_first_done(
            pump(gw, sock, "avatar", avatar_id, view["version"], heartbeat=True),
            serve_commands(gw, sock, avatar_id),
        )
    except WebSocketDisconnect:
        return
    except EntityError as e:
        with contextlib.suppress(Exception):
            await sock.error(e.code, e.message)
            await ws.close(1011)


async def pump_render_progress(gw: Gateway, sock: FrameSocket, session_id: str) -> None:
    """Forever: a ``progress`` frame whenever one of the session's render jobs moves on.

    Watches the session's job index and the streams of its unfinished jobs through the
    process's journal tail, so it wakes on their events (and reads only what changed). Jobs
    already finished when the stream opened are not repeated.
    """
    jobs = gw.jobs
    index = jobs.session_stream(session_id)
    sent: dict[str, tuple[str | None, int]] = {}
    watching: dict[str, str] = {}  # stream id -> job id, for unfinished jobs
    async with gw.tailer.watch([index]) as watch:
        changed = {index}
        first = True
        while True:
            if index in changed:
                for job_id in await asyncio.to_thread(jobs.session_job_ids, session_id):
                    stream = jobs.stream(job_id)
                    if job_id not in sent and stream not in watching:
                        watch.add(stream)  # before reading it: no event can slip by
                        watching[stream] = job_id
                        changed.add(stream)
            for stream in [s for s in changed if s in watching]:
                job = await asyncio.to_thread(jobs.get, watching[stream])
                if job is None:  # listed, not written yet
                    continue
                key = (job.status, job.frames_done)
                if sent.get(job.job_id) != key:
                    sent[job.job_id] = key
                    if not (first and job.finished):
                        await sock.send(progress_frame(job))
                if job.finished:
                    watch.discard(stream)
                    del watching[stream]
            first = False
            changed = await watch.wait()


def _ends_session(event: dict[str, Any]) -> bool:
    return event["type"] in ("SessionClosed", "SessionExpired")


@router.websocket("/session/{session_id}/stream")
async def session_stream(ws: WebSocket, session_id: str, format: str = "json") -> None:
    """A session's events and its avatar's events while it lasts; closes 1000 when it ends."""
    await ws.accept()
    prometheus.SUBSCRIBER_GAUGE.opened("session")
    try:
        await _session_stream(ws, session_id, format)
    finally:
        prometheus.SUBSCRIBER_GAUGE.closed("session")


async def _session_stream(ws: WebSocket, session_id: str, format: str) -> None:
    sock = FrameSocket(ws, binary=format == "msgpack")
    gw = _gateway(ws)
    try:
        check_id(session_id, "session id")
        await gw.require_session(session_id)
    except (ValueError, ApiError):  # a bad id or no such session
        await ws.close(CLOSE_NOT_FOUND, "session not found")
        return
    except JournalError:  # not "not found": the client should retry
        prometheus.journal_error("stream")
        await ws.close(1011, "journal unavailable")
        return
    try:
        session = await gw.session(session_id)
        state = session["state"]
        avatar_id = state["avatar_id"]
        avatar = await gw.avatar(avatar_id)
        await sock.send(
            {
                "type": "snapshot",
                "stream": "session",
                "session_id": session_id,
                "version": session["version"],
                "state": state,
                "avatar": {
                    "avatar_id": avatar_id,
                    "version": avatar["version"],
                    "state": avatar["state"],
                },
            }
        )
        if state["status"] != "active":
            await ws.close(1000, f"session {state['status']}")
            return
        await run_until_first_done(
            pump(
                gw,
                sock,
                "session",
                session_id,
                session["version"],
                heartbeat=True,
                until=_ends_session,
            ),
            pump(gw, sock, "avatar", avatar_id, avatar["version"], heartbeat=False),
            pump_render_progress(gw, sock, session_id),
            serve_commands(gw, sock, avatar_id, session_id),
        )
        await ws.close(1000, "session ended")
    except WebSocketDisconnect:
        return
    except EntityError as e:
        with contextlib.suppress(Exception):
            await sock.error(e.code, e.message)
            await ws.close(1011)
    except JournalError:  # the render progress reads the journal: the client should retry
        prometheus.journal_error("stream")
        log.exception("session stream %s: journal unavailable", session_id)
        with contextlib.suppress(Exception):
            await ws.close(1011, "journal unavailable")

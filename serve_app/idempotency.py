"""``Idempotency-Key`` on every write, in one place: a retried request gets the first response.

Routes whose commands already carry the key to their entity (they declare the header) keep
doing that; every other write (uploads, presets, configuration, renders, replays, snapshots...)
goes through :class:`IdempotencyMiddleware`: the first request with a key records that it
started, runs, and records its response (:mod:`events.idempotency`); a retry with the same key
gets that response (``Idempotent-Replayed: true``) without running again; one that arrives while
the first still runs gets 409 ``idempotency_key_in_use`` with ``Retry-After``; the same key on
another route is a 422. A 5xx or a 429 (or a crash) abandons the record, so a retry runs again.
Keys are per tenant, and kept in the journal, so every ingress replica agrees.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.errors import VersionConflict
from events.idempotency import RequestAbandoned, RequestCompleted, RequestStarted
from events.journal import Journal
from events.types import NO_STREAM
from serve_app.errors import error_body
from serve_app.gateway import gateway_of

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY = 200
MAX_STORED_BODY = 4 * 1024 * 1024  # larger answers are not replayable: the retry runs again
STALE_AFTER_S = 120.0  # a start with no end after this long was a crash: a retry takes over
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def stream_of(tenant: str, key: str) -> str:
    return f"idempotency:{tenant}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class Begun:
    outcome: Literal["run", "replay", "busy", "mismatch"]
    version: int = 0
    response: RequestCompleted | None = None


def begin(journal: Journal, stream: str, request: str, now: float | None = None) -> Begun:
    """Claim ``stream`` for ``request``, or say why not (blocking)."""
    for _ in range(5):
        records = journal.read(stream)
        version = records[-1].version if records else 0
        expected: Any = version or NO_STREAM
        if records:
            first = records[0].event
            if isinstance(first, RequestStarted) and first.request != request:
                return Begun("mismatch")
            last = records[-1]
            if isinstance(last.event, RequestCompleted):
                return Begun("replay", version, last.event)
            fresh = (time.time() if now is None else now) - last.recorded_at < STALE_AFTER_S
            if isinstance(last.event, RequestStarted) and fresh:
                return Begun("busy")
        try:
            journal.append(stream, [RequestStarted(request=request)], expected)
        except VersionConflict:
            continue  # another request with this key moved first: look again
        return Begun("run", version + 1)
    return Begun("busy")


def finish(journal: Journal, stream: str, version: int, event: RequestCompleted | None) -> None:
    """Record the response (``None``: abandoned), if this request still owns the key."""
    with_end = event if event is not None else RequestAbandoned()
    # a conflict: taken over after going stale; the other one records its own end
    with contextlib.suppress(VersionConflict):
        journal.append(stream, [with_end], version)


@dataclass(frozen=True)
class _Operation:
    method: str
    pattern: re.Pattern[str]
    literals: int  # path segments that are not parameters: the most specific match wins
    declares_key: bool  # the route passes the key to its entity itself


def _operations(api: FastAPI) -> list[_Operation]:
    """The API's writes, from its OpenAPI document (routes are nested routers here)."""
    found = []
    for path, item in api.openapi().get("paths", {}).items():
        parts = path.strip("/").split("/")
        regex = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        literals = sum(not p.startswith("{") for p in parts)
        for method, operation in item.items():
            if method.upper() not in _WRITES:
                continue
            headers = {
                p.get("name", "").lower()
                for p in operation.get("parameters", [])
                if p.get("in") == "header"
            }
            found.append(
                _Operation(
                    method.upper(),
                    re.compile(f"^/{regex}$"),
                    literals,
                    HEADER.lower() in headers,
                )
            )
    return found


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._operations: list[_Operation] | None = None

    def _handled_by_us(self, scope: Scope) -> bool:
        """Whether the request is a write whose route does not take the key itself."""
        if self._operations is None:
            self._operations = _operations(self.api)
        method, path = scope["method"], scope["path"]
        matches = [o for o in self._operations if o.method == method and o.pattern.match(path)]
        if not matches:
            return False
        return not max(matches, key=lambda o: o.literals).declares_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if key is None or not self._handled_by_us(scope):
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY:
            await _json(send, 422, "validation_error", f"{HEADER} must be 1-{MAX_KEY} characters")
            return
        gw = gateway_of(scope)
        principal = scope.get("state", {}).get("principal")
        tenant = getattr(principal, "tenant", gw.settings.tenant)
        stream = stream_of(tenant, key)
        request = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode()}"
        begun = await asyncio.to_thread(begin, gw.journal, stream, request)
        if begun.outcome == "replay" and begun.response is not None:
            await _replay(send, begun.response)
            return
        if begun.outcome == "busy":
            await _json(
                send,
                409,
                "idempotency_key_in_use",
                "a request with this key is running",
                headers=[(b"retry-after", b"1")],
            )
            return
        if begun.outcome == "mismatch":
            await _json(send, 422, "idempotency_key_reused", f"this {HEADER} was used elsewhere")
            return
        await self._run(scope, receive, send, gw.journal, stream, begun.version)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, journal: Journal, stream: str, v: int
    ) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        body = bytearray()
        keep = True
        finished = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, keep, finished
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                if keep:
                    body.extend(message.get("body", b""))
                    keep = len(body) <= MAX_STORED_BODY
                if not message.get("more_body", False):
                    # recorded before the client has the answer: its retry finds it; a 429
                    # (a rate limit or quota) is "not now", so its retry runs again
                    done = status < 500 and status != 429 and keep
                    event = RequestCompleted(
                        status=status, headers=headers, body=base64.b64encode(body).decode()
                    )
                    try:
                        await asyncio.to_thread(finish, journal, stream, v, event if done else None)
                        finished = True
                    except Exception:  # not recorded: a retry runs again; this answer still goes
                        log.exception("idempotency record of %s failed", stream)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not finished:
                await asyncio.to_thread(finish, journal, stream, v, None)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k.lower() == name:
            return str(v.decode("latin-1").strip())
    return None


async def _replay(send: Send, response: RequestCompleted) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(response.body)})


async def _json(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})

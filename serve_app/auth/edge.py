"""The edge: every request's principal (its tenant, and its token's scope), as ASGI middleware
in front of every route, WebSockets included.

Credentials: ``Authorization: Bearer``, ``X-API-Key``, and for browsers ``?token=`` (tokens
only: a key in a URL would end up in logs) or a ``token.<credential>`` entry of
``Sec-WebSocket-Protocol`` (browsers cannot set headers on a WebSocket; the service then
accepts with ``avatar.v1`` when offered). A missing, unknown or revoked key, or a bad token, is
a 401 with ``WWW-Authenticate: Bearer`` (a WebSocket is closed with 1008 before it opens); a
token used outside its scope is a 403. An open WebSocket is closed (1008) when its key is
revoked (:mod:`serve_app.auth.revocation`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.auth.revocation import serve_while_valid
from serve_app.auth.tokens import (
    TOKEN_PREFIX,
    BadToken,
    TokenClaims,
    action_of,
    allows,
    read_token,
)
from serve_app.errors import error_body
from serve_app.gateway import Gateway, gateway_of
from serve_app.http import API_PREFIX
from serve_app.limits import bucket_of

SUBPROTOCOL = "avatar.v1"
_WS_CREDENTIAL = "token."
_OPEN = frozenset({"/health", "/version", f"{API_PREFIX}/health", f"{API_PREFIX}/version", "/"})
_DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


@dataclass(frozen=True)
class Principal:
    """Who is asking: a tenant, through a key (``key_id``) or a token (``token``)."""

    tenant: str
    key_id: str | None = None
    token: TokenClaims | None = None


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def principal_of(conn: HTTPConnection) -> Principal:
    """The request's principal (set by :class:`AuthMiddleware`)."""
    found = conn.scope.get("state", {}).get("principal")
    if isinstance(found, Principal):
        return found
    return Principal(gateway_of(conn).settings.tenant)


def is_open(path: str, docs_public: bool) -> bool:
    return path in _OPEN or path.startswith(("/web/", "/admin/")) or (docs_public and path in _DOCS)


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        gw = gateway_of(scope)
        settings = gw.settings
        path: str = scope["path"]
        if settings.auth == "none" or is_open(path, settings.docs_public):
            await self.app(scope, receive, send)
            return
        try:
            principal = await authenticate(scope)
        except Refused as e:
            await refuse(scope, send, e)
            return
        wait = _over_limit(gw, principal, scope)
        if wait is not None:
            await refuse(
                scope, send, Refused(429, "rate_limited", "over the key's rate limit"), wait
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        if kind == "websocket" and SUBPROTOCOL in _offered(scope):
            send = _accepting_with(send, SUBPROTOCOL)
        if kind == "websocket" and principal.key_id is not None:
            key_id = principal.key_id

            async def still_valid() -> bool:
                await gw.keys.fresh()
                return gw.keys.active(key_id)

            await serve_while_valid(
                self.app, scope, receive, send, still_valid, settings.key_refresh_s
            )
            return
        await self.app(scope, receive, send)


async def authenticate(scope: Scope) -> Principal:
    gw = gateway_of(scope)
    credential = _credential(scope)
    if credential is None:
        raise Refused(401, "unauthorized", "an API key is required (Authorization: Bearer)")
    if credential.startswith(TOKEN_PREFIX):
        try:
            claims = read_token(gw.token_secret(), credential)
        except BadToken as e:
            raise Refused(401, "invalid_token", f"token refused: {e}") from None
        await gw.keys.fresh()
        if claims.key_id is not None and not gw.keys.active(claims.key_id):
            raise Refused(401, "invalid_token", "token refused: its key was revoked")
        if not _in_scope(claims, scope):
            raise Refused(403, "token_scope", "this token does not reach this route")
        return Principal(claims.tenant, claims.key_id, claims)
    await gw.keys.fresh()
    record = gw.keys.lookup(credential)
    if record is None:
        await gw.keys.recheck()  # a key issued a moment ago on another replica
        record = gw.keys.lookup(credential)
    if record is None:
        raise Refused(401, "invalid_key", "unknown or revoked API key")
    return Principal(record.tenant, record.key_id)


def _in_scope(claims: TokenClaims, scope: Scope) -> bool:
    path: str = scope["path"]
    if not path.startswith(API_PREFIX + "/"):
        return False
    parts = path[len(API_PREFIX) + 1 :].split("/")
    live = len(parts) >= 3 and parts[0] == "session" and parts[2] == "live"
    action = action_of(scope.get("method", "GET"), scope["type"] == "websocket", live)
    return allows(claims, parts, action)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _offered(scope: Scope) -> list[str]:
    raw = _headers(scope).get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _credential(scope: Scope) -> str | None:
    headers = _headers(scope)
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    if headers.get("x-api-key"):
        return headers["x-api-key"].strip()
    if scope["type"] == "websocket":
        for offered in _offered(scope):
            if offered.startswith(_WS_CREDENTIAL):
                return offered[len(_WS_CREDENTIAL) :]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = query.get("token", [""])[0]
    return token if token.startswith(TOKEN_PREFIX) else None


def _accepting_with(send: Send, subprotocol: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": subprotocol}
        await send(message)

    return wrapped


def _over_limit(gw: Gateway, principal: Principal, scope: Scope) -> float | None:
    """Seconds to wait if the request is over its key's limit (keys only; reads are free)."""
    path: str = scope["path"]
    if principal.key_id is None or not path.startswith(API_PREFIX + "/"):
        return None
    bucket = bucket_of(scope.get("method", "GET"), path[len(API_PREFIX) + 1 :].split("/"))
    return None if bucket is None else gw.limiter.admit(principal.key_id, bucket)


async def refuse(scope: Scope, send: Send, e: Refused, retry_after: float | None = None) -> None:
    if scope["type"] == "websocket":  # before accept: the handshake fails (HTTP 403)
        await send({"type": "websocket.close", "code": 1008, "reason": e.message[:120]})
        return
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    if e.status == 401:
        challenge = 'Bearer error="invalid_token"' if e.code != "unauthorized" else "Bearer"
        headers.append((b"www-authenticate", challenge.encode()))
    if retry_after is not None:
        headers.append((b"retry-after", str(math.ceil(retry_after)).encode()))
    body = json.dumps(error_body(e.code, e.message)).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": e.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

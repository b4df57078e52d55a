"""Scoped tokens for browsers: ``avt_<claims>.<signature>``, HMAC-SHA256 over the claims.

A token names its tenant, the key that made it (revoking the key ends its tokens too), when it
expires, and what it may reach: some sessions' routes and some avatars' routes, for some
actions (``read``: GET; ``write``: other methods; ``stream``: WebSockets; ``live``: the
session's live stream). Nothing else: no lists, no assets, no other ids, no new tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TOKEN_PREFIX = "avt_"
Action = Literal["read", "write", "stream", "live"]
ACTIONS: tuple[Action, ...] = ("read", "write", "stream", "live")
#: First path segments that are routes, not avatar ids: a token never reaches them.
RESERVED = frozenset(
    [
        "assets",
        "models",
        "render",
        "jobs",
        "lipsync",
        "phonemes",
        "visemes",
        "voices",
        "voice",
        "session",
        "presets",
        "customize",
        "config",
        "performance",
        "emotions",
        "health",
        "version",
        "status",
        "tokens",
    ]
)


class TokenClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str
    key_id: str | None = None
    expires_at: float
    sessions: tuple[str, ...] = ()
    avatars: tuple[str, ...] = ()
    actions: tuple[Action, ...] = Field(default=("read", "stream", "live"))


class BadToken(Exception):
    """Malformed, tampered with or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def make_token(secret: bytes, claims: TokenClaims) -> str:
    body = _b64(json.dumps(claims.model_dump(mode="json"), separators=(",", ":")).encode())
    return f"{TOKEN_PREFIX}{body}.{_sign(secret, body)}"


def read_token(secret: bytes, token: str, now: float | None = None) -> TokenClaims:
    """The claims of a valid token; :class:`BadToken` otherwise."""
    if not token.startswith(TOKEN_PREFIX) or token.count(".") != 1:
        raise BadToken("not a token")
    body, signature = token[len(TOKEN_PREFIX) :].split(".")
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise BadToken("bad signature")
    try:
        claims = TokenClaims.model_validate_json(_unb64(body))
    except (ValueError, ValidationError):
        raise BadToken("bad claims") from None
    if claims.expires_at <= (time.time() if now is None else now):
        raise BadToken("expired")
    return claims


def action_of(method: str, websocket: bool, live: bool) -> Action:
    if live:
        return "live"
    if websocket:
        return "stream"
    return "read" if method in ("GET", "HEAD") else "write"


def allows(claims: TokenClaims, parts: list[str], action: Action) -> bool:
    """Whether the token reaches the API path ``parts`` (segments after the API prefix)."""
    if action not in claims.actions:
        return False
    if len(parts) >= 2 and parts[0] == "session":
        return parts[1] in claims.sessions
    return len(parts) >= 2 and parts[0] not in RESERVED and parts[0] in claims.avatars

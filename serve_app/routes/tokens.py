"""``POST /tokens``: a short-lived token scoped to some sessions and avatars, for a browser
(the API key stays on the app's server)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from actors.naming import ID_PATTERN
from serve_app.auth.edge import principal_of
from serve_app.auth.tokens import Action, TokenClaims, make_token
from serve_app.errors import ApiError
from serve_app.routes.deps import GatewayDep

router = APIRouter(tags=["tokens"])

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def _default_actions() -> list[Action]:
    return ["read", "stream", "live"]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[Id] = Field(default_factory=list, max_length=50)
    avatars: list[Id] = Field(default_factory=list, max_length=50)
    actions: list[Action] = Field(
        default_factory=_default_actions,
        min_length=1,
        description="read (GET), write (other methods), stream (WebSockets), live (WebRTC).",
    )
    ttl_s: int = Field(300, ge=10, le=86_400, description="Life in seconds (capped by settings).")

    @model_validator(mode="after")
    def _something(self) -> TokenRequest:
        if not self.sessions and not self.avatars:
            raise ValueError("name at least one session or avatar")
        return self


class TokenOut(BaseModel):
    token: str
    tenant: str
    expires_at: float
    sessions: list[str]
    avatars: list[str]
    actions: list[Action]


@router.post(
    "/tokens",
    response_model=TokenOut,
    summary="A short-lived token for a browser: these sessions' and avatars' routes only",
)
async def create_token(body: TokenRequest, request: Request, gw: GatewayDep) -> TokenOut:
    principal = principal_of(request)
    if principal.token is not None:
        raise ApiError(403, "token_scope", "a token cannot make tokens; use an API key")
    ttl = min(body.ttl_s, gw.settings.token_max_ttl_s)
    claims = TokenClaims(
        tenant=gw.tenant,
        key_id=principal.key_id,
        expires_at=time.time() + ttl,
        sessions=tuple(dict.fromkeys(body.sessions)),
        avatars=tuple(dict.fromkeys(body.avatars)),
        actions=tuple(dict.fromkeys(body.actions)),
    )
    return TokenOut(
        token=make_token(gw.token_secret(), claims),
        tenant=claims.tenant,
        expires_at=claims.expires_at,
        sessions=list(claims.sessions),
        avatars=list(claims.avatars),
        actions=list(claims.actions),
    )

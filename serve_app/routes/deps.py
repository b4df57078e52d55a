"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from actors.naming import ID_PATTERN
from serve_app import gateway
from serve_app.gateway import Gateway


def get_gateway() -> Gateway:
    return gateway.current()


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
AvatarId = Annotated[str, Path(pattern=ID_PATTERN, description="Client-chosen avatar id.")]
SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="Session id from POST /session.")]

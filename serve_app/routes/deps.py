"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from actors.naming import ID_PATTERN
from serve_app.auth.edge import principal_of
from serve_app.gateway import Gateway, gateway_of


def get_gateway(conn: HTTPConnection) -> Gateway:
    """The gateway as the request's tenant (from its key or token) sees it."""
    return gateway_of(conn).for_tenant(principal_of(conn).tenant)


async def _request_gateway(conn: HTTPConnection) -> Gateway:
    """``get_gateway`` as a dependency: async, so FastAPI calls it on the event loop instead of
    handing every request to a worker thread and back (a sync dependency runs in a thread)."""
    return get_gateway(conn)


GatewayDep = Annotated[Gateway, Depends(_request_gateway)]
AvatarId = Annotated[str, Path(pattern=ID_PATTERN, description="Client-chosen avatar id.")]
SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="Session id from POST /session.")]

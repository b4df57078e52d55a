"""WebSockets end when the key they were opened with is revoked.

A key is checked when a connection opens; a WebSocket then lives for minutes or hours, so the
edge keeps asking, every ``key_refresh_s`` (the key ring re-reads the journal at most that
often, for every connection of the replica at once), whether its key (or the key that minted
its token) is still active. When it is not, the client gets a close frame with code 1008
(policy violation, as a refused handshake) and the route's handler is cancelled, so its
subscriptions end with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

CLOSE_REVOKED = 1008
REASON = "API key revoked"


async def serve_while_valid(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    still_valid: Callable[[], Awaitable[bool]],
    every_s: float,
) -> None:
    """Run the WebSocket ``app`` until it ends, or until ``still_valid()`` says no."""
    closed = False

    async def guarded_send(message: Message) -> None:
        if closed:  # the handler raced the close: it ends as on a client's disconnect
            raise WebSocketDisconnect(CLOSE_REVOKED, REASON)
        await send(message)

    task = asyncio.ensure_future(app(scope, receive, guarded_send))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every_s)
            if done:
                break
            if await still_valid():
                continue
            closed = True
            with contextlib.suppress(Exception):  # the client may be gone already
                await send({"type": "websocket.close", "code": CLOSE_REVOKED, "reason": REASON})
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return
    finally:
        if not task.done():
            task.cancel()
    await task  # the handler's own outcome (its exception, if it raised)

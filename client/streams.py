"""An avatar's events over its WebSocket, reconnecting by itself with no gap and no duplicate.

The stream remembers the version of the last event it delivered. After a broken connection
(the ingress replica restarted, the network dropped, no frame for ``stream_idle_s``) it
connects again with ``?from_version=last + 1``: the service sends every event after that
version from the journal, then the live ones. An event at or below the last version is
dropped (a duplicate); one past ``last + 1`` (which the service never sends) is preceded by
the missing ones, read from ``GET /{avatar_id}/events``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from client.errors import ApiError, ConnectionFailed
from client.transport import RETRIED_STATUSES, Transport
from serve_app.schemas import API_PREFIX
from serve_app.schemas.avatars import EventPage
from serve_app.schemas.events import RecordedEvent

log = logging.getLogger(__name__)

#: WebSocket close codes of the service that mean "do not come back".
_FINAL_CLOSES = {
    4400: (400, "bad_request"),
    4401: (401, "unauthorized"),
    4403: (403, "forbidden"),
    4404: (404, "not_found"),
}


class _Broken(Exception):
    """The connection ended without the stream being over: connect again."""


class AvatarEventStream:
    """``async for event in stream``: the avatar's :class:`RecordedEvent` s, in version order.

    ``from_version=N`` starts at version N (history first, then live); ``None`` starts after
    the current version (live only). ``snapshot`` is the first ``snapshot`` frame (the state
    the stream started from), ``last_version`` the version of the last event delivered,
    ``reconnects`` how often it connected again.
    """

    def __init__(self, transport: Transport, avatar_id: str, from_version: int | None) -> None:
        if from_version is not None and from_version < 1:
            raise ValueError("from_version must be >= 1")
        self._t = transport
        self.avatar_id = avatar_id
        self.last_version: int | None = None if from_version is None else from_version - 1
        self.snapshot: dict[str, Any] | None = None
        self.reconnects = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False

    def __aiter__(self) -> AsyncIterator[RecordedEvent]:
        return self._run()

    async def close(self) -> None:
        """End the iteration (from another task); breaking out of ``async for`` does too."""
        self._closed = True
        if self._ws is not None:
            await self._ws.close()

    async def _run(self) -> AsyncIterator[RecordedEvent]:
        s = self._t.settings
        failures = 0
        while True:
            try:
                async for event in self._connection():
                    failures = 0
                    yield event
            except _Broken as e:
                reason = str(e)
            if self._closed:
                return
            failures += 1
            if s.stream_reconnects is not None and failures > s.stream_reconnects:
                raise ConnectionFailed(f"stream of avatar {self.avatar_id!r}: {reason}")
            pause = s.backoff(failures - 1)
            log.info("stream of %s broke (%s); again in %.2f s", self.avatar_id, reason, pause)
            await asyncio.sleep(pause)
            self.reconnects += 1

    async def _connection(self) -> AsyncIterator[RecordedEvent]:
        s = self._t.settings
        params = {} if self.last_version is None else {"from_version": self.last_version + 1}
        url = self._t.ws_url(f"{API_PREFIX}/{self.avatar_id}/stream", params)
        try:
            ws = await self._t.session.ws_connect(
                url, headers=self._t.headers(), autoping=True, receive_timeout=None
            )
        except aiohttp.WSServerHandshakeError as e:
            if e.status >= 500 or e.status in RETRIED_STATUSES:  # restarting, busy
                raise _Broken(f"handshake {e.status}") from e
            raise ApiError.from_response(e.status, e.message) from e
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise _Broken(f"{type(e).__name__}: {e}") from e
        self._ws = ws
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=s.stream_idle_s)
                except TimeoutError as e:
                    raise _Broken(f"no frame for {s.stream_idle_s} s") from e
                except (aiohttp.ClientError, OSError) as e:
                    raise _Broken(f"{type(e).__name__}: {e}") from e
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    for event in await self._frame(json.loads(msg.data)):
                        yield event
                    continue
                if msg.type == aiohttp.WSMsgType.ERROR:
                    raise _Broken(f"error: {ws.exception()!r}")
                break  # closing or closed
        finally:
            self._ws = None
            await ws.close()
        code = ws.close_code
        if code in _FINAL_CLOSES:
            status, name = _FINAL_CLOSES[code]
            raise ApiError.from_response(status, {"code": name, "message": f"stream closed {code}"})
        raise _Broken(f"closed {code}")

    async def _frame(self, frame: dict[str, Any]) -> list[RecordedEvent]:
        kind = frame.get("type")
        if kind == "snapshot":
            if self.snapshot is None:
                self.snapshot = frame
            if self.last_version is None:
                self.last_version = int(frame["version"])
            return []
        if kind == "error" and frame.get("id") is None:
            if frame.get("code") == "validation_error":  # a bad id or version: final
                raise ApiError.from_response(422, frame)
            # the entity is restarting or the journal unreachable: the service closes, we retry
            raise _Broken(f"{frame.get('code')}: {frame.get('message')}")
        if kind != "event":
            return []  # heartbeat, lagged (the missing events follow), acks
        version = int(frame["version"])
        last = self.last_version or 0
        if version <= last:
            return []
        out = []
        if version > last + 1:
            out = await self._missing(last + 1, version - 1)
        out.append(RecordedEvent.model_validate(frame["event"]))
        self.last_version = version
        return out

    async def _missing(self, first: int, last: int) -> list[RecordedEvent]:
        found: list[RecordedEvent] = []
        cursor: int | None = first
        while cursor is not None and cursor <= last:
            reply = await self._t.request(
                "GET",
                f"{API_PREFIX}/{self.avatar_id}/events",
                params={"from_version": cursor, "limit": min(1000, last - cursor + 1)},
            )
            page = EventPage.model_validate(reply.json())
            found += [RecordedEvent.model_validate(e) for e in page.events]
            cursor = page.next_from_version
        return [e for e in found if e.version <= last]

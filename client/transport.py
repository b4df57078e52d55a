"""One HTTP request with the client's manners: auth, idempotency keys, retries, errors.

Retried: connection errors and timeouts, 502/503/504, a 500 that is not the service's own
error JSON (Serve's proxy when a replica died mid-request), and 429 (after its ``Retry-After``).
Writes carry an ``Idempotency-Key``, the same on every attempt, so a retry whose first attempt
was recorded after all is answered with the first response and records nothing new. With
keys turned off (``idempotency_keys=False``) a write is sent once, never retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from client.errors import ApiError, ConnectionFailed
from client.settings import ClientSettings

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIED_STATUSES = frozenset({429, 502, 503, 504})

Body = Callable[[], Any]
"""Makes the request body for one attempt (a file is opened again for each)."""


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Transport:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        settings: ClientSettings,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.settings = settings
        self._session = session
        self._own_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            s = self.settings
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=s.timeout_s, connect=s.connect_timeout_s)
            )
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def ws_url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The WebSocket URL of ``path``. An API key travels in the ``Authorization`` header
        (:meth:`headers`, sent on the handshake too), never in a URL, where it would land in
        access logs (the service refuses keys there); a scoped token (``avt_...``) may also go
        as ``?token=``."""
        url = self.url(path).replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        if self.api_key and self.api_key.startswith("avt_"):
            query["token"] = self.api_key
        if query:
            url += "?" + "&".join(f"{k}={_quote(v)}" for k, v in query.items())
        return url

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        out = {"Accept": "application/json"}
        if self.api_key:
            out["Authorization"] = f"Bearer {self.api_key}"
        out.update(extra or {})
        return out

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: Body | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        ok: tuple[int, ...] = (),
    ) -> Reply:
        """Send, retrying what may be retried; an error status raises :class:`ApiError`
        (statuses in ``ok`` are returned instead)."""
        s = self.settings
        hdrs = self.headers(headers)
        if method in WRITES and s.idempotency_keys:
            hdrs.setdefault("Idempotency-Key", idempotency_key or uuid.uuid4().hex)
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        # a write without a key is sent once: a retry could record it twice
        retries = s.retries if method not in WRITES or "Idempotency-Key" in hdrs else 0
        attempt = 0
        while True:
            try:
                data = body() if body is not None else None
                async with self.session.request(
                    method,
                    self.url(path),
                    json=json_body,
                    data=data,
                    params=query,
                    headers=hdrs,
                ) as resp:
                    reply = Reply(resp.status, resp.headers, await resp.read())
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as e:
                if attempt >= retries:
                    raise ConnectionFailed(f"{method} {path}: {type(e).__name__}: {e}") from e
                pause = s.backoff(attempt)
                log.info("%s %s: %s; retrying in %.2f s", method, path, type(e).__name__, pause)
            else:
                if reply.status < 400 or reply.status in ok:
                    return reply
                err = ApiError.from_response(reply.status, _body_of(reply), _retry_after(reply))
                if not _retried(err) or attempt >= retries:
                    raise err
                pause = err.retry_after if err.retry_after is not None else s.backoff(attempt)
                if pause > s.max_retry_after_s:
                    raise err
                log.info("%s %s: %s; retrying in %.2f s", method, path, err, pause)
            attempt += 1
            await asyncio.sleep(pause)


def _retried(err: ApiError) -> bool:
    """Worth another attempt: the service is busy or restarting. A plain 500 page (not our
    error JSON) comes from Serve's proxy when the replica answering died mid-request."""
    return err.status in RETRIED_STATUSES or (err.status == 500 and not err.from_service)


def _body_of(reply: Reply) -> Any:
    try:
        return reply.json()
    except ValueError:
        return reply.body.decode("utf-8", "replace")[:500]


def _retry_after(reply: Reply) -> float | None:
    value = reply.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: not worth parsing, back off as usual
        return None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quote(value: str) -> str:
    return quote(value, safe="")

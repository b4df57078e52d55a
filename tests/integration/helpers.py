"""Small client helpers for the integration tests (aiohttp, as users of the service would)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp


def new_id(prefix: str = "av") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    async with http.request(method, url, json=body, headers=headers) as r:
        text = await r.text()
        data = json.loads(text) if text and r.content_type == "application/json" else text
        return r.status, data, {k.lower(): v for k, v in r.headers.items()}


async def frames(
    ws: aiohttp.ClientWebSocketResponse, n: int, timeout: float = 10, skip_heartbeats: bool = True
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        msg = await ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
        frame = json.loads(msg.data)
        if skip_heartbeats and frame["type"] == "heartbeat":
            continue
        out.append(frame)
    return out


async def all_events(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    """Every event of a stream through the paged events route."""
    events: list[dict[str, Any]] = []
    start: int | None = 1
    while start is not None:
        status, page, _ = await call(http, "GET", f"{url}?from_version={start}&limit=1000")
        assert status == 200, page
        events += page["events"]
        start = page["next_from_version"]
    return events

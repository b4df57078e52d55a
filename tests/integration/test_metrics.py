"""The Prometheus metrics on the node's metrics port move with the traffic (Ray serves them)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bench.scrape import Sample, buckets, metrics_ports, scrape, total
from tests.integration.conftest import Service
from tests.integration.helpers import call, frames, new_id
from tests.waiting import until

pytestmark = [pytest.mark.configurations("hosted"), pytest.mark.timeout(120)]


async def _scrape() -> list[Sample]:
    [port] = metrics_ports()  # one node
    return await asyncio.to_thread(scrape, port)


def _fanout_count(samples: list[Sample]) -> float:
    counts = buckets(samples, "ray_avatar_fanout_seconds", stream="avatar")
    return counts[-1][1] if counts else 0.0


async def test_commands_appends_and_fanout_show_on_the_metrics_port(
    service: Service, http: aiohttp.ClientSession
) -> None:
    ok = {"kind": "avatar", "command": "set_emotion", "outcome": "ok"}
    before = await _scrape()
    aid = new_id()
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream") as ws:
        await frames(ws, 1)  # the snapshot
        for i in range(5):
            body = {"avatar_id": aid, "emotion": "happy", "intensity": i / 10}
            status, _, _ = await call(http, "POST", f"{service.api}/emotions", body)
            assert status == 200
        await frames(ws, 5)

        async def moved() -> list[Sample] | None:
            now = await _scrape()
            done = (
                total(now, "ray_avatar_commands_total", **ok)
                >= total(before, "ray_avatar_commands_total", **ok) + 5
                and total(now, "ray_avatar_appends_total", kind="avatar")
                >= total(before, "ray_avatar_appends_total", kind="avatar") + 5
                and _fanout_count(now) >= _fanout_count(before) + 5
                and total(now, "ray_avatar_websocket_subscribers", stream="avatar") >= 1
            )
            return now if done else None

        after = await until(moved, timeout=60, interval=1, what="the metrics to move")
    assert total(after, "ray_avatar_live_entities") >= 1
    assert total(after, "ray_avatar_append_seconds_count", kind="avatar") >= 5

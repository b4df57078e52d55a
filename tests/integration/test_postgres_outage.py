"""The PostgreSQL server lost while the service runs under load: commands answer 503
(retryable), nothing acknowledged is lost or doubled, and the service recovers by itself."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.integration.conftest import Service
from tests.integration.helpers import all_events, call, new_id
from tests.pg import PgServer
from tests.waiting import until

pytestmark = [pytest.mark.configurations("postgres"), pytest.mark.timeout(240)]


async def test_a_lost_server_answers_503_loses_nothing_and_recovers(
    service: Service, http: aiohttp.ClientSession, pg_server: PgServer
) -> None:
    assert pg_server.owned, "the outage needs a server this test session started"
    aid = new_id()
    status, _, _ = await call(http, "GET", f"{service.api}/{aid}/state")
    assert status == 200
    acked: dict[float, int] = {}
    failed: set[float] = set()
    other: list[tuple[int, object]] = []
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            intensity = round((w * 10_000 + i) / 100_000, 5)
            status, body, _ = await call(
                http,
                "POST",
                f"{service.api}/emotions",
                {"avatar_id": aid, "emotion": "happy", "intensity": intensity},
                {"Idempotency-Key": f"{aid}-{w}-{i}"},
            )
            if status == 200:
                acked[intensity] = body["version"]
            elif status == 503:
                failed.add(intensity)
            else:
                other.append((status, body))
            i += 1
            await asyncio.sleep(0.02)

    writers = [asyncio.create_task(writer(w)) for w in range(4)]
    try:
        await until(lambda: len(acked) >= 20, timeout=60, what="20 commands before the outage")
        await asyncio.to_thread(pg_server.stop)
        try:
            await until(lambda: len(failed) >= 4, timeout=60, what="503s while the server is down")
        finally:
            await asyncio.to_thread(pg_server.start)
        after = len(acked)
        await until(
            lambda: len(acked) >= after + 20, timeout=90, what="commands acknowledged again"
        )
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert not other, other[:3]
    events = await all_events(http, f"{service.api}/{aid}/events")
    by_version = {e["version"]: e for e in events}
    for intensity, version in acked.items():
        assert by_version[version]["data"]["intensity"] == intensity
    recorded = [e["data"]["intensity"] for e in events if e["type"] == "EmotionSet"]
    assert len(recorded) == len(set(recorded)), "a command was recorded twice"
    assert set(acked) <= set(recorded) <= set(acked) | failed

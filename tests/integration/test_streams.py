"""WebSocket streams: snapshot, live events, catch-up, lag, commands, sessions, TTL."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.integration.conftest import CONFIGURATIONS, Service
from tests.integration.helpers import call, frames, new_id

pytestmark = pytest.mark.configurations(*CONFIGURATIONS)


async def emotions(http: aiohttp.ClientSession, service: Service, aid: str, n: int) -> None:
    for i in range(n):
        status, body, _ = await call(
            http,
            "POST",
            f"{service.api}/emotions",
            {"avatar_id": aid, "emotion": "happy", "intensity": i / n},
        )
        assert status == 200, body


async def test_snapshot_then_live_events_and_heartbeats(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    await emotions(http, service, aid, 1)
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream") as ws:
        [snap] = await frames(ws, 1)
        assert snap["type"] == "snapshot" and snap["version"] == 2
        assert snap["state"]["emotion"]["emotion"] == "happy"
        await call(http, "PATCH", f"{service.api}/{aid}/state", {"state": {"gaze_x": 0.3}})
        [event] = await frames(ws, 1)
        assert event["type"] == "event" and event["version"] == 3
        assert event["event"]["type"] == "StatePatched"
        [beat] = await frames(ws, 1, skip_heartbeats=False)
        assert beat["type"] == "heartbeat" and beat["version"] == 3


async def test_catch_up_from_version_has_no_gap_or_duplicate(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    await emotions(http, service, aid, 79)  # 80 events, more than the 50-event buffer
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream?from_version=3") as ws:
        [snap] = await frames(ws, 1)
        assert snap["type"] == "snapshot" and snap["version"] == 2
        caught_up = await frames(ws, 79)  # a "lagged" frame, then events 3..80
        assert caught_up[0] == {"type": "lagged", "stream": "avatar", "from_version": 3}
        got = [f for f in caught_up if f["type"] == "event"]
        writer = asyncio.create_task(emotions(http, service, aid, 5))
        got += [f for f in await frames(ws, 5) if f["type"] == "event"]
        await writer
    versions = [f["version"] for f in got]
    assert versions == list(range(3, 86))


async def test_a_subscriber_reading_late_gets_every_event_in_order(
    service: Service, http: aiohttp.ClientSession
) -> None:
    """60 events land while the client does not read its socket. (The buffer-overflow resync,
    a ``lagged`` frame then the journal, is test_catch_up_from_version_has_no_gap_or_duplicate.)"""
    aid = new_id()
    await emotions(http, service, aid, 1)
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream?from_version=1") as ws:
        [snap] = await frames(ws, 1)
        assert snap["version"] == 0
        await emotions(http, service, aid, 60)  # lands while nobody reads the socket
        seen: list[dict] = []
        while not seen or seen[-1].get("version") != 62:
            seen += await frames(ws, 1)
    versions = [f["version"] for f in seen if f["type"] == "event"]
    assert versions == list(range(1, 63))


async def test_commands_over_the_socket_and_bad_frames(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream") as ws:
        [snap] = await frames(ws, 1)
        assert (snap["type"], snap["version"]) == ("snapshot", 0)  # a stream records nothing
        await ws.send_str("{not json")
        [err] = await frames(ws, 1)
        assert err["type"] == "error" and err["code"] == "bad_frame"
        await ws.send_json(
            {"type": "command", "id": "c1", "command": "set_emotion", "emotion": "bored"}
        )
        [err] = await frames(ws, 1)
        assert err == {**err, "type": "error", "id": "c1", "code": "validation_error"}
        await ws.send_json(
            {
                "type": "command",
                "id": "c2",
                "command": "set_emotion",
                "emotion": "surprised",
                "expected_version": 99,
            }
        )
        [err] = await frames(ws, 1)
        assert (err["id"], err["code"]) == ("c2", "version_conflict")
        await ws.send_json(
            {"type": "command", "id": "c3", "command": "trigger_animation", "name": "wink"}
        )
        got = await frames(ws, 3)  # the first command records the avatar, then its event
        ack = next(f for f in got if f["type"] == "ack")
        created, event = (f for f in got if f["type"] == "event")
        assert ack["id"] == "c3" and ack["version"] == 2
        assert created["event"]["type"] == "AvatarCreated" and created["version"] == 1
        assert event["event"]["data"]["name"] == "wink"
        await ws.send_json({"type": "ping", "id": 7})
        [pong] = await frames(ws, 1)
        assert pong["type"] == "pong" and pong["id"] == 7


async def test_msgpack_frames(service: Service, http: aiohttp.ClientSession) -> None:
    import msgpack

    aid = new_id()
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream?format=msgpack") as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.BINARY
        assert msgpack.unpackb(msg.data)["type"] == "snapshot"


async def test_twenty_concurrent_streams_stay_independent(
    service: Service, http: aiohttp.ClientSession
) -> None:
    ids = [new_id() for _ in range(20)]
    sockets = [await http.ws_connect(f"{service.ws_api}/{a}/stream") for a in ids]
    try:
        for ws in sockets:
            assert (await frames(ws, 1))[0]["type"] == "snapshot"
        await asyncio.gather(
            *[
                call(
                    http,
                    "POST",
                    f"{service.api}/{a}/animations",
                    {"name": "nod", "intensity": i / 20},
                )
                for i, a in enumerate(ids)
            ]
        )
        for i, (a, ws) in enumerate(zip(ids, sockets, strict=True)):
            created, event = await frames(ws, 2)  # the first command records the avatar
            assert created["event"]["type"] == "AvatarCreated"
            assert event["event"]["stream_id"].endswith(f":{a}")
            assert event["event"]["data"]["intensity"] == i / 20
        # nothing else arrived on any stream
        for ws in sockets:
            beat = await frames(ws, 1, skip_heartbeats=False)
            assert beat[0]["type"] == "heartbeat"
    finally:
        await asyncio.gather(*[ws.close() for ws in sockets])


async def test_session_stream_sees_session_and_avatar_events_then_closes(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    _, s, _ = await call(http, "POST", f"{service.api}/session", {"avatar_id": aid})
    sid = s["session_id"]
    async with http.ws_connect(f"{service.ws_api}/session/{sid}/stream") as ws:
        [snap] = await frames(ws, 1)
        assert snap["type"] == "snapshot" and snap["state"]["status"] == "active"
        assert snap["avatar"]["avatar_id"] == aid
        await call(http, "POST", f"{service.api}/emotions", {"avatar_id": aid, "emotion": "sad"})
        [ev] = await frames(ws, 1)
        assert (ev["stream"], ev["event"]["type"]) == ("avatar", "EmotionSet")
        await ws.send_json({"type": "command", "id": "m", "command": "add_marker", "label": "q1"})
        got = await frames(ws, 2)
        assert {f["type"] for f in got} == {"ack", "event"}
        await call(http, "DELETE", f"{service.api}/session/{sid}")
        [closed] = await frames(ws, 1)
        assert closed["event"]["type"] == "SessionClosed"
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1000
    # the avatar's own stream is independent of the session's deletion
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream") as ws:
        assert (await frames(ws, 1))[0]["type"] == "snapshot"


async def test_session_ttl_expiry_closes_the_stream(
    service: Service, http: aiohttp.ClientSession
) -> None:
    _, s, _ = await call(http, "POST", f"{service.api}/session", {"ttl_seconds": 2})
    async with http.ws_connect(f"{service.ws_api}/session/{s['session_id']}/stream") as ws:
        [snap] = await frames(ws, 1)
        assert snap["state"]["status"] == "active"
        [expired] = await frames(ws, 1, timeout=15)
        assert expired["event"]["type"] == "SessionExpired"
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1000
    _, got, _ = await call(http, "GET", f"{service.api}/session/{s['session_id']}")
    assert got["status"] == "expired"


async def test_unknown_session_stream_closes_4404(
    service: Service, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{service.ws_api}/session/s-missing/stream") as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4404


async def test_bad_avatar_id_on_stream_gets_error_frame(
    service: Service, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{service.ws_api}/bad..%20id/stream") as ws:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT:
            assert json.loads(msg.data)["code"] == "validation_error"
            msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4400

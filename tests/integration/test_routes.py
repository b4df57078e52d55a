"""Every issue-3 route, called over HTTP as a client would."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.integration.conftest import CONFIGURATIONS, Service
from tests.integration.helpers import all_events, call, new_id

pytestmark = pytest.mark.configurations(*CONFIGURATIONS)


async def test_health_version_status_docs(service: Service, http: aiohttp.ClientSession) -> None:
    for url in (f"{service.base}/health", f"{service.api}/health"):
        assert (await call(http, "GET", url))[:2] == (200, {"status": "ok"})
    status, version, _ = await call(http, "GET", f"{service.api}/version")
    assert status == 200 and version["api_version"] == "v1" and version["version"]
    status, body, _ = await call(http, "GET", f"{service.api}/status")
    assert status == 200 and body["journal"]["reachable"] is True
    assert body["journal"]["url_scheme"] == service.journal_url.split(":")[0]
    assert "events" in body["journal"]
    status, openapi, _ = await call(http, "GET", f"{service.base}/openapi.json")
    paths = openapi["paths"]
    for path in (
        "/api/v1/avatars/emotions",
        "/api/v1/avatars/{avatar_id}/state",
        "/api/v1/avatars/session",
        "/api/v1/avatars/{avatar_id}/events",
    ):
        assert path in paths
    async with http.get(f"{service.base}/docs") as r:
        assert r.status == 200 and "swagger" in (await r.text()).lower()


async def test_emotions_set_get_patch(service: Service, http: aiohttp.ClientSession) -> None:
    aid = new_id()
    status, body, headers = await call(
        http,
        "POST",
        f"{service.api}/emotions",
        {"avatar_id": aid, "emotion": "happy", "intensity": 0.8},
    )
    assert status == 200, body
    assert body == {
        "avatar_id": aid,
        "emotion": "happy",
        "intensity": 0.8,
        "transition_ms": 300,
        "version": 2,
    }  # AvatarCreated + EmotionSet
    assert headers["etag"] == '"2"'
    status, body, headers = await call(http, "GET", f"{service.api}/{aid}/emotions")
    assert (status, body["emotion"], body["intensity"], headers["etag"]) == (
        200,
        "happy",
        0.8,
        '"2"',
    )
    status, body, _ = await call(http, "PATCH", f"{service.api}/{aid}/emotions", {"intensity": 0.2})
    assert (status, body["emotion"], body["intensity"], body["version"]) == (200, "happy", 0.2, 3)


async def test_emotion_validation(service: Service, http: aiohttp.ClientSession) -> None:
    bad = [
        {"avatar_id": "a", "emotion": "bored"},
        {"avatar_id": "a", "emotion": "happy", "intensity": 1.5},
        {"avatar_id": "../etc", "emotion": "happy"},
        {"emotion": "happy"},
    ]
    for body in bad:
        status, err, _ = await call(http, "POST", f"{service.api}/emotions", body)
        assert status == 422, (body, err)
        assert err["code"] == "validation_error" and err["message"]


async def test_state_patch_validation_and_versions(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    status, body, headers = await call(http, "GET", f"{service.api}/{aid}/state")
    assert status == 200 and body["version"] == 0 and headers["etag"] == '"0"'
    assert body["state"]["face"]["gaze_x"] == 0.0
    _, emotion, _ = await call(http, "GET", f"{service.api}/{aid}/emotions")
    assert emotion["version"] == 0
    assert await all_events(http, f"{service.api}/{aid}/events") == []  # a read records nothing
    for bad in (
        {"state": {"bogus": 1}},
        {"state": {"gaze_x": 3}},
        {"gaze_x": 0.1},
        {"state": {"idle": "sometimes"}},
    ):
        status, err, _ = await call(http, "PATCH", f"{service.api}/{aid}/state", bad)
        assert status == 422 and err["code"] == "validation_error", (bad, err)
    status, body, _ = await call(
        http,
        "PATCH",
        f"{service.api}/{aid}/state",
        {"state": {"gaze_x": 0.5, "head_yaw": 10, "idle": False}},
    )
    assert status == 200 and body["version"] == 2
    assert body["state"]["face"]["gaze_x"] == 0.5 and body["state"]["face"]["idle"] is False
    status, body, _ = await call(
        http, "PATCH", f"{service.api}/{aid}/state", {"state": {"gaze_x": -0.25}}
    )
    assert body["version"] == 3 and body["state"]["face"]["head_yaw"] == 10
    status, old, headers = await call(http, "GET", f"{service.api}/{aid}/state?version=2")
    assert status == 200 and old["version"] == 2 and headers["etag"] == '"2"'
    assert old["state"]["face"]["gaze_x"] == 0.5
    status, err, _ = await call(http, "GET", f"{service.api}/{aid}/state?version=99")
    assert status == 404 and err["code"] == "version_not_found"
    status, err, _ = await call(
        http, "PATCH", f"{service.api}/{aid}/state", {"state": {"gaze_x": 0.1}}, {"If-Match": '"2"'}
    )
    assert status == 409 and err["code"] == "version_conflict"
    status, body, _ = await call(
        http, "PATCH", f"{service.api}/{aid}/state", {"state": {"gaze_x": 0.1}}, {"If-Match": '"3"'}
    )
    assert status == 200 and body["version"] == 4


async def test_animations(service: Service, http: aiohttp.ClientSession) -> None:
    aid = new_id()
    status, body, _ = await call(
        http,
        "POST",
        f"{service.api}/{aid}/animations",
        {"name": "nod", "loop": True, "duration_ms": 800},
    )
    assert status == 200 and body["animation"] == "nod" and body["loop"] is True
    status, body, _ = await call(
        http, "POST", f"{service.api}/{aid}/animations", {"animation": "look_around"}
    )
    assert status == 200 and body["animation"] == "look_around" and body["version"] == 3
    status, _, _ = await call(http, "POST", f"{service.api}/{aid}/animations", {"name": "backflip"})
    assert status == 422
    _, state, _ = await call(http, "GET", f"{service.api}/{aid}/state")
    assert state["state"]["animation"]["name"] == "look_around"


async def test_event_pages(service: Service, http: aiohttp.ClientSession) -> None:
    aid = new_id()
    for i in range(5):
        await call(
            http,
            "POST",
            f"{service.api}/emotions",
            {"avatar_id": aid, "emotion": "sad", "intensity": i / 10},
        )
    status, page, _ = await call(http, "GET", f"{service.api}/{aid}/events?limit=4")
    assert status == 200 and page["highest_version"] == 6
    assert [e["version"] for e in page["events"]] == [1, 2, 3, 4]
    assert page["next_from_version"] == 5
    assert page["events"][0]["type"] == "AvatarCreated"
    assert page["events"][1]["data"]["emotion"] == "sad"
    events = await all_events(http, f"{service.api}/{aid}/events")
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["data"]["intensity"] for e in events[1:]] == [0, 0.1, 0.2, 0.3, 0.4]


async def test_session_lifecycle(service: Service, http: aiohttp.ClientSession) -> None:
    aid = new_id()
    await call(http, "POST", f"{service.api}/emotions", {"avatar_id": aid, "emotion": "happy"})
    status, s, _ = await call(
        http,
        "POST",
        f"{service.api}/session",
        {"avatar_id": aid, "metadata": {"role": "interviewer"}, "ttl_seconds": 600},
    )
    assert status == 200, s
    assert s["avatar_id"] == aid and s["status"] == "active" and s["avatar_version_start"] == 2
    assert s["metadata"] == {"role": "interviewer"} and s["created_at"] < s["expires_at"]
    sid = s["session_id"]
    status, got, _ = await call(http, "GET", f"{service.api}/session/{sid}")
    assert status == 200 and got["session_id"] == sid
    status, got, _ = await call(
        http, "POST", f"{service.api}/session/{sid}/markers", {"label": "question-1"}
    )
    assert status == 200 and got["markers"] == 1
    status, got, _ = await call(
        http,
        "POST",
        f"{service.api}/session/{sid}/transcript",
        {"speaker": "user", "text": "Hello!"},
    )
    assert status == 200 and got["transcript_lines"] == 1
    await call(http, "POST", f"{service.api}/emotions", {"avatar_id": aid, "emotion": "sad"})
    status, closed, _ = await call(http, "DELETE", f"{service.api}/session/{sid}")
    assert status == 200 and closed["status"] == "closed" and closed["avatar_version_end"] == 3
    status, again, _ = await call(http, "DELETE", f"{service.api}/session/{sid}")
    assert status == 200 and again["status"] == "closed" and again["version"] == closed["version"]
    status, err, _ = await call(
        http, "POST", f"{service.api}/session/{sid}/markers", {"label": "late"}
    )
    assert status == 409 and err["code"] == "conflict"
    events = await all_events(http, f"{service.api}/session/{sid}/events")
    assert [e["type"] for e in events] == [
        "SessionStarted",
        "MarkerAdded",
        "TranscriptLine",
        "SessionClosed",
    ]


async def test_session_defaults_and_errors(service: Service, http: aiohttp.ClientSession) -> None:
    status, s, _ = await call(http, "POST", f"{service.api}/session", {})
    assert status == 200 and s["avatar_id"].startswith("avatar-") and s["ttl_seconds"] == 3600
    _, avatar, _ = await call(http, "GET", f"{service.api}/{s['avatar_id']}/state")
    assert avatar["version"] == 1  # the new avatar was created and recorded
    for body in (
        {"ttl_seconds": 10**6},
        {"ttl_seconds": 0},
        {"avatar_id": "no/slash"},
        {"unknown": 1},
    ):
        status, err, _ = await call(http, "POST", f"{service.api}/session", body)
        assert status == 422, (body, err)
    for method in ("GET", "DELETE"):
        status, err, _ = await call(http, method, f"{service.api}/session/s-nope")
        assert status == 404 and err["code"] == "session_not_found"


async def test_concurrent_mixed_requests_do_not_interfere(
    service: Service, http: aiohttp.ClientSession
) -> None:
    ids = [new_id() for _ in range(3)]
    emotions = ["happy", "sad", "angry"]
    await asyncio.gather(
        *[
            call(http, "POST", f"{service.api}/emotions", {"avatar_id": a, "emotion": e})
            for a, e in zip(ids, emotions, strict=True)
            for _ in range(3)
        ]
    )
    for a, e in zip(ids, emotions, strict=True):
        _, body, _ = await call(http, "GET", f"{service.api}/{a}/emotions")
        assert body["emotion"] == e and body["version"] == 4

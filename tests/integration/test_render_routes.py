"""Render routes on a real Ray + Serve: frames, sequences, snapshots, replays, jobs and the
Renderer's autoscaling. Outputs are decoded back with ffmpeg.

Rendering does not depend on how entities are placed, so this file runs on the dedicated
placement only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from media.speech import synthesize
from tests.integration.conftest import Service
from tests.integration.helpers import all_events, call, frames, new_id
from tests.integration.media_checks import audio_seconds, framemd5, probe, size
from tests.waiting import until

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]
#: Render jobs are journal streams: their tests also run with the service on PostgreSQL.
jobs_everywhere = pytest.mark.configurations("dedicated", "postgres")

MAGIC = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff", "image/webp": b"RIFF"}


async def post_bytes(
    http: aiohttp.ClientSession, url: str, body: Any = None
) -> tuple[int, bytes, dict[str, str]]:
    async with http.post(url, json=body) as r:
        return r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()}


async def get_bytes(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, dict[str, str]]:
    async with http.get(url) as r:
        return r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()}


async def make_avatar(http: aiohttp.ClientSession, service: Service, emotion: str) -> str:
    avatar_id = new_id()
    body = {"avatar_id": avatar_id, "emotion": emotion, "intensity": 1.0, "transition_ms": 0}
    status, data, _ = await call(http, "POST", f"{service.api}/emotions", body)
    assert status == 200, data
    return avatar_id


async def wait_job(
    http: aiohttp.ClientSession, service: Service, job_id: str, timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job, _ = await call(http, "GET", f"{service.api}/jobs/{job_id}")
        assert status == 200, job
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    ("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")]
)
async def test_render_frame_formats(
    service: Service, http: aiohttp.ClientSession, fmt: str, mime: str
) -> None:
    body = {"format": fmt, "width": 320, "height": 240, "emotion": "surprised"}
    status, data, headers = await post_bytes(http, f"{service.api}/render", body)
    assert status == 200, data[:300]
    assert headers["content-type"] == mime
    assert data.startswith(MAGIC[mime])
    assert size(data, f".{fmt}") == (320, 240)


async def test_render_avatar_state_and_url_response(
    service: Service, http: aiohttp.ClientSession
) -> None:
    happy = await make_avatar(http, service, "happy")
    sad = await make_avatar(http, service, "sad")
    s1, happy_png, h1 = await post_bytes(http, f"{service.api}/{happy}/render", {"width": 256})
    s2, sad_png, _ = await post_bytes(
        http, f"{service.api}/render", {"avatar_id": sad, "width": 256}
    )
    assert (s1, s2) == (200, 200)
    assert h1["x-avatar-version"] == "2"  # created + emotion set
    assert happy_png != sad_png

    status, out, _ = await call(
        http, "POST", f"{service.api}/{happy}/render", {"response": "url", "format": "webp"}
    )
    assert status == 200, out
    assert out["mime"] == "image/webp" and out["url"].startswith("/api/v1/avatars/")
    s3, content, headers = await get_bytes(http, f"{service.base}{out['url']}")
    assert s3 == 200 and headers["content-type"] == "image/webp"
    assert hashlib.sha256(content).hexdigest() == out["sha256"]
    assert headers["etag"] == f'"{out["sha256"]}"'


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/render", {"width": 16384, "height": 16384}),
        ("/render", {"resolution": "15360x8640"}),
        ("/render", {"width": 4097}),
        ("/render", {"format": "bmp"}),
        ("/render", {"parameters": {"notAShape": 1}}),
        ("/render/sequence", {"text": "hi", "format": "avi"}),
        ("/render/sequence", {"text": "hi", "width": 16384}),
        ("/render/sequence", {"text": "hi", "fps": 240}),
        ("/render/sequence", {}),
        ("/render/sequence", {"text": "hi", "voice": "no-such-voice"}),
    ],
)
async def test_bad_render_requests_are_422(
    service: Service, http: aiohttp.ClientSession, path: str, body: dict[str, Any]
) -> None:
    status, data, _ = await call(http, "POST", f"{service.api}{path}", body)
    assert status == 422, data
    assert data["code"] in ("validation_error", "speech_failed")


async def test_a_synchronous_render_of_minutes_is_refused_at_once(
    service: Service, http: aiohttp.ClientSession
) -> None:
    """It would draw until the render timeout: 422 before anything is drawn, and the same
    request as a job is accepted."""
    body = {"animations": [{"at_ms": 600_000, "animation": "nod"}]}  # 10 min at 512x512
    status, data, _ = await call(http, "POST", f"{service.api}/render/sequence", body)
    assert status == 422 and data["code"] == "render_too_long", data
    assert data["limit_s"] == 120 and data["reference_s"] > 120
    assert "background" in data["message"]


async def test_unknown_ids_are_404(service: Service, http: aiohttp.ClientSession) -> None:
    ghost = new_id("ghost")
    for method, path, body in [
        ("POST", f"/{ghost}/render", {}),
        ("POST", "/render", {"avatar_id": ghost}),
        ("GET", f"/{ghost}/snapshot", None),
        ("POST", f"/{ghost}/snapshot", None),
        ("POST", f"/session/{ghost}/replay", None),
        ("GET", "/jobs/job-" + "0" * 32, None),
        ("GET", "/jobs/nonsense", None),
        ("GET", "/render/outputs/r-" + "0" * 64, None),
        ("POST", "/render/sequence", {"avatar_id": ghost, "duration_ms": 1000}),
    ]:
        status, data, _ = await call(http, method, f"{service.api}{path}", body)
        assert status == 404, (method, path, data)
    # renders never create the avatar they were asked about
    status, data, _ = await call(http, "GET", f"{service.api}/{ghost}/events")
    assert data["highest_version"] == 0


async def test_snapshot_get_and_post(service: Service, http: aiohttp.ClientSession) -> None:
    avatar_id = await make_avatar(http, service, "thoughtful")
    status, png, headers = await get_bytes(http, f"{service.api}/{avatar_id}/snapshot?width=200")
    assert status == 200 and headers["content-type"] == "image/png"
    assert size(png, ".png") == (200, 512)

    status, out, headers = await call(http, "POST", f"{service.api}/{avatar_id}/snapshot")
    assert status == 200, out
    assert out["version"] == 3 and headers["etag"] == '"3"'
    events = await all_events(http, f"{service.api}/{avatar_id}/events")
    assert events[-1]["type"] == "SnapshotTaken"
    assert events[-1]["data"]["asset_id"] == out["asset_id"]
    _, content, _ = await get_bytes(http, f"{service.base}{out['url']}")
    assert hashlib.sha256(content).hexdigest() == out["sha256"]
    assert size(content, ".png") == (512, 512)
    status, state, _ = await call(http, "GET", f"{service.api}/{avatar_id}/state")
    assert state["state"]["last_snapshot_asset_id"] == out["asset_id"]


# ---------------------------------------------------------------------------- videos

TEXT = "Hello, thank you for coming in today."


async def test_sequence_mp4_with_speech(service: Service, http: aiohttp.ClientSession) -> None:
    body = {
        "text": TEXT,
        "emotions": [{"at_ms": 300, "emotion": "happy"}],
        "animations": [{"at_ms": 800, "animation": "nod", "duration_ms": 600}],
        "width": 256,
        "height": 192,
        "fps": 30,
    }
    status, out, _ = await call(http, "POST", f"{service.api}/render/sequence", body)
    assert status == 200, out
    speech_s = synthesize(TEXT).duration_ms / 1000.0
    assert out["duration_s"] == pytest.approx(speech_s + 0.5, abs=0.06)  # speech, then 0.5 s
    assert out["has_audio"] and out["mime"] == "video/mp4"
    _, video, headers = await get_bytes(http, f"{service.base}{out['url']}")
    assert headers["content-type"] == "video/mp4"
    assert hashlib.sha256(video).hexdigest() == out["sha256"]
    frames = framemd5(video, ".mp4")
    assert abs(len(frames) - out["duration_s"] * 30) <= 1
    assert size(video, ".mp4") == (256, 192)
    assert "Audio: aac" in probe(video, ".mp4")
    assert audio_seconds(video, ".mp4") == pytest.approx(speech_s, abs=0.1)


@pytest.mark.parametrize(
    ("fmt", "mime", "audio"), [("webm", "video/webm", True), ("gif", "image/gif", False)]
)
async def test_sequence_other_formats_as_file(
    service: Service, http: aiohttp.ClientSession, fmt: str, mime: str, audio: bool
) -> None:
    body = {"text": "Hi there.", "format": fmt, "width": 128, "height": 128, "response": "video"}
    status, video, headers = await post_bytes(http, f"{service.api}/render/sequence", body)
    assert status == 200, video[:300]
    assert headers["content-type"] == mime
    assert size(video, f".{fmt}") == (128, 128)
    assert (audio_seconds(video, f".{fmt}") > 0.3) is audio


async def test_sequence_of_an_avatars_events(service: Service, http: aiohttp.ClientSession) -> None:
    avatar_id = await make_avatar(http, service, "sad")
    await asyncio.sleep(0.4)  # a gap between the two events; its real length is read back below
    await call(http, "POST", f"{service.api}/{avatar_id}/animations", {"name": "shake"})
    body = {"avatar_id": avatar_id, "events": {"from_version": 2}, "width": 128, "height": 128}
    status, out, _ = await call(http, "POST", f"{service.api}/render/sequence", body)
    assert status == 200, out
    events = await all_events(http, f"{service.api}/{avatar_id}/events")
    emotion, shake = (datetime.fromisoformat(e["recorded_at"]) for e in events[1:3])
    gap_s = (shake - emotion).total_seconds()
    # from the EmotionSet (t=0) to the shake's end (+gap + 1 s), then 0.5 s; one frame's slack
    assert out["duration_s"] == pytest.approx(gap_s + 1.5, abs=1 / 30 + 0.01)
    assert not out["has_audio"]


async def recorded_session(http: aiohttp.ClientSession, service: Service) -> str:
    avatar_id = await make_avatar(http, service, "neutral")
    status, session, _ = await call(
        http, "POST", f"{service.api}/session", {"avatar_id": avatar_id}
    )
    assert status == 200, session
    sid = session["session_id"]
    api = service.api
    await call(http, "POST", f"{api}/emotions", {"avatar_id": avatar_id, "emotion": "happy"})
    await call(http, "POST", f"{api}/session/{sid}/markers", {"label": "q1"})
    await asyncio.sleep(0.3)
    await call(http, "POST", f"{api}/{avatar_id}/animations", {"name": "nod", "duration_ms": 700})
    await asyncio.sleep(0.4)
    await call(http, "PATCH", f"{api}/{avatar_id}/state", {"state": {"gaze_x": 0.6}})
    await asyncio.sleep(0.5)
    status, closed, _ = await call(http, "DELETE", f"{api}/session/{sid}")
    assert closed["status"] == "closed"
    # after the close: not part of the replay
    await call(http, "POST", f"{api}/emotions", {"avatar_id": avatar_id, "emotion": "angry"})
    return sid


@jobs_everywhere
async def test_two_replays_are_identical(service: Service, http: aiohttp.ClientSession) -> None:
    sid = await recorded_session(http, service)
    body = {"width": 192, "height": 192}
    outputs = []
    for _ in range(2):
        status, job, headers = await call(http, "POST", f"{service.api}/session/{sid}/replay", body)
        assert status == 202, job
        assert job["status"] == "queued" and headers["location"] == job["url"]
        done = await wait_job(http, service, job["job_id"])
        assert done["status"] == "done", done
        assert done["progress"] == 1.0 and done["session_id"] == sid
        outputs.append(done["result"])
    videos = [(await get_bytes(http, f"{service.base}{o['url']}"))[1] for o in outputs]
    hashes = [framemd5(v, ".mp4") for v in videos]
    assert hashes[0] == hashes[1]
    assert len(set(hashes[0])) > 5  # the face moves
    assert abs(len(hashes[0]) - outputs[0]["duration_s"] * 30) <= 1
    assert [m["label"] for m in outputs[0]["markers"]] == ["q1"]


@jobs_everywhere
async def test_an_orphaned_job_is_taken_over_and_finishes(
    service: Service, http: aiohttp.ClientSession
) -> None:
    """A replay accepted and started, then every process working on it gone (as after a crash
    of the whole server): its stream says claimed and running, and nothing has been recorded
    for longer than the liveness window. Polling it takes it over and reruns it."""
    from events import open_journal
    from serve_app.rendering.jobs import STALE_AFTER_S, JobStore

    sid = await recorded_session(http, service)
    long_ago = time.time() - STALE_AFTER_S - 5
    journal = open_journal(service.journal_url)  # the service's journal
    try:
        jobs = JobStore(journal, "default", clock=lambda: long_ago)
        options = {"width": 96, "height": 96, "fps": 30, "format": "mp4", "quality": "fast"}
        payload = {"session_id": sid, "options": options}
        job = jobs.create("replay", payload, "ingress:gone:1", session_id=sid)
        attempt = jobs.attempt(job.job_id, 1)
        attempt.start()
        attempt.progress(12, 30)
    finally:
        journal.close()
    done = await wait_job(http, service, job.job_id)
    assert done["status"] == "done", done
    assert done["attempts"] == 2 and done["result"]["session_id"] == sid
    status, again, _ = await call(http, "GET", f"{service.api}/jobs/{job.job_id}")
    assert status == 200
    assert again["attempts"] == 2  # taken over once, not at every poll


@pytest.mark.configurations("dedicated")
async def test_a_job_whose_renderer_dies_is_taken_over_and_finishes(
    service: Service, http: aiohttp.ClientSession
) -> None:
    """Every Renderer replica killed while a replay renders (as when their node is lost): the
    ingress that drives the job claims its next attempt at once and hands it to a replica Serve
    starts in their place; the job finishes, on its second attempt."""
    import ray

    avatar_id = await make_avatar(http, service, "neutral")
    status, session, _ = await call(
        http, "POST", f"{service.api}/session", {"avatar_id": avatar_id}
    )
    sid = session["session_id"]
    await call(http, "POST", f"{service.api}/{avatar_id}/animations", {"name": "nod"})
    await asyncio.sleep(3.0)  # the replay lasts as long as the session: 180 large frames
    await call(http, "DELETE", f"{service.api}/session/{sid}")
    options = {"width": 1024, "height": 1024, "fps": 60, "quality": "high"}
    status, job, _ = await call(http, "POST", f"{service.api}/session/{sid}/replay", options)
    assert status == 202, job

    async def rendering() -> bool:
        _, now, _ = await call(http, "GET", f"{service.api}/jobs/{job['job_id']}")
        assert now["status"] != "done", "the job ended before its renderer could be killed"
        return bool(now["status"] == "running" and now["progress"] > 0)

    await until(rendering, timeout=60, what="the replay rendering")
    replicas = [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == "serve" and "#Renderer#" in a["name"]
    ]
    assert replicas
    for name in replicas:
        ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    done = await wait_job(http, service, job["job_id"], timeout=180)
    assert done["status"] == "done", done
    assert done["attempts"] == 2 and done["result"]["frames"] > 30, done


@jobs_everywhere
async def test_replay_progress_stream(service: Service, http: aiohttp.ClientSession) -> None:
    sid = await recorded_session(http, service)
    status, job, _ = await call(
        http, "POST", f"{service.api}/session/{sid}/replay", {"width": 512, "height": 512}
    )
    assert status == 202
    seen: list[dict[str, Any]] = []
    async with http.ws_connect(f"{service.ws}{job['stream']}") as ws:
        async for msg in ws:
            seen.append(json.loads(msg.data))
    assert seen[-1]["type"] == "done" and seen[-1]["result"]["frames"] > 0
    progress = [f["progress"] for f in seen]
    assert progress == sorted(progress)
    assert all(f["type"] == "progress" for f in seen[:-1])
    async with http.ws_connect(f"{service.ws_api}/jobs/job-{'1' * 32}/stream") as ws:
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4404


@jobs_everywhere
async def test_replay_progress_on_the_session_stream(
    service: Service, http: aiohttp.ClientSession
) -> None:
    avatar_id = await make_avatar(http, service, "happy")
    status, session, _ = await call(
        http, "POST", f"{service.api}/session", {"avatar_id": avatar_id}
    )
    sid = session["session_id"]
    await call(http, "POST", f"{service.api}/{avatar_id}/animations", {"name": "tilt"})
    async with http.ws_connect(f"{service.ws_api}/session/{sid}/stream") as ws:
        (snapshot,) = await frames(ws, 1)
        assert snapshot["type"] == "snapshot"
        status, job, _ = await call(http, "POST", f"{service.api}/session/{sid}/replay", {})
        assert status == 202
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["status"] != "done":
            (frame,) = await frames(ws, 1, timeout=30)
            if frame["type"] == "progress":
                assert frame["job_id"] == job["job_id"] and frame["stream"] == "render"
                seen.append(frame)
    assert seen[-1]["result"]["session_id"] == sid and seen[-1]["progress"] == 1.0
    # not persisted: the session's log has no trace of the job
    events = await all_events(http, f"{service.api}/session/{sid}/events")
    assert [e["type"] for e in events] == ["SessionStarted"]
    # the session's jobs are listed from its own index
    status, listing, _ = await call(http, "GET", f"{service.api}/session/{sid}/jobs")
    assert status == 200, listing
    assert [(j["job_id"], j["status"]) for j in listing["jobs"]] == [(job["job_id"], "done")]


# ---------------------------------------------------------------------------- autoscaling


def renderer_replicas() -> dict[str, int]:
    from ray import serve

    app = serve.status().applications["avatar-service"]
    return dict(app.deployments["Renderer"].replica_states)


async def wait_for_replicas(want: dict[str, int], timeout: float = 60) -> None:
    """Until the Renderer's replica states are ``want`` (scaling takes seconds, not a fixed
    time)."""
    deadline = time.monotonic() + timeout
    while renderer_replicas() != want:
        assert time.monotonic() < deadline, renderer_replicas()
        await asyncio.sleep(0.5)


async def test_burst_scales_renderer_up_then_down(
    service: Service, http: aiohttp.ClientSession
) -> None:
    await wait_for_replicas({"RUNNING": 1})  # earlier tests' renders may still be scaling down
    body = {
        "duration_ms": 12_000,
        "animations": [{"at_ms": 0, "animation": "look_around", "loop": True}],
        "width": 384,
        "height": 384,
        "background": True,
    }
    jobs = []
    for i in range(8):
        status, job, _ = await call(
            http, "POST", f"{service.api}/render/sequence", {**body, "seed": i}
        )
        assert status == 202, job
        jobs.append(job["job_id"])
    peak = 1
    deadline = time.monotonic() + 120
    pending = set(jobs)
    while pending:
        peak = max(peak, renderer_replicas().get("RUNNING", 0))
        for job_id in list(pending):
            _, job, _ = await call(http, "GET", f"{service.api}/jobs/{job_id}")
            if job["status"] in ("done", "failed"):
                assert job["status"] == "done", job
                pending.discard(job_id)
        assert time.monotonic() < deadline, pending
        await asyncio.sleep(0.5)
    assert peak > 1, "the renderer never ran more than one replica"
    await wait_for_replicas({"RUNNING": 1})

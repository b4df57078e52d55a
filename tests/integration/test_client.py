"""The Python client (``client/``) against the real service: typed calls, errors carrying the
service's code, idempotent retries through a faulty network, the event stream resuming across a
restart of the ingress, and render jobs followed to the end.

Faults are real: a small HTTP proxy in front of the service cuts connections after forwarding
a request (the answer is lost, the command recorded) or answers 503 with ``Retry-After``; the
ingress replica is killed with ``ray.kill``. The client's behaviour does not depend on the
placement, so this file runs on the dedicated one only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from client import (
    AvatarClient,
    BadRequest,
    Conflict,
    JobView,
    NotFound,
    SyncClient,
    Unavailable,
)
from serve_app.ports import free_port
from tests.integration.conftest import Service
from tests.integration.helpers import new_id
from tests.integration.media_checks import size

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]


@dataclass
class FaultyProxy:
    """Forwards HTTP to the service; ``faults[(method, path)]`` lists what to do to the next
    requests there: ``"cut"`` (forward, then close the connection unanswered) or ``"503"``."""

    target: str
    base: str = ""
    faults: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = (request.method, request.path)
        self.seen.append((*key, request.headers.get("Idempotency-Key")))
        planned = self.faults.get(key) or []
        fault = planned.pop(0) if planned else None
        if fault == "503":
            body = {"code": "unavailable", "message": "try again", "detail": "try again"}
            return web.json_response(body, status=503, headers={"Retry-After": "0.1"})
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession() as s,
            s.request(
                request.method,
                self.target + request.path_qs,
                data=await request.read(),
                headers=headers,
            ) as r,
        ):
            body_bytes = await r.read()
            out = web.Response(status=r.status, body=body_bytes)
            out.content_type = r.content_type
        if fault == "cut":
            assert request.transport is not None
            request.transport.close()  # recorded by the service; the answer never arrives
        return out


@pytest.fixture
async def proxy(service: Service) -> AsyncIterator[FaultyProxy]:
    p = FaultyProxy(service.base)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", p.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    p.base = f"http://127.0.0.1:{port}"
    try:
        yield p
    finally:
        await runner.cleanup()


async def test_typed_calls_and_the_services_errors(service: Service) -> None:
    async with AvatarClient(service.base) as c:
        ada = c.avatar(new_id())
        emotion = await ada.set_emotion("happy", 0.8)
        assert emotion.emotion == "happy" and emotion.version == 2  # AvatarCreated, EmotionSet
        nod = await ada.animate("nod", duration_ms=500)
        assert nod.animation == "nod" and nod.version == 3
        state = await ada.state()
        assert state.version == 3 and state.state["emotion"]["emotion"] == "happy"
        assert (await ada.state(version=2)).version == 2
        page = await ada.event_page()
        assert [e["type"] for e in page.events] == [
            "AvatarCreated",
            "EmotionSet",
            "AnimationTriggered",
        ]

        with pytest.raises(Conflict) as conflict:  # If-Match on a version it moved past
            await ada.patch_state({"gaze_x": 0.3}, expected_version=2)
        assert conflict.value.status == 409 and conflict.value.code == "version_conflict"
        assert conflict.value.message and conflict.value.detail
        with pytest.raises(NotFound) as missing:
            await c.session("s-" + "0" * 32).get()
        assert missing.value.code == "session_not_found"
        with pytest.raises(BadRequest) as invalid:  # checked by the service (its TTL bounds)
            await c.sessions.open(ada.avatar_id, ttl_seconds=10**7)
        assert invalid.value.status == 422 and invalid.value.code == "validation_error"
        with pytest.raises(ValueError, match="emotion"):  # the service's own model, client-side
            await ada.set_emotion("ecstatic")

        session = await c.sessions.open(ada.avatar_id, metadata={"candidate": "c-17"})
        s = c.session(session.session_id)
        assert (await s.marker("q1")).markers == 1
        assert (await s.transcript("avatar", "Hello")).transcript_lines == 1
        assert (await s.close()).status == "closed"

        voice = await ada.attach_voice("en-gb", rate=160)
        assert voice["attached"] and (await ada.voice_status())["voice"]["voice_id"] == "en-gb"
        said = await ada.speak("Hello there.")
        assert (
            said.version == 5
            and said.voice["voice_id"] == "en-gb"
            and said.audio is not None
            and said.duration > 0.3
        )
        wav = await c.render.download(said.audio.url)
        assert wav[:4] == b"RIFF" and len(wav) == said.audio.size
        png = await ada.render(width=128, height=96)
        assert size(png, ".png") == (128, 96)
        config = await c.config.get()
        assert config.fps >= 30
        assert any(m.model_id == "classic" for m in (await c.models.list()).models)
        assert (await c.presets.get("professor")).builtin
        assert (await c.status())["status"] == "ok"

        asset = await c.assets.upload(wav, name=f"{new_id()}.wav", kind="audio")
        assert asset.sha256 == said.audio.sha256 and asset.mime == "audio/wav"
        assert await c.assets.download(asset.asset_id) == wav
        assert asset.asset_id in {
            a.asset_id for a in (await c.assets.list(kind="audio", limit=500)).items
        }


async def test_retries_never_record_twice(service: Service, proxy: FaultyProxy) -> None:
    avatar_id = new_id()
    async with AvatarClient(proxy.base, backoff_s=0.05) as c:
        ada = c.avatar(avatar_id)
        await ada.set_emotion("sad")
        # The next emotion reaches the service, then the connection is cut before the answer.
        proxy.faults[("POST", "/api/v1/avatars/emotions")] = ["cut"]
        again = await ada.set_emotion("happy")
        # The next patch meets a 503 with Retry-After first.
        proxy.faults[("PATCH", f"/api/v1/avatars/{avatar_id}/state")] = ["503", "503"]
        patched = await ada.patch_state({"gaze_x": 0.5})
        page = await ada.event_page()
    assert [e["type"] for e in page.events] == [
        "AvatarCreated",
        "EmotionSet",
        "EmotionSet",
        "StatePatched",
    ]
    assert again.version == 3 and patched.version == 4
    keys = [k for m, p, k in proxy.seen if (m, p) == ("POST", "/api/v1/avatars/emotions")]
    assert len(keys) == 3 and keys[1] == keys[2] and keys[0] != keys[1]  # a retry: the same key
    patches = [k for m, _, k in proxy.seen if m == "PATCH"]
    assert len(patches) == 3 and len(set(patches)) == 1

    async with AvatarClient(proxy.base, retries=1, backoff_s=0.05) as c:
        proxy.faults[("GET", f"/api/v1/avatars/{avatar_id}/state")] = ["503", "503"]
        with pytest.raises(Unavailable) as gone:  # retries spent: the service's error
            await c.avatar(avatar_id).state()
        assert gone.value.status == 503 and gone.value.code == "unavailable"


def _ingress_replicas() -> list[str]:
    import ray

    return [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == "serve" and "#Ingress#" in a["name"]
    ]


async def test_event_stream_resumes_across_an_ingress_restart(service: Service) -> None:
    """Killing the ingress replica drops the WebSocket; the stream connects again to the new
    replica and carries on after the last version it delivered: every version once, in order,
    including those recorded while it was away."""
    import ray

    async with AvatarClient(service.base, retries=60, max_backoff_s=0.5) as c:
        ada = c.avatar(new_id())
        await ada.set_emotion("happy")  # versions 1, 2
        stream = ada.events(from_version=1)
        events = aiter(stream)
        got = [await anext(events), await anext(events)]
        replicas = _ingress_replicas()
        assert replicas
        for name in replicas:
            ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
        for name in ("nod", "shake", "tilt"):  # answered once a new replica is up
            await ada.animate(name, duration_ms=300)
        last = (await ada.state()).version
        while got[-1].version < last:
            got.append(await asyncio.wait_for(anext(events), 60))
        await events.aclose()  # type: ignore[attr-defined]
    assert [e.version for e in got] == list(range(1, last + 1))
    assert [e.type for e in got][-3:] == ["AnimationTriggered"] * 3
    assert stream.reconnects >= 1
    assert set(_ingress_replicas()).isdisjoint(replicas)


async def test_jobs_wait_follows_a_render_to_the_end(service: Service) -> None:
    steps: list[JobView] = []
    async with AvatarClient(service.base) as c:
        video = await c.render.video(
            on_progress=steps.append, text="Hi there.", width=96, height=96, quality="fast"
        )
        assert video.frames > 0 and video.has_audio and video.width == 96
        assert steps and steps[-1].status == "done" and steps[-1].progress == 1.0
        assert [s.frames_done for s in steps] == sorted(s.frames_done for s in steps)
        data = await c.render.download(video.url)
        assert size(data, ".mp4") == (96, 96)
        with pytest.raises(NotFound):
            await c.jobs.wait("job-" + "1" * 32)


async def test_the_sync_client(service: Service) -> None:
    def use() -> tuple[int, list[int]]:
        with SyncClient(service.base) as c:
            ada = c.avatar(new_id())
            view = ada.set_emotion("surprised")
            versions = []
            for event in ada.events(from_version=1):
                versions.append(event.version)
                if event.version == view.version:
                    break
            return view.version, versions

    version, versions = await asyncio.to_thread(use)
    assert version == 2 and versions == [1, 2]

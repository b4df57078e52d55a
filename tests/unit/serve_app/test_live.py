"""Live streams without Ray: the registry, the scaling policy, ICE helpers and settings, and one
stream over a real loopback WebRTC connection, following real entities on the memory journal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from actors.avatar import AvatarAggregate
from actors.commands import (
    CloseSession,
    InterruptSpeech,
    PatchState,
    SetEmotion,
    StartSession,
    StartSpeech,
)
from actors.config import EntityConfig
from actors.entity import EntityRuntime
from actors.live import LiveRegistryCore
from actors.naming import stream_id
from actors.session import SessionAggregate
from events import MemoryJournal
from events.avatar import AvatarState, StatePatch
from events.records import RecordedEvent
from events.session import SessionState
from media.speech import synthesize
from media.video import PcmAudio
from serve_app.live.ice import drop_mdns_candidates, mdns_candidates, use_host_addresses
from serve_app.live.scaling import LiveStreamsPolicy, desired_replicas
from serve_app.live.stream import BadOffer, LiveOptions, LiveStream, chosen_codecs
from serve_app.live.viewer import LiveViewer
from serve_app.settings import Settings
from tests.fakes import Clock
from tests.waiting import until

# ---------------------------------------------------------------------------- registry


async def test_registry_routes_a_stop_to_the_replica_holding_the_stream() -> None:
    reg = LiveRegistryCore(clock=Clock())
    await reg.claim("live:t:s1", "r1", {"state": "new"})
    assert await reg.holder("live:t:s1") == "r1"
    polling = asyncio.ensure_future(reg.poll("r1", {"live:t:s1": {"state": "connected"}}, 30.0))
    await asyncio.sleep(0)
    stopping = asyncio.ensure_future(reg.stop("live:t:s1", wait_s=30.0))
    assert await asyncio.wait_for(polling, 5) == ["live:t:s1"]  # woken at once
    assert not stopping.done()  # waits for the replica to say it ended
    await reg.release("live:t:s1", "r1", {"state": "closed", "end_reason": "deleted"})
    assert await asyncio.wait_for(stopping, 5) == {"state": "closed", "end_reason": "deleted"}
    assert await reg.holder("live:t:s1") is None
    assert await reg.status("live:t:s1") == {
        "state": "closed",
        "end_reason": "deleted",
        "live": False,
    }
    assert await reg.stop("live:t:s1") is None  # nothing live: nothing to stop


async def test_registry_keeps_the_latest_status_from_polls() -> None:
    reg = LiveRegistryCore(clock=Clock())
    await reg.claim("k", "r1", {"state": "new", "frames_sent": 0})
    await reg.poll("r1", {"k": {"state": "connected", "frames_sent": 30}}, 0.0)
    assert await reg.status("k") == {"state": "connected", "frames_sent": 30, "live": True}
    assert await reg.status("unknown") is None
    assert (await reg.stats())["live_streams"] == 1


async def test_a_replaced_stream_does_not_release_its_successor() -> None:
    reg = LiveRegistryCore(clock=Clock())
    await reg.claim("k", "r1", {"state": "new"})
    await reg.claim("k", "r2", {"state": "new"})
    await reg.release("k", "r1", {"state": "closed"})
    assert await reg.holder("k") == "r2"


async def test_streams_of_a_replica_that_stopped_polling_are_lost() -> None:
    clock = Clock()
    reg = LiveRegistryCore(clock=clock, lost_after_s=10.0)
    await reg.claim("k", "r1", {"state": "connected"})
    clock.now += 11
    assert await reg.holder("k") is None
    status = await reg.status("k")
    assert status is not None and status["end_reason"] == "replica lost"


async def test_a_restarted_registry_learns_the_streams_from_the_polls() -> None:
    reg = LiveRegistryCore(clock=Clock())  # a fresh actor: it knows of no stream
    await reg.poll("r1", {"k": {"state": "connected"}}, 0.0)
    assert await reg.holder("k") == "r1"
    await reg.claim("k", "r2", {"state": "new"})  # replaced elsewhere: r1's polls don't win
    await reg.poll("r1", {"k": {"state": "connected"}}, 0.0)
    assert await reg.holder("k") == "r2"


async def test_a_key_reserves_at_most_its_quota_of_streams() -> None:
    clock = Clock()
    reg = LiveRegistryCore(clock=clock)
    assert await reg.reserve("live:t:s1", "key-a", 2)
    await reg.claim("live:t:s1", "r1", {"state": "new"})
    assert await reg.reserve("live:t:s2", "key-a", 2)  # on its way to a replica
    assert not await reg.reserve("live:t:s3", "key-a", 2)
    assert await reg.reserve("live:t:s1", "key-a", 2)  # a new offer for a held stream: no slot
    await reg.claim("live:t:s1", "r1", {"state": "new"})
    assert await reg.reserve("live:t:s3", "key-b", 2)  # another key counts its own
    await reg.unreserve("live:t:s2")  # that offer failed
    assert await reg.reserve("live:t:s4", "key-a", 2)
    await reg.claim("live:t:s4", "r1", {"state": "new"})
    assert not await reg.reserve("live:t:s5", "key-a", 2)
    await reg.release("live:t:s1", "r1", {"state": "closed"})  # an end frees a slot
    assert await reg.reserve("live:t:s5", "key-a", 2)
    clock.now += 31  # a reservation no replica claimed lapses
    assert await reg.reserve("live:t:s6", "key-a", 2)


# ---------------------------------------------------------------------------- scaling


@dataclass
class _Ctx:
    aggregated_metrics: dict[str, dict[str, float]] | None


def test_replicas_follow_live_streams() -> None:
    assert desired_replicas([], 4) == 1
    assert desired_replicas([0.0], 4) == 1
    assert desired_replicas([4.0], 4) == 1
    assert desired_replicas([5.0], 4) == 2
    assert desired_replicas([1.0, 1.0, 0.0], 4) == 2  # never below the busy replicas
    policy = LiveStreamsPolicy(target=2)
    assert policy(_Ctx({"live_streams": {"a": 3.0, "b": 2.0}})) == (3, {})
    assert policy(_Ctx(None)) == (1, {})


# ---------------------------------------------------------------------------- ICE, settings

_MDNS_OFFER = (
    "v=0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=candidate:1 1 udp 2122260223 4b1e2a3c-1f2d-4c5e-9a8b-7c6d5e4f3a2b.local 51000 typ host\r\n"
    "a=candidate:2 1 udp 2122260223 127.0.0.1 51001 typ host\r\n"
)


def test_mdns_candidates_are_dropped_and_others_kept() -> None:
    assert mdns_candidates(_MDNS_OFFER) == 1
    kept = drop_mdns_candidates(_MDNS_OFFER + "a=end-of-candidates\r\n")
    assert mdns_candidates(kept) == 0 and "127.0.0.1 51001" in kept
    assert "end-of-candidates" not in kept  # the peer's checks are still awaited
    plain = "v=0\r\na=candidate:2 1 udp 1 127.0.0.1 5 typ host\r\na=end-of-candidates\r\n"
    assert drop_mdns_candidates(plain) == plain


def test_ice_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AVATAR_ICE_SERVERS",
        '[{"urls": "turn:turn.example:3478", "username": "u", "credential": "p"}]',
    )
    monkeypatch.setenv("AVATAR_LIVE_ICE_ADDRESSES", "127.0.0.1, ::1")
    monkeypatch.setenv("AVATAR_LIVE_FPS", "48")
    s = Settings.from_env()
    assert s.ice_servers[0].urls == "turn:turn.example:3478" and s.ice_servers[0].username == "u"
    assert s.live_ice_addresses == ["127.0.0.1", "::1"] and s.live_fps == 48
    monkeypatch.setenv("AVATAR_LIVE_FPS", "90")
    with pytest.raises(ValueError, match="live_fps"):
        Settings.from_env()
    assert Settings().ice_servers == []  # never aiortc's public default


def test_the_chosen_codecs_are_read_from_the_answer() -> None:
    answer = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=rtpmap:0 PCMU/8000\r\nm=video 9 UDP/TLS/RTP/SAVPF 102 97\r\n"
        "a=rtpmap:97 VP8/90000\r\na=rtpmap:102 H264/90000\r\n"
    )
    assert chosen_codecs(answer) == {"audio": "opus", "video": "H264"}


# ---------------------------------------------------------------------------- one stream


class _Entities:
    """What the Live deployment reaches through the directory, here in-process."""

    def __init__(self) -> None:
        self.journal = MemoryJournal()
        cfg = EntityConfig(journal_url="memory://")
        self.avatar: EntityRuntime[AvatarState] = EntityRuntime(
            AvatarAggregate(), "t", "ada", stream_id("avatar", "t", "ada"), self.journal, cfg
        )
        self.session: EntityRuntime[SessionState] = EntityRuntime(
            SessionAggregate(), "t", "s1", stream_id("session", "t", "s1"), self.journal, cfg
        )

    async def wait(
        self, kind: str, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]:
        runtime: Any = self.avatar if kind == "avatar" else self.session
        return await runtime.wait(after_version, timeout)  # type: ignore[no-any-return]

    async def read(
        self, kind: str, entity_id: str, from_version: int, to_version: int
    ) -> list[RecordedEvent]:
        k = "avatar" if kind == "avatar" else "session"
        return self.journal.read(stream_id(k, "t", entity_id), from_version, to_version)  # type: ignore[arg-type]


@pytest.fixture
def loopback() -> Iterator[None]:
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses([])


@dataclass
class _Live:
    entities: _Entities
    stream: LiveStream
    viewer: LiveViewer
    ended: asyncio.Event
    text: str


@pytest.fixture
async def live(loopback: None) -> AsyncIterator[_Live]:
    entities = _Entities()
    await entities.avatar.activate()
    await entities.session.activate()
    await entities.avatar.execute(PatchState(state=StatePatch(idle=False, blink=False)))
    await entities.session.execute(StartSession(avatar_id="ada", ttl_seconds=600))
    text = "Hello there, thanks for joining me today. Tell me about your last project."
    spoken = synthesize(text, "en-us")
    clip = PcmAudio(spoken.pcm.astype(np.int16), spoken.sample_rate)
    ended = asyncio.Event()

    async def on_end(_: LiveStream) -> None:
        ended.set()

    executor = ThreadPoolExecutor(2)
    stream = LiveStream(
        session_id="s1",
        avatar_id="ada",
        avatar=entities.avatar.state,
        avatar_version=entities.avatar.state.version,
        session_version=entities.session.state.version,
        options=LiveOptions(width=256, height=256),
        seed=1,
        settings=Settings(live_connect_timeout_s=20),
        source=entities,
        load_clip=lambda _: clip,
        executor=executor,
        on_end=on_end,
    )
    viewer = LiveViewer()
    await viewer.accept(
        {"sdp": await stream.answer((await viewer.offer())["sdp"]), "type": "answer"}
    )
    try:
        yield _Live(entities, stream, viewer, ended, text)
    finally:
        await stream.end("test over")
        await viewer.close()
        executor.shutdown()


@pytest.mark.timeout(90)
async def test_a_stream_shows_speech_and_its_interruption_then_ends_with_the_session(
    live: _Live,
) -> None:
    await live.viewer.wait_for("video", 10, timeout=30)
    assert (live.viewer.video[0].width, live.viewer.video[0].height) == (256, 256)
    assert live.stream.state == "connected" and live.stream.codecs["video"] in ("VP8", "H264")
    spoken = synthesize(live.text, "en-us")
    await live.entities.avatar.execute(
        StartSpeech(
            utterance_id="u1",
            text=live.text,
            voice_id="en-us",
            duration_ms=spoken.duration_ms,
            track=spoken.track,
        )
    )
    t = time.monotonic()
    await until(
        lambda: any(a.level > 100 for a in live.viewer.audio if a.arrived > t),
        timeout=10,
        what="speech arrives",
    )
    assert live.stream.scene.speaking(live.stream.now_ms()) == "u1"
    await live.entities.avatar.execute(InterruptSpeech())
    await until(
        lambda: live.stream.scene.speaking(live.stream.now_ms()) is None,
        timeout=5,
        what="the utterance is cut",
    )
    await asyncio.sleep(0.3)
    t = time.monotonic()
    await asyncio.sleep(0.5)
    assert all(a.level == 0 for a in live.viewer.audio if a.arrived > t)
    await live.entities.avatar.execute(SetEmotion(emotion="happy"))
    await until(lambda: live.stream.events_applied >= 3, timeout=5, what="events applied")
    await live.entities.session.execute(CloseSession(reason="done"))
    await asyncio.wait_for(live.ended.wait(), 10)
    assert live.stream.end_reason == "session closed"
    assert live.stream.status()["state"] == "closed"


async def test_an_offer_without_video_is_refused(loopback: None) -> None:
    entities = _Entities()
    await entities.avatar.activate()

    async def on_end(_: LiveStream) -> None:
        return None

    executor = ThreadPoolExecutor(1)
    stream = LiveStream(
        session_id="s1",
        avatar_id="ada",
        avatar=AvatarState(),
        avatar_version=0,
        session_version=0,
        options=LiveOptions(),
        seed=1,
        settings=Settings(),
        source=entities,
        load_clip=lambda _: None,
        executor=executor,
        on_end=on_end,
    )

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    with pytest.raises(BadOffer, match="no video"):
        await stream.answer(pc.localDescription.sdp)
    with pytest.raises(BadOffer):
        await stream.answer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=nonsense\r\n")
    await pc.close()
    executor.shutdown()


@pytest.mark.timeout(60)
async def test_an_offer_with_only_mdns_candidates_still_connects(loopback: None) -> None:
    """Chromium's host candidates are ``<uuid>.local`` names: dropped, and the browser's
    connectivity checks make it known (peer-reflexive), as with a real browser."""
    entities = _Entities()
    await entities.avatar.activate()
    await entities.session.activate()
    await entities.session.execute(StartSession(avatar_id="ada", ttl_seconds=600))

    async def on_end(_: LiveStream) -> None:
        return None

    executor = ThreadPoolExecutor(1)
    stream = LiveStream(
        session_id="s1",
        avatar_id="ada",
        avatar=entities.avatar.state,
        avatar_version=entities.avatar.state.version,
        session_version=entities.session.state.version,
        options=LiveOptions(width=128, height=128),
        seed=1,
        settings=Settings(),
        source=entities,
        load_clip=lambda _: None,
        executor=executor,
        on_end=on_end,
    )
    viewer = LiveViewer()
    try:
        offer = (await viewer.offer())["sdp"]
        hidden = offer.replace(" 127.0.0.1 ", " 0f4a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b.local ")
        assert mdns_candidates(hidden) >= 1 and " 127.0.0.1 " not in hidden.split("a=end")[0]
        await viewer.accept({"sdp": await stream.answer(hidden), "type": "answer"})
        frames = await viewer.wait_for("video", 3, timeout=30)
        assert frames[0].width == 128 and stream.state == "connected"
    finally:
        await stream.end("test over")
        await viewer.close()
        executor.shutdown()


# ---------------------------------------------------------------------------- tracks


async def test_tracks_stamp_frames_from_one_clock_and_skip_when_late() -> None:
    """Frames are due on the stream's clock; a fake clock already past them never sleeps."""
    from av import VideoFrame

    from media.live import LiveScene
    from serve_app.live.tracks import AUDIO_SAMPLES, SceneAudioTrack, SceneVideoTrack

    clock = Clock(100.0)
    scene = LiveScene(AvatarState(), fps=30, seed=1)
    drawn: list[int] = []

    def draw(index: int) -> VideoFrame:
        drawn.append(index)
        scene.frame(index)
        return VideoFrame(16, 16, "yuv420p")

    with ThreadPoolExecutor(1) as executor:
        video = SceneVideoTrack(draw, 30, origin=99.0, executor=executor, clock=clock)
        audio = SceneAudioTrack(scene, origin=99.0, clock=clock)
        first = await video.recv()
        assert first.pts == 30 * 3000 and drawn == [30]  # 1 s in: frame 30, at 90 kHz
        second = await video.recv()
        assert second.pts == 31 * 3000
        clock.now += 1.0  # a stall: frames 32..59 are stale
        third = await video.recv()
        assert drawn[-1] == 60 and third.pts == 60 * 3000 and video.stats.skipped == 28
        a1, a2 = await audio.recv(), await audio.recv()
        assert (a1.pts, a2.pts) == (100 * AUDIO_SAMPLES, 101 * AUDIO_SAMPLES)  # 2 s in
        assert a1.sample_rate == 48_000 and a1.samples == AUDIO_SAMPLES
        assert scene.audio_until == 102 * AUDIO_SAMPLES
        assert video.stats.frames == 3 and audio.stats.frames == 2
        video.stop()
        audio.stop()
        with pytest.raises(MediaStreamError):
            await video.recv()

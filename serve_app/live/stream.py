"""One live stream: a WebRTC peer connection that shows a session's avatar as it lives.

The stream answers the browser's offer with one video and one audio track (send-only), then
follows two entities through their long-polls (``wait``), exactly as the WebSocket streams do:
the avatar (every picture event becomes a cue of the :class:`~media.live.LiveScene`; speech
brings its recorded lip-sync track and its stored WAV) and the session (closed or expired:
the stream ends). It ends too when the peer fails or closes, when a disconnected peer does not
come back within the grace period, when no peer connected in time, at its maximum duration, and
when asked (``DELETE .../live``). ``on_end`` is called once, with the final status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiortc import RTCPeerConnection, RTCSessionDescription
from av import VideoFrame

from events.avatar import AvatarState, SpeechInterrupted, SpeechStarted, Traits
from events.base import Event, registry
from events.records import RecordedEvent
from events.session import SessionClosed, SessionExpired
from media.face import FaceRig, RenderOptions
from media.live import LiveScene
from media.video import PcmAudio
from serve_app.live import codecs
from serve_app.live.ice import configuration, drop_mdns_candidates
from serve_app.live.tracks import SceneAudioTrack, SceneVideoTrack
from serve_app.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
_ENDED = ("closed", "failed")
_POLL_TIMEOUT_S = 15.0


class BadOffer(ValueError):
    """The offer is not an SDP offer this service can answer (422)."""


class EventSource(Protocol):
    """How a stream follows an entity: its long-poll, and the journal for a gap."""

    async def wait(
        self, kind: str, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]: ...

    async def read(
        self, kind: str, entity_id: str, from_version: int, to_version: int
    ) -> list[RecordedEvent]: ...


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How a stream is drawn: size, rate, and the look (shading, quality)."""

    width: int = 512
    height: int = 512
    fps: int = 30
    shading: str = "toon"
    quality: str = "high"
    antialiasing: bool = True

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            self.width,
            self.height,
            self.shading,  # type: ignore[arg-type]
            self.quality,  # type: ignore[arg-type]
            self.antialiasing,
        )


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


def _event_of(frame: dict[str, Any]) -> Event:
    return registry.get(frame["type"]).model_validate(frame["data"])


_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([^/\s]+)/", re.MULTILINE)


def chosen_codecs(sdp: str) -> dict[str, str]:
    """The codec each media section of an answer sends with (its first payload type)."""
    out: dict[str, str] = {}
    for section in sdp.split("\nm=")[1:]:
        head = section.split("\n", 1)[0].split()
        if len(head) < 4:
            continue
        kind, first = head[0], head[3]
        names = dict(_RTPMAP.findall("\n" + section))
        if first in names and kind not in out:
            out[kind] = names[first]
    return out


class LiveStream:
    def __init__(
        self,
        *,
        session_id: str,
        avatar_id: str,
        avatar: AvatarState,
        avatar_version: int,
        session_version: int,
        options: LiveOptions,
        seed: int,
        settings: Settings,
        source: EventSource,
        load_clip: Callable[[SpeechStarted], PcmAudio | None],
        executor: Executor,
        on_end: Callable[[LiveStream], Awaitable[None]],
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        codecs.install()
        self.session_id = session_id
        self.avatar_id = avatar_id
        self.options = options
        self.settings = settings
        self._source = source
        self._load_clip = load_clip
        self._executor = executor
        self._on_end = on_end
        self._clock = clock
        self._wall = wall
        self.origin = clock()
        self.started_at = wall()
        anim = avatar.animation
        anim_at = None
        if anim is not None and anim.started_at is not None:
            anim_at = (anim.started_at - self.started_at) * 1000.0
        self.scene = LiveScene(avatar, fps=options.fps, seed=seed, animation_at_ms=anim_at)
        self.video = SceneVideoTrack(self._draw, options.fps, self.origin, executor, clock)
        self.audio = SceneAudioTrack(self.scene, self.origin, clock)
        self._render_options = options.render_options()
        self._traits = avatar.traits
        self._rigs: dict[Traits, FaceRig] = {}
        self._rig_lock = threading.Lock()
        self._versions = {"avatar": avatar_version, "session": session_version}
        self.pc: RTCPeerConnection | None = None
        self.state = "new"
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self.end_reason: str | None = None
        self.codecs: dict[str, str] = {}
        self.events_applied = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._grace: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ time and drawing

    def now_ms(self) -> float:
        return (self._clock() - self.origin) * 1000.0

    def _rig(self, traits: Traits) -> FaceRig:
        with self._rig_lock:
            rig = self._rigs.get(traits)
            if rig is None:
                self._rigs.clear()  # one appearance at a time
                rig = self._rigs[traits] = FaceRig(traits, self._render_options)
            return rig

    def _draw(self, index: int) -> VideoFrame:
        """Frame ``index``, drawn (in a worker thread) and converted for the encoder."""
        params, traits = self.scene.frame(index)
        pixels = self._rig(traits).render(params)
        frame = VideoFrame.from_ndarray(pixels, format="rgba")
        return frame.reformat(format="yuv420p")

    # ------------------------------------------------------------------ signalling

    async def answer(self, sdp: str) -> str:
        """Take the peer's offer; the SDP answer (ICE candidates gathered, no trickle)."""
        if self.settings.live_mdns == "drop":
            sdp = drop_mdns_candidates(sdp)
        pc = self.pc = RTCPeerConnection(configuration(self.settings.ice_servers))
        pc.on("connectionstatechange", self._state_changed)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as e:  # untrusted text: whatever aiortc's parser makes of it
            await self._discard()
            raise BadOffer(f"the SDP offer could not be read: {e}") from e
        kinds = [t.kind for t in pc.getTransceivers()]
        if "video" not in kinds:
            await self._discard()
            raise BadOffer("the offer has no video section: offer to receive video")
        for track in (self.video, self.audio):
            if track.kind in kinds:
                sender = pc.addTrack(track)  # the offered section of its kind
                for transceiver in pc.getTransceivers():
                    if transceiver.sender is sender:
                        transceiver.direction = "sendonly"  # what the peer sends is not ours
        self._executor.submit(self._rig, self._traits)  # warm the drawing while ICE runs
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:  # e.g. no codec in common
            await self._discard()
            raise BadOffer(f"no answer to this offer: {e}") from e
        answer = pc.localDescription.sdp
        self.codecs = chosen_codecs(answer)
        self.state = pc.connectionState
        self._tasks = [
            asyncio.ensure_future(self._follow("avatar", self.avatar_id, self._avatar_event)),
            asyncio.ensure_future(self._follow("session", self.session_id, self._session_event)),
            asyncio.ensure_future(self._watchdog()),
        ]
        return answer

    async def _discard(self) -> None:
        if self.pc is not None:
            await self.pc.close()

    async def _state_changed(self) -> None:
        pc = self.pc
        if pc is None:
            return
        state = pc.connectionState
        if self.ended_at is not None:
            return
        self.state = state
        if state == "connected":
            if self.connected_at is None:
                self.connected_at = self._wall()
            if self._grace is not None:
                self._grace.cancel()
                self._grace = None
        elif state in _ENDED:
            self.end(f"peer connection {state}")
        elif state == "disconnected" and self._grace is None:
            loop = asyncio.get_running_loop()
            self._grace = loop.call_later(
                self.settings.live_disconnected_grace_s, self.end, "peer disconnected"
            )

    async def _watchdog(self) -> None:
        """Ends a stream whose peer never connects, and any stream at its maximum duration."""
        await asyncio.sleep(self.settings.live_connect_timeout_s)
        if self.connected_at is None:
            self.end("no peer connected")
            return
        elapsed = self._wall() - self.started_at
        await asyncio.sleep(max(0.0, self.settings.live_max_duration_s - elapsed))
        self.end("maximum duration reached")

    # ------------------------------------------------------------------ following events

    async def _follow(
        self, kind: str, entity_id: str, handle: Callable[[Event], Awaitable[None]]
    ) -> None:
        delay = 0.05
        while True:
            version = self._versions[kind]
            try:
                polled = await self._source.wait(kind, entity_id, version, _POLL_TIMEOUT_S)
                if polled["lagged"]:
                    records = await self._source.read(
                        kind, entity_id, version + 1, polled["version"]
                    )
                    events = [(r.version, r.event) for r in records]
                else:
                    events = [(e["version"], _event_of(e)) for e in polled["events"]]
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an actor restarting, the journal busy: poll again
                log.warning(
                    "live %s: following %s %s failed: %s", self.session_id, kind, entity_id, e
                )
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
                continue
            delay = 0.05
            for v, event in events:
                if v <= self._versions[kind]:
                    continue
                self._versions[kind] = v
                await handle(event)

    async def _avatar_event(self, event: Event) -> None:
        if isinstance(event, SpeechStarted):
            clip = await asyncio.to_thread(self._load_clip, event)
            self.scene.speak(event, clip, self.now_ms())
        elif isinstance(event, SpeechInterrupted):
            self.scene.interrupt(event.utterance_id, self.now_ms())
        elif not self.scene.apply(event, self.now_ms()):
            return
        self.events_applied += 1

    async def _session_event(self, event: Event) -> None:
        if isinstance(event, SessionClosed):
            self.end("session closed")
        elif isinstance(event, SessionExpired):
            self.end("session expired")

    # ------------------------------------------------------------------ the end

    def end(self, reason: str) -> asyncio.Task[None]:
        """End the stream (once; later calls return the same task)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(reason))
        return self._closing

    async def _close(self, reason: str) -> None:
        self.end_reason = reason
        self.ended_at = self._wall()
        self.state = "closed"
        if self._grace is not None:
            self._grace.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self.video.stop()
        self.audio.stop()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(BaseException):
                    await task
        log.info("live %s ended: %s", self.session_id, reason)
        await self._on_end(self)

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        now = self._clock()
        pc = self.pc
        video, audio = self.video.stats, self.audio.stats
        first_frame_ms = None
        if video.first_at is not None:
            first_frame_ms = round((video.first_at - self.origin) * 1000.0, 1)
        return {
            "session_id": self.session_id,
            "avatar_id": self.avatar_id,
            "state": self.state,
            "ice_state": None if pc is None else pc.iceConnectionState,
            "width": self.options.width,
            "height": self.options.height,
            "fps": self.options.fps,
            "measured_fps": round(video.rate(now), 2) if self.ended_at is None else 0.0,
            "codecs": self.codecs,
            "frames_sent": video.frames,
            "frames_skipped": video.skipped,
            "audio_frames_sent": audio.frames,
            "draw_ms_per_frame": round(1000.0 * video.draw_s / video.frames, 2)
            if video.frames
            else None,
            "first_frame_ms": first_frame_ms,
            "events_applied": self.events_applied,
            "speaking": self.scene.speaking(self.now_ms()),
            "started_at": _iso(self.started_at),
            "connected_at": _iso(self.connected_at),
            "ended_at": _iso(self.ended_at),
            "end_reason": self.end_reason,
        }

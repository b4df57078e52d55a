"""A Python viewer of a live stream: an aiortc peer that receives a session's video and audio.

What a web page does with ``RTCPeerConnection``, for scripts, tests and benchmarks: make the
offer, post it to ``/session/{id}/live``, take the answer, then record what arrives. It keeps
small measurements of every frame rather than the frames themselves: arrival time, RTP
timestamp, size, the luma of the mouth region (video), the mean level (audio); and the
sender reports (RTCP SR) that map RTP timestamps to the sender's wall clock, which is what a
browser's lip sync uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtcpSrPacket

from media.face.layout import CX, DESIGN, FOCUS, MOUTH_HALF_WIDTH, MOUTH_Y, ZOOM

_CLOCK_RATES = {"video": 90_000, "audio": 48_000}


def mouth_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (left, top, right, bottom) around the mouth of a frame of this size."""
    k = min(width, height) / DESIGN * ZOOM
    ox, oy = width / 2.0 - FOCUS[0] * k, height / 2.0 - FOCUS[1] * k
    half_w, above, below = MOUTH_HALF_WIDTH + 14.0, 16.0, 30.0
    return (
        max(0, round(ox + (CX - half_w) * k)),
        max(0, round(oy + (MOUTH_Y - above) * k)),
        min(width, round(ox + (CX + half_w) * k)),
        min(height, round(oy + (MOUTH_Y + below) * k)),
    )


@dataclass
class Received:
    """One decoded frame as measured on arrival."""

    arrived: float
    """``time.monotonic()`` when the frame was decoded."""
    pts: int
    """Its RTP timestamp."""
    width: int = 0
    height: int = 0
    mouth: npt.NDArray[np.float32] | None = None
    """Video: the mouth region's luma."""
    level: float = 0.0
    """Audio: mean absolute sample value (16-bit scale)."""


@dataclass
class _Track:
    kind: str
    frames: list[Received] = field(default_factory=list)
    reports: list[tuple[float, int]] = field(default_factory=list)
    """Sender reports: (sender wall time, RTP timestamp)."""
    origin: int | None = None
    """RTP timestamp of the first packet (aiortc's decoded frames count from it)."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class LiveViewer:
    def __init__(self, ice_servers: Sequence[dict[str, Any]] = ()) -> None:
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(**s) for s in ice_servers])
        )
        self.tracks = {kind: _Track(kind) for kind in ("video", "audio")}
        self._tasks: list[asyncio.Task[None]] = []
        for kind in ("video", "audio"):
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            self._listen_reports(transceiver.receiver, self.tracks[kind])
        self.pc.on("track", self._on_track)

    @property
    def video(self) -> list[Received]:
        return self.tracks["video"].frames

    @property
    def audio(self) -> list[Received]:
        return self.tracks["audio"].frames

    async def offer(self) -> dict[str, str]:
        """The offer to post (ICE candidates gathered: no trickle)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": "offer"}

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def wait_for(self, kind: str, count: int, timeout: float) -> list[Received]:
        """Until ``count`` frames of ``kind`` have arrived in all (else ``TimeoutError``)."""
        track = self.tracks[kind]
        async with asyncio.timeout(timeout):
            while len(track.frames) < count:
                track.arrived.clear()
                await track.arrived.wait()
        return track.frames

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # ------------------------------------------------------------------ measurements

    def sender_time(self, kind: str, pts: int) -> float | None:
        """The sender's wall time of a decoded frame's ``pts`` (from its latest report)."""
        track = self.tracks[kind]
        if not track.reports or track.origin is None:
            return None
        wall, rtp = track.reports[-1]
        delta = (track.origin + pts - rtp) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return wall + delta / _CLOCK_RATES[kind]

    # ------------------------------------------------------------------ internals

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._pull(track, self.tracks[track.kind])))

    async def _pull(self, track: MediaStreamTrack, into: _Track) -> None:
        while True:
            try:
                frame: Any = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if into.kind == "video":
                y = frame.to_ndarray(format="gray")
                left, top, right, bottom = mouth_box(frame.width, frame.height)
                got = Received(
                    now,
                    int(frame.pts),
                    frame.width,
                    frame.height,
                    mouth=y[top:bottom, left:right].astype(np.float32),
                )
            else:
                samples = frame.to_ndarray()
                got = Received(now, int(frame.pts), level=float(np.abs(samples).mean()))
            into.frames.append(got)
            into.arrived.set()

    def _listen_reports(self, receiver: RTCRtpReceiver, into: _Track) -> None:
        """Keep the sender reports the receiver is handed and the first RTP timestamp (aiortc
        keeps no mapping to the sender's clock, and its decoded frames count from there)."""
        handle = receiver._handle_rtcp_packet
        handle_rtp = receiver._handle_rtp_packet

        async def first_rtp(packet: Any, arrival_time_ms: int) -> None:
            if into.origin is None:
                into.origin = packet.timestamp
            await handle_rtp(packet, arrival_time_ms)

        receiver._handle_rtp_packet = first_rtp  # type: ignore[method-assign]

        async def handle_rtcp(packet: Any) -> None:
            if isinstance(packet, RtcpSrPacket):
                ntp = packet.sender_info.ntp_timestamp
                wall = (ntp >> 32) - 2_208_988_800 + (ntp & 0xFFFFFFFF) / 2**32
                into.reports.append((wall, packet.sender_info.rtp_timestamp))
            await handle(packet)

        receiver._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]

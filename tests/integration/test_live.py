"""Live WebRTC streams on a real Ray + Serve, watched by an aiortc peer in this process.

The viewer makes a real offer, posts it, and measures the decoded frames and audio it receives
(``serve_app.live.viewer``). Idle motion and blinking are switched off (a recorded state patch)
where a test looks at the mouth, so that only speech moves it. ICE runs on loopback only
(``live_ice_addresses`` in the test settings; the viewer gathers on 127.0.0.1 too).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import aiohttp
import numpy as np
import pytest

from serve_app.live.viewer import LiveViewer, Received
from tests.integration.conftest import Service
from tests.integration.helpers import call, new_id
from tests.waiting import until

pytestmark = [
    pytest.mark.parametrize("service", ["dedicated"], indirect=True),
    pytest.mark.usefixtures("loopback_ice"),
    pytest.mark.timeout(240),
]

NOISE = 3.5
"""Mean luma change of a still mouth region between decoded VP8 frames stays below this (the
encoder keeps refining a picture for a while after it moved); speech moves it far more."""
SPEECH = (
    "Thanks for joining me today. Let us talk about the payments platform you built, "
    "how you planned the migration, and what you would do differently next time."
)


async def open_session(service: Service, http: aiohttp.ClientSession, still: bool) -> str:
    aid = new_id("live")
    if still:  # only speech moves the face
        status, body, _ = await call(
            http, "PATCH", f"{service.api}/{aid}/state", {"state": {"idle": False, "blink": False}}
        )
        assert status == 200, body
    status, body, _ = await call(http, "POST", f"{service.api}/session", {"avatar_id": aid})
    assert status == 200, body
    return str(body["session_id"])


async def watch(
    service: Service,
    http: aiohttp.ClientSession,
    viewers: list[LiveViewer],
    sid: str,
    **options: Any,
) -> tuple[LiveViewer, dict[str, Any]]:
    viewer = LiveViewer()
    viewers.append(viewer)
    offer = await viewer.offer()
    status, answer, _ = await call(
        http, "POST", f"{service.api}/session/{sid}/live", {**offer, **options}
    )
    assert status == 200, answer
    assert answer["type"] == "answer" and answer["sdp"].startswith("v=0")
    await viewer.accept(answer)
    return viewer, answer


async def live_status(http: aiohttp.ClientSession, service: Service, sid: str) -> dict[str, Any]:
    status, body, _ = await call(http, "GET", f"{service.api}/session/{sid}/live")
    assert status == 200, body
    return dict(body)


def changes(frames: list[Received]) -> list[float]:
    """How much the mouth region changed from each frame to the next (mean |luma diff|)."""
    out = []
    for a, b in itertools.pairwise(frames):
        assert a.mouth is not None and b.mouth is not None
        out.append(float(np.abs(b.mouth - a.mouth).mean()))
    return out


def since(frames: list[Received], t: float) -> list[Received]:
    return [f for f in frames if f.arrived >= t]


async def test_offer_answer_frames_and_silence(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=False)
    started = time.monotonic()
    viewer, answer = await watch(service, http, viewers, sid)
    frames = await viewer.wait_for("video", 1, timeout=20)
    first_frame_s = frames[0].arrived - started
    assert (frames[0].width, frames[0].height) == (512, 512)
    await viewer.wait_for("video", 30, timeout=20)
    await viewer.wait_for("audio", 25, timeout=20)
    assert all(a.level == 0.0 for a in viewer.audio), "silence between utterances"
    assert answer["status"]["codecs"]["video"] in ("VP8", "H264")
    status = await until(
        lambda: _connected(http, service, sid), timeout=10, what="status reports frames sent"
    )
    assert status["live"] is True and status["state"] == "connected"
    assert status["status"]["fps"] == 30 and status["status"]["frames_sent"] > 0
    print(f"offer -> first decoded frame {first_frame_s:.3f} s")

    # a WebSocket command reaches the picture too (through the avatar's events)
    _, session, _ = await call(http, "GET", f"{service.api}/session/{sid}")
    async with http.ws_connect(f"{service.ws_api}/{session['avatar_id']}/stream") as ws:
        await ws.send_json(
            {"type": "command", "id": "c1", "command": "set_emotion", "emotion": "happy"}
        )
        while (frame := await ws.receive_json(timeout=10))["type"] != "ack":
            assert frame["type"] in ("snapshot", "event", "heartbeat"), frame

    async def applied() -> Any:
        s = await live_status(http, service, sid)
        return s if s["status"]["events_applied"] >= 1 else None

    await until(applied, timeout=10, what="the live stream applies the emotion")


async def _connected(http: aiohttp.ClientSession, service: Service, sid: str) -> Any:
    status = await live_status(http, service, sid)
    return status if status["state"] == "connected" and status["status"]["frames_sent"] else None


async def test_size_and_rate_from_the_offer(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=False)
    viewer, answer = await watch(service, http, viewers, sid, width=320, height=240, fps=60)
    frames = await viewer.wait_for("video", 1, timeout=20)
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert answer["status"]["fps"] == 60


async def test_speech_moves_the_mouth_and_sounds_until_interrupted(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=True)
    status, session, _ = await call(http, "GET", f"{service.api}/session/{sid}")
    aid = session["avatar_id"]
    viewer, _ = await watch(service, http, viewers, sid)
    await viewer.wait_for("video", 20, timeout=20)
    quiet_from = time.monotonic()
    await asyncio.sleep(1.0)
    quiet = changes(since(viewer.video, quiet_from))
    assert max(quiet) < NOISE, f"a still, silent face: mouth changes {max(quiet):.2f}"

    status, said, _ = await call(http, "POST", f"{service.api}/{aid}/speak", {"text": SPEECH})
    assert status == 200, said
    spoke_at = time.monotonic()
    await until(
        lambda: any(a.level > 100 for a in since(viewer.audio, spoke_at)),
        timeout=10,
        what="speech audio arrives",
    )
    await asyncio.sleep(2.0)
    speaking = changes(since(viewer.video, spoke_at))
    assert max(speaking) > 3 * NOISE, f"the mouth moves while speaking: {max(speaking):.2f}"
    assert (await live_status(http, service, sid))["status"]["speaking"] == said["utterance_id"]

    status, cut, _ = await call(http, "POST", f"{service.api}/{aid}/speak/interrupt")
    assert status == 200, cut
    await asyncio.sleep(0.5)  # the cut, the last frames in flight
    after = time.monotonic()
    await asyncio.sleep(1.5)
    assert all(a.level == 0.0 for a in since(viewer.audio, after)), "silence after interrupt"
    still = changes(since(viewer.video, after))
    assert len(still) > 20 and max(still) < NOISE, f"mouth still after interrupt: {max(still):.2f}"
    closed = since(viewer.video, after)[-1].mouth
    resting = since(viewer.video, quiet_from)[0].mouth
    assert closed is not None and resting is not None
    assert float(np.abs(closed - resting).mean()) < NOISE, "the mouth closed as before speaking"


async def test_delete_ends_the_stream_and_again_is_fine(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=False)
    viewer, _ = await watch(service, http, viewers, sid)
    await viewer.wait_for("video", 5, timeout=20)
    status, body, _ = await call(http, "DELETE", f"{service.api}/session/{sid}/live")
    assert status == 200, body
    assert body["live"] is False and body["state"] == "closed"
    assert body["status"]["end_reason"] == "deleted"
    sent = len(viewer.video)
    await asyncio.sleep(1.0)
    assert len(viewer.video) <= sent + 2, "no frames after the end"
    status, again, _ = await call(http, "DELETE", f"{service.api}/session/{sid}/live")
    assert status == 200 and again["live"] is False


async def test_closing_the_session_ends_the_stream(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=False)
    viewer, _ = await watch(service, http, viewers, sid)
    await viewer.wait_for("video", 5, timeout=20)
    status, body, _ = await call(http, "DELETE", f"{service.api}/session/{sid}")
    assert status == 200, body

    async def ended() -> Any:
        s = await live_status(http, service, sid)
        return s if not s["live"] else None

    final = await until(ended, timeout=10, what="the stream ends with its session")
    assert final["status"]["end_reason"] == "session closed"
    late = LiveViewer()
    viewers.append(late)
    status, err, _ = await call(
        http, "POST", f"{service.api}/session/{sid}/live", await late.offer()
    )
    assert status == 409 and err["code"] == "session_closed"


async def test_a_viewer_that_goes_away_is_cleaned_up(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    sid = await open_session(service, http, still=False)
    viewer, _ = await watch(service, http, viewers, sid)
    await viewer.wait_for("video", 5, timeout=20)
    await viewer.close()

    async def ended() -> Any:
        s = await live_status(http, service, sid)
        return s if not s["live"] else None

    final = await until(ended, timeout=45, what="the server notices the peer left")
    assert final["status"]["end_reason"].startswith("peer")


async def test_errors(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer]
) -> None:
    viewers.append(LiveViewer())
    offer = await viewers[-1].offer()
    status, err, _ = await call(http, "POST", f"{service.api}/session/s-nope/live", offer)
    assert status == 404 and err["code"] == "session_not_found" and err["message"]
    status, err, _ = await call(http, "GET", f"{service.api}/session/s-nope/live")
    assert status == 404
    sid = await open_session(service, http, still=False)
    status, none, _ = await call(http, "GET", f"{service.api}/session/{sid}/live")
    assert status == 200 and none == {
        "session_id": sid,
        "live": False,
        "state": "none",
        "status": {},
    }
    for bad in (
        {"sdp": "hello", "type": "offer"},
        {"sdp": offer["sdp"], "type": "answer"},
        {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"},
        {"sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=garbage\r\n", "type": "offer"},
        {**offer, "width": 16384},
        {**offer, "fps": 10},
    ):
        status, err, _ = await call(http, "POST", f"{service.api}/session/{sid}/live", bad)
        assert status == 422, (bad.get("sdp", "")[:20], err)
        assert err["code"] in ("validation_error", "invalid_sdp") and err["message"]

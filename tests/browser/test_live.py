"""The console's live panel in Chromium against the real service's WebRTC stream.

What is measured is what the browser decoded and plays: the <video> element's frames (drawn
into a canvas in the page, the mouth region compared over time) and the remote audio track
(a WebAudio AnalyserNode); see ``tests/browser/probes.py``.

ICE: Chromium is launched with its default of hiding host candidates behind mDNS names. The
service drops those candidates and learns the browser's address from its connectivity checks
(peer-reflexive; the live-stream branch's ``serve_app/live/ice.py``), so the test runs the
path a person's browser takes; no ``--disable-features=WebRtcHideLocalIpsWithMdns``.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.console import ConsolePage
from tests.browser.probes import MOUTH_BOX, SAMPLES, SET_PHASE, START, phases
from tests.integration.helpers import call, new_id
from tests.service import Service
from tests.waiting import until

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]

LONG_TEXT = (
    "This answer goes on for a while, so that there is time to interrupt it: first the "
    "background, then the numbers, then what we learned from them and what we would do again."
)
FIRST_FRAME_TIMEOUT_MS = 30_000


async def go_live(
    console: ConsolePage, http: aiohttp.ClientSession | None = None, still: bool = False
) -> str:
    """An avatar and a session through the console; the live stream starts with the session.

    ``still``: idle motion and blinking off first (a recorded state patch, through the API),
    so that only speech moves the face.
    """
    avatar_id = await console.use_avatar()
    if still:
        assert http is not None
        patch = {"state": {"idle": False, "blink": False}}
        status, body, _ = await call(
            http, "PATCH", f"{console.base}/api/v1/avatars/{avatar_id}/state", patch
        )
        assert status == 200, body
    session_id = await console.start_session()
    video = console.page.locator("#live-video")
    await expect(video).to_have_attribute(
        "data-offer-to-first-frame-ms", re.compile(r"^\d+$"), timeout=FIRST_FRAME_TIMEOUT_MS
    )
    await expect(console.page.locator("#live-state")).to_have_text("live")
    return session_id


async def test_live_video_moves_its_mouth_while_speaking_and_stops_after_interrupt(
    console: ConsolePage, service: Service, http: aiohttp.ClientSession
) -> None:
    session_id = await go_live(console, http, still=True)
    page = console.page
    size = await page.evaluate(
        "() => { const v = document.getElementById('live-video');"
        " return [v.videoWidth, v.videoHeight, v.getVideoPlaybackQuality().totalVideoFrames]; }"
    )
    assert size[:2] == [512, 512], size
    await expect(page.locator("#live-size")).to_have_text("512\u00d7512")

    probe = await page.evaluate(START, list(MOUTH_BOX))
    assert probe["context"] == "running", probe  # audio flows without a click (autoplay flag)
    await asyncio.sleep(2.0)  # silent and still: only the video codec's noise moves

    await page.evaluate(SET_PHASE, "starting")  # the sound may come before the HTTP answer
    await console.speak(LONG_TEXT)
    await expect(page.locator("#speaking")).to_be_visible()
    await page.evaluate(SET_PHASE, "speaking")
    await asyncio.sleep(2.5)
    await console.interrupt()
    await page.evaluate(SET_PHASE, "settling")  # the mouth closes over a few frames
    await expect(console.log_entry("SpeechInterrupted")).to_have_count(1)
    await asyncio.sleep(1.0)
    await page.evaluate(SET_PHASE, "after")
    await asyncio.sleep(2.0)
    seen = phases(await page.evaluate(SAMPLES))
    idle, speaking, after = seen["idle"], seen["speaking"], seen["after"]
    print(seen)  # shown with -s, and with a failure

    for phase in (idle, speaking, after):  # the video kept playing throughout (a loaded
        assert phase.frames >= 4, seen  # machine decodes far fewer than 30 frames a second)
    # the picture: the mouth region moves while speaking, and after the interrupt it is still
    # again (median change per new frame, in levels of 255; measured here: 0.03-0.1 before,
    # about 3 while speaking, 0.1-0.4 after: what still changes then is the VP8 encoder
    # refining a picture that stopped moving, and its key frames)
    assert speaking.motion > max(5 * idle.motion, 1.0), seen
    assert after.motion < min(speaking.motion / 4, 0.8), seen
    # the sound: energy while speaking, silence before and after (measured: 0.05 RMS; 0)
    assert speaking.rms > 0.01 and speaking.peak_rms > 0.03, seen
    assert idle.peak_rms < 0.003 and after.peak_rms < 0.003, seen

    status, live, _ = await call(http, "GET", f"{service.api}/session/{session_id}/live")
    assert status == 200 and live["live"] and live["state"] == "connected", live
    assert live["status"]["width"] == 512 and live["status"]["frames_sent"] > 60, live


async def test_stop_go_live_and_close_end_the_stream(
    console: ConsolePage, service: Service, http: aiohttp.ClientSession
) -> None:
    session_id = await go_live(console)
    page = console.page
    live_url = f"{service.api}/session/{session_id}/live"

    await page.click("#live-toggle")  # Stop: DELETE .../live
    await expect(page.locator("#live-state")).to_have_text("offline")
    await expect(page.locator("#live-toggle")).to_have_text("Go live")
    status, live, _ = await call(http, "GET", live_url)
    assert status == 200 and not live["live"], live

    await page.click("#live-toggle")  # a new offer for the same session
    await expect(page.locator("#live-state")).to_have_text("live", timeout=FIRST_FRAME_TIMEOUT_MS)
    status, live, _ = await call(http, "GET", live_url)
    assert live["live"], live

    await console.close_session()  # closing the session ends its stream
    await expect(page.locator("#live-state")).to_have_text("offline")
    await expect(page.locator("#live-message")).to_contain_text("Session closed")
    await expect(page.locator("#live-toggle")).to_be_disabled()
    status, live, _ = await call(http, "GET", live_url)
    assert status == 200 and not live["live"], live


def readme_attach_live() -> str:
    """The ``attachLive`` function of the README's snippet, as written there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    match = re.search(r"\nasync function attachLive\(.*?\n}\n", readme, re.DOTALL)
    assert match, "README.md has no attachLive snippet"
    return match.group(0)


async def test_the_readme_snippet_plays_a_session_on_a_pages_own_video(
    page: Page, service: Service, http: aiohttp.ClientSession
) -> None:
    api = service.api
    status, session, _ = await call(http, "POST", f"{api}/session", {"avatar_id": new_id("doc")})
    assert status == 200, session
    session_id = session["session_id"]
    await page.goto(f"{service.base}/health")  # any page of the service's origin
    played = await page.evaluate(
        f"""async (sessionId) => {{
            const API = "/api/v1/avatars";
            {readme_attach_live()}
            const video = document.createElement("video");
            video.autoplay = true;
            video.playsInline = true;
            document.body.append(video);
            const stop = await attachLive(video, sessionId);
            await new Promise((frame) => video.requestVideoFrameCallback(frame));
            const size = [video.videoWidth, video.videoHeight, video.srcObject.getTracks().length];
            stop();
            return size;
        }}""",
        session_id,
    )
    assert played == [512, 512, 2]

    async def ended() -> bool:
        _, live, _ = await call(http, "GET", f"{api}/session/{session_id}/live")
        return not live["live"]

    await until(ended, timeout=10, interval=0.2, what="the stream ended by the snippet's stop()")

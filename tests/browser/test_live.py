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

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.console import ConsolePage
from tests.browser.probes import MOUTH_BOX, SAMPLES, SET_PHASE, START, phases
from tests.integration.helpers import call
from tests.service import Service

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]

LONG_TEXT = (
    "This answer goes on for a while, so that there is time to interrupt it: first the "
    "background, then the numbers, then what we learned from them and what we would do again."
)
FIRST_FRAME_TIMEOUT_MS = 30_000


async def go_live(console: ConsolePage) -> str:
    """An avatar and a session through the console; the live stream starts with the session."""
    await console.use_avatar()
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
    session_id = await go_live(console)
    page = console.page
    size = await page.evaluate(
        "() => { const v = document.getElementById('live-video');"
        " return [v.videoWidth, v.videoHeight, v.getVideoPlaybackQuality().totalVideoFrames]; }"
    )
    assert size[:2] == [512, 512], size
    await expect(page.locator("#live-size")).to_have_text("512\u00d7512")

    probe = await page.evaluate(START, list(MOUTH_BOX))
    assert probe["context"] == "running", probe  # audio flows without a click (autoplay flag)
    await asyncio.sleep(2.0)  # idle: blinks and idle motion only

    await console.speak(LONG_TEXT)
    await expect(page.locator("#speaking")).to_be_visible()
    await page.evaluate(SET_PHASE, "speaking")
    await asyncio.sleep(2.5)
    await console.interrupt()
    await page.evaluate(SET_PHASE, "settling")  # the mouth closes over a few frames
    await expect(console.log_entry("SpeechInterrupted")).to_have_count(1)
    await asyncio.sleep(0.6)
    await page.evaluate(SET_PHASE, "after")
    await asyncio.sleep(2.0)
    seen = phases(await page.evaluate(SAMPLES))
    idle, speaking, after = seen["idle"], seen["speaking"], seen["after"]

    for phase in (idle, speaking, after):  # the video kept playing throughout
        assert phase.frames >= 15, seen
    # the picture: the mouth region moves several times more while speaking than when idle
    # (measured here: idle 0.7, speaking 3.3, after the interrupt 0.7 levels of 255)
    assert speaking.motion > max(2.5 * idle.motion, 1.2), seen
    assert after.motion < speaking.motion / 2.5, seen
    assert after.motion < 1.5 * idle.motion + 0.3, seen
    # the sound: energy while speaking, silence before and after (measured: 0.046 RMS; 0)
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

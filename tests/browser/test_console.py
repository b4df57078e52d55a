"""The web console in Chromium against the real service: the controls record what they say, the
event log shows the events with their versions, API errors read as sentences, and a replay
reaches 100% with a link that downloads an MP4 ffmpeg decodes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.console import ConsolePage
from tests.ffmpeg_decode import audio_seconds, decode_frames
from tests.integration.helpers import all_events, call
from tests.service import Service

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]

# about 30 s of speech: time to interrupt it even when a loaded machine takes many seconds
# between the speaking badge and the interrupt's arrival (seen in CI with a 10 s text)
LONG_TEXT = 3 * (
    "This answer goes on for a while, so that there is time to interrupt it: first the "
    "background, then the numbers, then what we learned from them and what we would do again. "
)


async def test_the_event_log_shows_what_the_controls_record(
    console: ConsolePage, service: Service, http: aiohttp.ClientSession
) -> None:
    avatar_id = await console.use_avatar(preset="interviewer")
    session_id = await console.start_session()
    await expect(console.log_entry("SessionStarted", "session")).to_have_count(1)

    await console.emotion("happy")
    await console.animation("nod")
    await console.speak("Good morning.")
    for event_type in ("EmotionSet", "AnimationTriggered", "SpeechStarted"):
        await expect(console.log_entry(event_type, "avatar")).to_have_count(1)
    await expect(console.log_entry("EmotionSet")).to_contain_text("happy")
    await expect(console.log_entry("AnimationTriggered")).to_contain_text("nod")
    await expect(console.log_entry("SpeechStarted")).to_contain_text("Good morning.")

    await console.speak(LONG_TEXT)
    # the long speech recorded (the badge alone may still be lit by "Good morning.", and an
    # interrupt sent then would come before the long speech and leave it speaking)
    await expect(console.log_entry("SpeechStarted", "avatar")).to_have_count(2)
    await expect(console.page.locator("#speaking")).to_be_visible()
    await console.interrupt()
    await expect(console.log_entry("SpeechInterrupted", "avatar")).to_have_count(1)
    await expect(console.page.locator("#speaking")).to_be_hidden()

    await console.close_session()
    await expect(console.log_entry("SessionClosed", "session")).to_have_count(1)
    await expect(console.page.locator("#stream-state")).to_have_text("ended")
    await expect(console.page.locator("#close-session")).to_be_disabled()

    # the log shows exactly the session's events and its avatar's events since it started,
    # each with the version the journal gave it, newest first
    status, session, _ = await call(http, "GET", f"{service.api}/session/{session_id}")
    assert status == 200
    recorded = {
        ("session", e["version"], e["type"])
        for e in await all_events(http, f"{service.api}/session/{session_id}/events")
    }
    recorded |= {
        ("avatar", e["version"], e["type"])
        for e in await all_events(http, f"{service.api}/{avatar_id}/events")
        if session["avatar_version_start"] < e["version"] <= session["avatar_version_end"]
    }
    shown = await console.log_events()
    assert {(e["stream"], e["version"], e["type"]) for e in shown} == recorded
    assert all(e["shown_version"] == f"v{e['version']}" and e["visible"] for e in shown)
    assert shown[0]["type"] == "SessionClosed"


async def test_api_errors_read_as_sentences(console: ConsolePage) -> None:
    await console.use_avatar()
    await console.speak("   ")  # the service's 422, not the browser's form check
    banner = console.banners().first
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("data-status", "422")
    await expect(banner.locator(".banner-title")).to_contain_text("Invalid input (422)")
    await expect(banner.locator(".banner-title code")).to_have_text("empty_text")
    await expect(banner.locator(".banner-message")).to_have_text("Text is empty.")
    await banner.locator(".banner-close").click()
    await expect(console.banners()).to_have_count(0)


async def test_a_forgotten_session_is_a_readable_404(page: Page, service: Service) -> None:
    """A session remembered by the browser that the service does not know."""
    ghost = "s-" + "0" * 32
    remembered = {
        "avatar-console.avatars": ["web-ghost"],
        "avatar-console.sessions": [
            {"session_id": ghost, "avatar_id": "web-ghost", "created_at": None}
        ],
    }
    script = "".join(
        f"localStorage.setItem({json.dumps(k)}, {json.dumps(json.dumps(v))});"
        for k, v in remembered.items()
    )
    await page.add_init_script(script)
    console = ConsolePage(page, service)
    await console.open()
    banner = console.banners().first
    await expect(banner).to_have_attribute("data-code", "session_not_found")
    await expect(banner.locator(".banner-title")).to_contain_text("Not found (404)")
    await expect(banner.locator(".banner-message")).to_contain_text(f"{ghost!r}")
    await expect(page.locator("#session-status")).to_have_text("none")


async def test_replay_reaches_100_and_downloads_an_mp4(
    console: ConsolePage, service: Service, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await console.use_avatar()
    session_id = await console.start_session()
    await console.emotion("surprised")
    await console.speak("Replay me, please.")
    await expect(console.log_entry("SpeechStarted")).to_have_count(1)
    await asyncio.sleep(1.5)  # let it finish speaking
    await console.close_session()

    page = console.page
    await page.click("#replay")
    bar = page.locator("#replay-bar")
    seen: list[int] = []
    async with asyncio.timeout(120):
        while not seen or seen[-1] < 100:
            seen.append(int(await bar.get_attribute("aria-valuenow") or 0))
            await asyncio.sleep(0.05)
    assert seen == sorted(seen), seen
    await expect(page.locator("#replay-percent")).to_have_text("100%")
    await expect(page.locator("#replay-status")).to_have_text("done")
    link = page.locator("#replay-link")
    await expect(link).to_be_visible()

    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == f"{session_id}.mp4"
    path = tmp_path / download.suggested_filename
    await download.save_as(path)

    status, config, _ = await call(http, "GET", f"{service.api}/config")
    assert status == 200
    frames = decode_frames(path, config["width"], config["height"])
    assert len(frames) > 30  # over a second of video
    assert audio_seconds(path) > 0.5  # the recorded speech

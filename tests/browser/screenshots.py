"""Screenshots of the console for the README, taken in Chromium against a running service.

    make serve   # in another terminal
    .venv/bin/python -m tests.browser.screenshots [--base http://127.0.0.1:8000] [--out docs]

Writes ``console.png`` (live, mid-sentence, with its event log), ``console-replay.png`` (a closed
session replayed to MP4) and ``console-error.png`` (an API error as the console shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.browser.chromium import launch
from tests.browser.console import ConsolePage

VIEWPORT = {"width": 1440, "height": 1200}
SENTENCE = (
    "Hello, and thanks for joining me today. I'd like to start with your last project: "
    "what were you responsible for, and what are you proudest of?"
)


async def take(base: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        page = await context.new_page()
        console = ConsolePage(page, base=base)
        await console.open()
        await console.use_avatar(f"ada-{uuid.uuid4().hex[:4]}", preset="interviewer")
        await console.start_session()
        await expect(page.locator("#live-state")).to_have_text("live", timeout=30_000)
        await page.select_option("#voice", "en-gb")
        await page.locator("#intensity").fill("0.7")
        await console.emotion("happy")
        await asyncio.sleep(0.8)
        await console.animation("nod")
        await asyncio.sleep(1.2)
        await console.speak(SENTENCE)
        await expect(console.log_entry("SpeechStarted")).to_have_count(1)
        await page.evaluate("window.scrollTo(0, 0)")
        await asyncio.sleep(1.6)  # mid-sentence, mouth moving
        shots.append(out / "console.png")
        await page.screenshot(path=shots[-1])

        await console.interrupt()
        await asyncio.sleep(0.5)
        await page.fill("#speak-text", "   ")
        await page.click("#speak")
        await expect(console.banners().first).to_be_visible()
        await page.evaluate("window.scrollTo(0, 0)")
        await asyncio.sleep(0.5)  # the banner's drop-in animation
        shots.append(out / "console-error.png")
        await page.screenshot(path=shots[-1], clip={"x": 0, "y": 0, "width": 1440, "height": 560})
        await console.banners().first.locator(".banner-close").click()
        await page.fill("#speak-text", SENTENCE)

        await console.close_session()
        await page.click("#replay")
        await expect(page.locator("#replay-status")).to_have_text("done", timeout=120_000)
        await page.locator("#stage-replay").evaluate(
            "v => new Promise(r => { v.currentTime = 3.6; v.onseeked = r; })"
        )
        await page.mouse.move(0, 0)
        await page.evaluate("window.scrollTo(0, 0)")
        await asyncio.sleep(0.6)  # the stage's overlay fades out
        shots.append(out / "console-replay.png")
        await page.screenshot(path=shots[-1])

        await context.close()
        await browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    for path in asyncio.run(take(args.base.rstrip("/"), args.out)):
        print(path)


if __name__ == "__main__":
    main()

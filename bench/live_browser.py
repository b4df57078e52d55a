"""Live video in a browser: time from the WebRTC offer to the first decoded frame.

The web console in Debian's Chromium (Playwright, ``tests/browser/chromium.py``) opens sessions
and goes live as a person would; the console measures in the page, from just before it creates
its offer to the first frame its <video> presents (``requestVideoFrameCallback``), and the
offer-to-answer part of it (the POST .../live round trip, ICE gathering included).

Run: ``python -m bench.live_browser [--runs 10] [--base URL] [--no-record]``; without ``--base``
it starts the service with its CLI. Appends to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import uuid
from pathlib import Path

from playwright.async_api import async_playwright, expect

from bench.common import percentile, report
from bench.load import cli_service
from tests.browser.chromium import launch
from tests.browser.console import ConsolePage

FIRST_FRAME_TIMEOUT_MS = 30_000
_DIGITS = re.compile(r"^\d+$")


async def measure(base: str, runs: int) -> tuple[list[float], list[float], list[float]]:
    """(offer -> first frame, offer -> answer, go live again on the same session), in ms."""
    first: list[float] = []
    answer: list[float] = []
    again: list[float] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page()
        console = ConsolePage(page, base=base)
        await console.open()
        await console.use_avatar(f"bench-live-{uuid.uuid4().hex[:6]}")
        video = page.locator("#live-video")

        async def timed() -> tuple[float, float]:
            await expect(video).to_have_attribute(
                "data-offer-to-first-frame-ms", _DIGITS, timeout=FIRST_FRAME_TIMEOUT_MS
            )
            frame_ms, answer_ms = await video.evaluate(
                "v => [Number(v.dataset.offerToFirstFrameMs), Number(v.dataset.offerToAnswerMs)]"
            )
            return float(frame_ms), float(answer_ms)

        forget = "v => { delete v.dataset.offerToFirstFrameMs; delete v.dataset.offerToAnswerMs; }"
        for _ in range(runs):
            await video.evaluate(forget)  # the last run's figures stay until the next offer
            await page.click("#start-session")  # a new session; the console goes live at once
            frame_ms, answer_ms = await timed()
            first.append(frame_ms)
            answer.append(answer_ms)
            await page.click("#live-toggle")  # stop
            await expect(page.locator("#live-state")).to_have_text("offline")
            await video.evaluate(forget)
            await page.click("#live-toggle")  # and again, same session
            again.append((await timed())[0])
        await browser.close()
    return first, answer, again


def fmt(values: list[float]) -> str:
    return f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f} / {max(values):.0f}"


async def main_async(args: argparse.Namespace) -> None:
    if args.base:
        first, answer, again = await measure(args.base.rstrip("/"), args.runs)
        where = f"the service at {args.base}"
    else:
        with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
            async with cli_service(Path(tmp)) as base:
                first, answer, again = await measure(base, args.runs)
        where = "the service started with its CLI (dedicated placement, haproxy mode)"
    rows = [
        ("runs (new sessions)", str(len(first))),
        ("offer -> first decoded frame, first run (cold Live replica), ms", f"{first[0]:.0f}"),
        ("offer -> first decoded frame, new session: p50 / p95 / max ms", fmt(first)),
        (
            "offer -> answer (POST .../live, ICE gathering included): p50 / p95 / max ms",
            fmt(answer),
        ),
        ("offer -> first decoded frame, stop then go live again: p50 / p95 / max ms", fmt(again)),
    ]
    load = os.getloadavg()[0]
    raw = "; ".join(
        f"{name}: {', '.join(f'{v:.0f}' for v in values)}"
        for name, values in (("first frame", first), ("answer", answer), ("again", again))
    )
    notes = (
        f"Headless Debian Chromium on the same machine as {where}; the console measures in the "
        "page (performance.now() before createOffer, requestVideoFrameCallback for the first "
        f"frame). Load average at the end: {load:.1f}. Each run, ms: {raw}."
    )
    report("Live video in the browser (WebRTC, console)", rows, notes, save=not args.no_record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--base", help="a running service (default: start one)")
    parser.add_argument("--no-record", action="store_true", help="print only")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

"""The console as a person uses it, driven through Playwright: what the browser tests and the
screenshot script click and read. Everything goes through the page (its buttons, its log, its
video element); nothing of ours is stubbed."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import Page, expect

from tests.service import Service

READY_TIMEOUT_MS = 30_000


class ConsolePage:
    def __init__(self, page: Page, service: Service | None = None, base: str | None = None) -> None:
        self.page = page
        self.base = base or (service.base if service is not None else "")

    async def open(self) -> None:
        await self.page.goto(f"{self.base}/")
        await self.page.wait_for_selector("body[data-ready='1']", timeout=READY_TIMEOUT_MS)

    # ------------------------------------------------------------------ avatar and session

    async def use_avatar(self, avatar_id: str | None = None, preset: str = "") -> str:
        avatar_id = avatar_id or f"web-{uuid.uuid4().hex[:8]}"
        await self.page.fill("#avatar-id", avatar_id)
        if preset:
            await self.page.select_option("#preset", preset)
        await self.page.click("#use-avatar")
        await expect(self.page.locator("#avatar-facts")).to_be_visible()
        await expect(self.page.locator("#speak")).to_be_enabled()
        return avatar_id

    async def start_session(self) -> str:
        await self.page.click("#start-session")
        await expect(self.page.locator("#session-status")).to_have_text("active")
        await expect(self.page.locator("#stream-state")).to_have_text("live")
        return await self.page.locator("#session-id").inner_text()

    async def close_session(self) -> None:
        await self.page.click("#close-session")
        await expect(self.page.locator("#session-status")).to_have_text("closed")

    # ------------------------------------------------------------------ controls

    async def speak(self, text: str) -> None:
        await self.page.fill("#speak-text", text)
        await self.page.click("#speak")

    async def interrupt(self) -> None:
        await expect(self.page.locator("#interrupt")).to_be_enabled()
        await self.page.click("#interrupt")

    async def emotion(self, name: str) -> None:
        await self.page.click(f"[data-emotion='{name}']")
        await expect(self.page.locator(f"[data-emotion='{name}']")).to_have_attribute(
            "aria-pressed", "true"
        )

    async def animation(self, name: str) -> None:
        await self.page.click(f"[data-animation='{name}']")

    # ------------------------------------------------------------------ event log

    def log_entry(self, event_type: str, stream: str | None = None) -> Any:
        selector = f"#event-log li[data-type='{event_type}']"
        if stream is not None:
            selector += f"[data-stream='{stream}']"
        return self.page.locator(selector)

    async def log_events(self) -> list[dict[str, Any]]:
        """The persisted events the log shows: stream, version, type, summary (newest first)."""
        rows: list[dict[str, Any]] = await self.page.eval_on_selector_all(
            "#event-log li[data-version]",
            """items => items.map(li => ({
                stream: li.dataset.stream,
                version: Number(li.dataset.version),
                type: li.dataset.type,
                summary: li.querySelector('.entry-summary').textContent,
                shown_version: li.querySelector('.entry-version').textContent,
                visible: !li.hidden,
            }))""",
        )
        return rows

    # ------------------------------------------------------------------ errors

    def banners(self) -> Any:
        return self.page.locator("#errors .banner")

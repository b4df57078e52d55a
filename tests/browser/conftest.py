"""Browser fixtures: one headless Chromium per test session, a fresh page per test.

The service is the integration tests' real Ray + Serve app (``tests/service.py``); the browser
tests run on the dedicated placement only (the console does not depend on placement). A page's
console errors and uncaught exceptions fail the test that caused them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.chromium import ChromiumMissing, launch
from tests.browser.console import ConsolePage
from tests.service import Service

# What the page shows follows the service's answers; on a loaded machine (2 shared cores) they
# can take longer than Playwright's 5 s default, which is a timing assumption, not a check.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    try:
        async with async_playwright() as playwright:
            chromium = await launch(playwright)
            try:
                yield chromium
            finally:
                await chromium.close()
    except ChromiumMissing as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1440, "height": 1000}, accept_downloads=True
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    try:
        yield page
    finally:
        await context.close()
    assert not problems, problems


@pytest.fixture
async def console(service: Service, page: Page) -> ConsolePage:
    """The console opened against the service, ready (catalog, voices and presets loaded)."""
    c = ConsolePage(page, service)
    await c.open()
    return c

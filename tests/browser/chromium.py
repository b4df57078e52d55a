"""Debian's Chromium, driven by Playwright for Python through ``executable_path``.

Playwright's own browser download cannot be reached from these machines, so ``playwright
install`` is never run: ``.ci/install-chromium`` installs the ``chromium`` package (``make test``
and ``.ci/run`` call it). Used by the browser tests, ``tests/browser/screenshots.py`` and
``bench/live_browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("AVATAR_TEST_CHROMIUM", "/usr/bin/chromium"))

LAUNCH_ARGS = [
    # root inside a container: Chromium's own sandbox cannot start
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # nothing from the internet: no component updates, sync, or background fetches
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # the live stream plays with its sound without a click first
    "--autoplay-policy=no-user-gesture-required",
    # WebRTC: no --disable-features=WebRtcHideLocalIpsWithMdns. Chromium keeps its default of
    # hiding host candidates behind mDNS names (xxxx.local); the service drops those and learns
    # the browser's address from its connectivity checks (peer-reflexive, AVATAR_LIVE_MDNS=drop,
    # serve_app/live/ice.py), so the tests take the path a person's browser takes.
]


class ChromiumMissing(RuntimeError):
    pass


def require_chromium() -> Path:
    """The browser's path; a clear error (never a skip) when it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        raise ChromiumMissing(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
            "package. Run `bash .ci/install-chromium` (make test and .ci/run do)."
        )
    return CHROMIUM


async def launch(playwright: Any, **options: Any) -> Any:
    """A headless Chromium from ``async_playwright()``."""
    return await playwright.chromium.launch(
        executable_path=str(require_chromium()), args=LAUNCH_ARGS, **options
    )

"""A synchronous render whose caller gives up stops drawing (the Renderer class itself, outside
Serve: Serve cancels the replica's call when the ingress cancels its request)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from serve_app.renderer import Renderer
from serve_app.settings import Settings
from tests.waiting import until

pytestmark = pytest.mark.timeout(120)


def encoders() -> list[psutil.Process]:
    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in p.name():
                found.append(p)
        except psutil.NoSuchProcess:  # ended between the listing and the look
            continue
    return found


async def test_a_cancelled_render_stops_and_stores_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    renderer = Renderer.func_or_class(settings.model_dump(mode="json"))
    ten_minutes = {"duration_ms": 600_000, "width": 64, "height": 64}
    rendering = asyncio.ensure_future(renderer.sequence(ten_minutes, None))
    await until(lambda: bool(encoders()), timeout=60, what="the encoder running")
    rendering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rendering
    # drawing ten minutes takes minutes here: the encoder ends within seconds only if the
    # drawing thread stopped at its next frame
    await until(lambda: not encoders(), timeout=20, what="the encoder gone")
    store = renderer.worker("default").outputs.store
    assert store.usage("default") == 0

"""Latency window, ASGI middleware, render stats and config defaults for render requests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from events.avatar import AvatarState, Traits
from events.render_config import RenderConfig
from media.animation import still
from media.face import FaceRig, RenderOptions
from serve_app.metrics import LatencyMiddleware, LatencyWindow, RenderStats, percentile
from serve_app.rendering.models import FrameRequest, SequenceRequest, with_config
from tests.fakes import Clock

pytestmark = pytest.mark.timeout(30)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile(values, 100) == 100 and percentile([7.0], 99) == 7.0


def test_latency_window_forgets_old_requests() -> None:
    clock = Clock()
    window = LatencyWindow(window_s=10, clock=clock)
    assert window.summary()["p50_ms"] is None
    for ms in (10, 20, 30, 1000):
        window.started()
        window.record(ms / 1000, 200 if ms < 1000 else 503)
    s = window.summary()
    assert (s["requests"], s["p50_ms"], s["p99_ms"], s["errors_5xx"]) == (4, 20.0, 1000.0, 1)
    clock.now += 11
    s = window.summary()
    assert s["requests"] == 0 and s["requests_total"] == 4 and s["p99_ms"] is None


async def test_middleware_times_http_and_passes_websockets_through() -> None:
    window = LatencyWindow()
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"x"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(message)

    mw = LatencyMiddleware(app, window)
    await mw({"type": "http", "path": "/x"}, receive, send)
    await mw({"type": "websocket", "path": "/ws"}, receive, send)
    s = window.summary()
    assert s["requests"] == 1 and s["in_flight"] == 0 and s["p50_ms"] is not None
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_render_stats_fps_is_frames_per_render_second() -> None:
    stats = RenderStats(window_s=60, clock=Clock())
    stats.started()
    assert stats.summary()["in_flight"] == 1
    stats.finished(30, 0.5)
    stats.started()
    stats.finished(0, 0.1)  # a failed render counts for nothing
    s = stats.summary()
    assert (s["frames"], s["renders"], s["render_fps"], s["in_flight"]) == (30, 1, 60.0, 0)


def test_render_requests_take_omitted_fields_from_the_config() -> None:
    config = RenderConfig(width=320, height=200, quality="fast", fps=50, antialiasing=False)
    frame = with_config(FrameRequest.model_validate({"width": 100}), config)
    assert (frame.width, frame.height, frame.quality, frame.antialiasing) == (
        100,
        200,
        "fast",
        False,
    )
    seq = with_config(SequenceRequest.model_validate({"duration_ms": 100, "fps": 40}), config)
    assert (seq.fps, seq.width) == (40, 320)
    assert seq.shading is None  # the model's look, else the configured shading (RenderWorker)
    same = FrameRequest.model_validate(
        {"resolution": "64x64", "quality": "high", "shading": "flat", "antialiasing": True}
    )
    assert with_config(same, config) == same


def test_antialiasing_off_draws_hard_edges() -> None:
    params = still(AvatarState())
    smooth = FaceRig(Traits(), RenderOptions(96, 96)).render(params)
    hard = FaceRig(Traits(), RenderOptions(96, 96, antialiasing=False)).render(params)
    assert not np.array_equal(smooth, hard)
    assert not RenderOptions(96, 96, quality="ultra", antialiasing=False).antialias
    assert RenderOptions(96, 96, quality="ultra", antialiasing=False).supersample == 1
    assert not RenderOptions(96, 96, quality="fast", antialiasing=True).antialias  # fast: never

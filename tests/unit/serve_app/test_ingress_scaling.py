"""The Ingress's autoscaling: HTTP requests in flight and open WebSockets, each at its target,
counted by the latency middleware."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from starlette.types import Message, Receive, Scope, Send

from serve_app.ingress_scaling import IngressPolicy, desired_replicas
from serve_app.metrics import LatencyMiddleware, LatencyWindow

pytestmark = pytest.mark.timeout(30)


@dataclass
class _Ctx:
    aggregated_metrics: dict[str, dict[str, float]] | None


def test_idle_websockets_weigh_against_their_own_target_not_the_requests() -> None:
    assert desired_replicas([], [], 200, 2000) == 1
    assert desired_replicas([0.0], [300.0], 200, 2000) == 1  # 300 idle subscribers: one replica
    assert desired_replicas([150.0, 100.0], [0.0, 0.0], 200, 2000) == 2
    assert desired_replicas([10.0], [4500.0], 200, 2000) == 3
    assert desired_replicas([200.0], [2000.0], 200, 2000) == 1  # at the target, not over it
    policy = IngressPolicy(target_requests=100, target_websockets=1000)
    ctx = _Ctx({"http_in_flight": {"a": 120.0, "b": 90.0}, "websockets": {"a": 50.0}})
    assert policy(ctx) == (3, {})
    assert policy(_Ctx(None)) == (1, {})


async def test_the_middleware_counts_open_websockets_and_requests_in_flight() -> None:
    window = LatencyWindow()
    release = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        pass

    middleware = LatencyMiddleware(app, window)
    calls = [
        asyncio.create_task(middleware({"type": kind}, receive, send))
        for kind in ("websocket", "websocket", "http")
    ]
    await asyncio.sleep(0.01)
    assert (window.websockets, window.in_flight) == (2, 1)
    release.set()
    await asyncio.gather(*calls)
    assert (window.websockets, window.in_flight) == (0, 0)
    assert window.summary()["websockets_open"] == 0 and window.total == 1

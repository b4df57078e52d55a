"""The Ingress's autoscaling: HTTP requests in flight, open WebSockets and the process's CPU,
each at its target; the middleware's counts and the CPU meter that feed it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from starlette.types import Message, Receive, Scope, Send

from serve_app.ingress_scaling import IngressPolicy, desired_replicas
from serve_app.metrics import CpuMeter, LatencyMiddleware, LatencyWindow

pytestmark = pytest.mark.timeout(30)


@dataclass
class _Ctx:
    aggregated_metrics: dict[str, dict[str, float]] | None


TARGETS = {"http_in_flight": 200.0, "websockets": 2000.0, "cpu": 0.7}


def _want(requests: list[float], sockets: list[float], cpu: list[float]) -> int:
    loads = {"http_in_flight": requests, "websockets": sockets, "cpu": cpu}
    return desired_replicas(loads, TARGETS)


def test_idle_websockets_weigh_against_their_own_target_not_the_requests() -> None:
    assert _want([], [], []) == 1
    assert _want([0.0], [300.0], [0.05]) == 1  # 300 idle subscribers: one replica
    assert _want([150.0, 100.0], [0.0, 0.0], [0.2, 0.2]) == 2
    assert _want([10.0], [4500.0], [0.1]) == 3
    assert _want([200.0], [2000.0], [0.7]) == 1  # at the targets, not over them


def test_a_replica_busy_with_its_subscribers_gets_a_sibling() -> None:
    assert _want([5.0], [200.0], [0.95]) == 2  # 200 subscribers sent frames all the time
    assert _want([5.0, 5.0], [100.0, 100.0], [0.5, 0.45]) == 2  # and it stays at two
    assert _want([1.0, 1.0], [100.0, 100.0], [0.1, 0.1]) == 1  # quiet again: back to one


def test_the_cpu_need_is_capped_by_the_cluster_cores_and_the_others_are_not() -> None:
    caps = {"cpu": 1}  # a 2-core machine, 2 cores per replica
    busy = {"http_in_flight": [5.0], "websockets": [10.0], "cpu": [0.95]}
    assert desired_replicas(busy, TARGETS) == 2
    assert desired_replicas(busy, TARGETS, caps) == 1
    many = {"http_in_flight": [450.0], "websockets": [0.0], "cpu": [0.95]}
    assert desired_replicas(many, TARGETS, caps) == 3  # requests in flight still count
    assert desired_replicas(busy, TARGETS, {"cpu": None}) == 2  # no cluster known: no cap


def test_the_policy_reads_the_cluster_cores_now_and_then() -> None:
    asked: list[int] = []

    def cores() -> float:
        asked.append(1)
        return 8.0

    policy = IngressPolicy(target_cpu=0.5, cores_per_replica=2.0, cores=cores)
    hot = _Ctx({"cpu": {"a": 1.0, "b": 1.0, "c": 1.0}})  # 3 cores' worth: 6 wanted
    assert policy(hot) == (4, {})  # 8 cores, 2 per replica
    assert policy(hot) == (4, {})
    assert len(asked) == 1  # read once, kept for a while
    small = IngressPolicy(target_cpu=0.5, cores_per_replica=2.0, cores=lambda: 2.0)
    assert small(hot) == (1, {})


def test_the_policy_reads_serves_aggregated_metrics() -> None:
    policy = IngressPolicy(
        target_requests=100, target_websockets=1000, target_cpu=0.5, cores=lambda: None
    )
    ctx = _Ctx({"http_in_flight": {"a": 120.0, "b": 90.0}, "websockets": {"a": 50.0}})
    assert policy(ctx) == (3, {})
    assert policy(_Ctx({"cpu": {"a": 0.9, "b": 0.8}})) == (4, {})
    assert policy(_Ctx(None)) == (1, {})


def test_the_cpu_meter_gives_cores_used_since_its_last_reading() -> None:
    ticks = iter([(0.0, 0.0), (10.0, 4.0), (12.0, 6.0), (12.0, 6.0)])
    now = {"wall": 0.0, "cpu": 0.0}

    def advance() -> None:
        now["wall"], now["cpu"] = next(ticks)

    advance()
    meter = CpuMeter(clock=lambda: now["wall"], cpu=lambda: now["cpu"])
    advance()
    assert meter.busy() == pytest.approx(0.4)
    advance()
    assert meter.busy() == pytest.approx(1.0)
    advance()
    assert meter.busy() == 0.0  # no time passed: nothing to say


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

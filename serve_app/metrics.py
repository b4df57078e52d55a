"""Measured figures for ``GET /performance``: request latency, render speed, replicas.

Each process measures itself: the ingress middleware records every HTTP request of its replica
in a :class:`LatencyWindow`; each Renderer replica records its renders in a :class:`RenderStats`.
Nothing here is a constant: an idle service reports empty windows.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ray import serve
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Clock = Callable[[], float]

WINDOW_S = 60.0
_MAX_SAMPLES = 4096  # bounds memory and the cost of a percentile under heavy load


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted, non-empty list."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyWindow:
    """Latencies of the requests that finished in the last ``window_s`` seconds."""

    def __init__(
        self,
        window_s: float = WINDOW_S,
        max_samples: int = _MAX_SAMPLES,
        clock: Clock = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self._samples: deque[tuple[float, float, int]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self.total = 0
        self.in_flight = 0
        self.websockets = 0
        """WebSockets open now (not requests: Serve's autoscaling counts them apart)."""

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def websocket(self, change: int) -> None:
        with self._lock:
            self.websockets += change

    def record(self, seconds: float, status: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self.total += 1
            self._samples.append((self.clock(), seconds, status))

    def summary(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            recent = [(s, code) for t, s, code in self._samples if now - t <= self.window_s]
            in_flight, total, websockets = self.in_flight, self.total, self.websockets
        latencies = sorted(s for s, _ in recent)
        out: dict[str, Any] = {
            "window_s": self.window_s,
            "requests": len(recent),
            "requests_total": total,
            "in_flight": in_flight,
            "websockets_open": websockets,
            "errors_5xx": sum(1 for _, code in recent if code >= 500),
            "requests_per_s": round(len(recent) / self.window_s, 3),
            "p50_ms": None,
            "p99_ms": None,
            "max_ms": None,
        }
        if latencies:
            out["p50_ms"] = round(percentile(latencies, 50) * 1000.0, 3)
            out["p99_ms"] = round(percentile(latencies, 99) * 1000.0, 3)
            out["max_ms"] = round(latencies[-1] * 1000.0, 3)
        return out


class CpuMeter:
    """How busy this process has been since the last reading: CPU seconds (all its threads,
    Ray's included) over wall seconds, so 1.0 is one core, the most a replica's event loop uses.
    """

    def __init__(self, clock: Clock = time.monotonic, cpu: Clock = time.process_time) -> None:
        self.clock = clock
        self.cpu = cpu
        self._last = (clock(), cpu())

    def busy(self) -> float:
        now, used = self.clock(), self.cpu()
        (then, before), self._last = self._last, (now, used)
        return (used - before) / (now - then) if now > then else 0.0


PROCESS_CPU = CpuMeter()
"""This process's CPU meter (read by Serve's autoscaler in an ingress replica)."""

REQUESTS = LatencyWindow()
"""This process's request window (one per ingress replica)."""


class LatencyMiddleware:
    """Pure ASGI middleware timing each HTTP request until its last body byte is sent.

    WebSockets pass through untimed (a stream's lifetime is not a latency), and counted.
    """

    def __init__(self, app: ASGIApp, window: LatencyWindow = REQUESTS) -> None:
        self.app = app
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.window.websocket(+1)
            try:
                await self.app(scope, receive, send)
            finally:
                self.window.websocket(-1)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.window.started()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.window.record(time.perf_counter() - started, status)


class RenderStats:
    """What one Renderer replica drew recently: frames, time spent, requests in flight."""

    def __init__(self, window_s: float = WINDOW_S, clock: Clock = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._renders: deque[tuple[float, int, float]] = deque(maxlen=_MAX_SAMPLES)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.frames_total = 0
        self.renders_total = 0

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def finished(self, frames: int, seconds: float) -> None:
        """A render ended; ``frames`` is 0 for one that failed."""
        with self._lock:
            self.in_flight -= 1
            if frames > 0:
                self.frames_total += frames
                self.renders_total += 1
                self._renders.append((self.clock(), frames, seconds))

    def summary(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            recent = [(f, s) for t, f, s in self._renders if now - t <= self.window_s]
            in_flight = self.in_flight
            frames_total, renders_total = self.frames_total, self.renders_total
        frames = sum(f for f, _ in recent)
        busy = sum(s for _, s in recent)
        return {
            "window_s": self.window_s,
            "renders": len(recent),
            "frames": frames,
            "busy_s": round(busy, 4),
            "render_fps": round(frames / busy, 2) if busy > 0 else 0.0,
            "frames_per_s": round(frames / self.window_s, 3),
            "in_flight": in_flight,
            "frames_total": frames_total,
            "renders_total": renders_total,
        }


def deployment_replicas(deployment: str, app_name: str | None = None) -> dict[str, Any]:
    """Replica counts of ``deployment`` from ``serve.status()`` (blocking: a controller call).

    ``app_name`` defaults to the application of the replica this runs in.
    """
    if app_name is None:
        app_name = serve.get_replica_context().replica_id.deployment_id.app_name
    app = serve.status().applications.get(app_name)
    found = None if app is None else app.deployments.get(deployment)
    if found is None:
        return {"running": 0, "states": {}, "status": "NOT_FOUND"}
    states = {_name(k): int(v) for k, v in found.replica_states.items()}
    return {"running": states.get("RUNNING", 0), "states": states, "status": _name(found.status)}


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))

"""The service's Prometheus metrics, exported through Ray (``ray.util.metrics``).

Every metric the service records is defined here, in :data:`SPECS`, and nowhere else. A process
records through the small functions below; Ray's metrics agent on each node serves what the
node's processes recorded on the node's metrics port (``ray start --metrics-export-port``, or
``MetricsExportPort`` in ``ray.nodes()``), named ``ray_<name>`` (counters with ``_total``), with
Ray's own labels added (``WorkerId``: the recording process, ``NodeAddress``, ``SessionName``).

Recording never makes a request fail: outside Ray (unit tests, tools) it does nothing, and a
failure of the metrics API is logged once per metric and swallowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

MetricType = Literal["counter", "gauge", "histogram"]

# seconds: the fan-out and append paths live in milliseconds, a fault stretches them to seconds
LATENCY_BOUNDARIES: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: MetricType
    description: str
    tags: tuple[str, ...] = ()
    boundaries: tuple[float, ...] = ()


COMMANDS = "avatar_commands"
APPENDS = "avatar_appends"
APPEND_SECONDS = "avatar_append_seconds"
FANOUT_SECONDS = "avatar_fanout_seconds"
LIVE_ENTITIES = "avatar_live_entities"
SUBSCRIBERS = "avatar_websocket_subscribers"
RENDER_JOBS = "avatar_render_jobs"
RENDER_FPS = "avatar_render_fps"
RENDER_FRAMES = "avatar_render_frames"
SPEECH_SECONDS = "avatar_speech_seconds"
JOURNAL_ERRORS = "avatar_journal_errors"

SPECS: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec(
            COMMANDS,
            "counter",
            "Commands executed by entities; outcome ok, replayed (idempotent retry), or the "
            "error code (version_conflict, conflict, unavailable, command_rejected, ...)",
            ("kind", "command", "outcome"),
        ),
        MetricSpec(APPENDS, "counter", "Events appended to the journal by entities", ("kind",)),
        MetricSpec(
            APPEND_SECONDS,
            "histogram",
            "Time of one entity append to the journal (group commit included)",
            ("kind",),
            LATENCY_BOUNDARIES,
        ),
        MetricSpec(
            FANOUT_SECONDS,
            "histogram",
            "From an event's append (recorded_at) to its frame sent to a WebSocket subscriber",
            ("stream",),
            LATENCY_BOUNDARIES,
        ),
        MetricSpec(
            LIVE_ENTITIES,
            "gauge",
            "Entities live in memory, per host actor (hosted) or the registry (dedicated)",
            ("host",),
        ),
        MetricSpec(
            SUBSCRIBERS,
            "gauge",
            "WebSocket streams open on this ingress replica",
            ("stream",),
        ),
        MetricSpec(
            RENDER_JOBS,
            "counter",
            "Render jobs by state reached: accepted, done, failed (with the error code)",
            ("state", "code"),
        ),
        MetricSpec(
            RENDER_FRAMES,
            "counter",
            "Frames drawn by Renderer replicas (jobs, sequences and stills)",
        ),
        MetricSpec(
            RENDER_FPS,
            "gauge",
            "Frames per second of busy render time over the replica's last minute",
        ),
        MetricSpec(
            SPEECH_SECONDS,
            "counter",
            "Seconds of audio synthesised by Speech replicas",
            ("operation",),
        ),
        MetricSpec(
            JOURNAL_ERRORS,
            "counter",
            "Journal operations that failed (storage unavailable, locked, server down)",
            ("operation",),
        ),
    )
}


# ---------------------------------------------------------------------------- recording

_made: dict[str, Any] = {}
_broken: set[str] = set()


def _ray_ready() -> bool:
    try:
        import ray  # noqa: PLC0415 - unit tests of the callers never load it otherwise

        return bool(ray.is_initialized())
    except Exception:
        return False


def _make(spec: MetricSpec) -> Any:
    from ray.util import metrics  # noqa: PLC0415

    if spec.type == "counter":
        return metrics.Counter(spec.name, spec.description, spec.tags)
    if spec.type == "gauge":
        return metrics.Gauge(spec.name, spec.description, spec.tags)
    return metrics.Histogram(spec.name, spec.description, list(spec.boundaries), spec.tags)


def _record(name: str, value: float, tags: Mapping[str, str]) -> None:
    """Record ``value`` on metric ``name``; never raises."""
    if name in _broken or not _ray_ready():
        return
    spec = SPECS[name]
    try:
        metric = _made.get(name)
        if metric is None:
            metric = _made[name] = _make(spec)
        full = {k: str(tags.get(k, "")) for k in spec.tags}
        if spec.type == "counter":
            metric.inc(value, full)
        elif spec.type == "gauge":
            metric.set(value, full)
        else:
            metric.observe(value, full)
    except Exception:
        _broken.add(name)  # logged once; the request goes on without its metric
        log.exception("metric %s cannot be recorded; no longer recording it here", name)


def outcome_of(error: BaseException | None, replayed: bool = False) -> str:
    """The ``outcome`` label of a command: ok, replayed, or the error's stable code."""
    if error is None:
        return "replayed" if replayed else "ok"
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else "error"


def command_done(kind: str, command: str, outcome: str) -> None:
    _record(COMMANDS, 1, {"kind": kind, "command": command, "outcome": outcome})


def appended(kind: str, events: int, seconds: float) -> None:
    _record(APPENDS, events, {"kind": kind})
    _record(APPEND_SECONDS, seconds, {"kind": kind})


def journal_error(operation: str) -> None:
    _record(JOURNAL_ERRORS, 1, {"operation": operation})


def fanout_seconds(recorded_at: str | float, now: float | None = None) -> float | None:
    """Seconds from an event's ``recorded_at`` (ISO text or epoch seconds) to ``now``."""
    try:
        at = (
            datetime.fromisoformat(recorded_at).timestamp()
            if isinstance(recorded_at, str)
            else float(recorded_at)
        )
    except (TypeError, ValueError):
        return None
    return max(0.0, (time.time() if now is None else now) - at)


def fanned_out(stream: str, recorded_at: str | float) -> None:
    seconds = fanout_seconds(recorded_at)
    if seconds is not None:
        _record(FANOUT_SECONDS, seconds, {"stream": stream})


def live_entities(host: str, count: int) -> None:
    _record(LIVE_ENTITIES, count, {"host": host})


class SubscriberGauge:
    """Open WebSocket streams of this process, by stream kind."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}

    def opened(self, stream: str) -> None:
        self.open[stream] = self.open.get(stream, 0) + 1
        _record(SUBSCRIBERS, self.open[stream], {"stream": stream})

    def closed(self, stream: str) -> None:
        self.open[stream] = max(0, self.open.get(stream, 0) - 1)
        _record(SUBSCRIBERS, self.open[stream], {"stream": stream})


SUBSCRIBER_GAUGE = SubscriberGauge()


def render_job(state: str, code: str = "") -> None:
    _record(RENDER_JOBS, 1, {"state": state, "code": code})


def rendered(frames: int, fps: float) -> None:
    if frames > 0:
        _record(RENDER_FRAMES, frames, {})
    _record(RENDER_FPS, fps, {})


def speech_synthesised(operation: str, seconds: float) -> None:
    if seconds > 0:
        _record(SPEECH_SECONDS, seconds, {"operation": operation})

"""The client's settings: timeouts, retries, idempotency (all with defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientSettings:
    timeout_s: float = 60.0
    """Whole request, connection to last byte (a synchronous render may take a while)."""
    connect_timeout_s: float = 10.0
    retries: int = 4
    """Further attempts after a connection error, a 502/503/504 or a 429."""
    backoff_s: float = 0.25
    """First pause between attempts; doubles each time, up to ``max_backoff_s``."""
    max_backoff_s: float = 5.0
    max_retry_after_s: float = 30.0
    """A ``Retry-After`` longer than this is not waited for: the error is raised."""
    idempotency_keys: bool = True
    """Send a fresh ``Idempotency-Key`` with every write (the same one on its retries); off,
    writes are not retried."""
    stream_idle_s: float = 45.0
    """A WebSocket with no frame (not even a heartbeat) for this long is reconnected."""
    stream_reconnects: int | None = None
    """How many reconnections in a row a stream tries before giving up; None: forever."""

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.backoff_s * 2**attempt))

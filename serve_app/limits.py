"""Rate limits per key, counted across ingress replicas.

Writes fall in three buckets: ``render`` (frames, sequences, snapshots, replays), ``speech``
(lip-sync, phonemes, speak) and ``command`` (every other write); each has a limit per window
(commands per second, renders and speech per minute). Reads are not limited.

Each ingress replica counts locally and, every ``SYNC_S``, adds what it counted to one shared
counter (the ``rate-limits`` actor) and gets back every replica's totals for the current
windows. A request is refused (429, ``Retry-After`` = the seconds left in the window) when the
last known total plus what this replica counted since is at the limit. A request never waits
for the actor, so a limit costs a dict update; the price is that replicas may overshoot
together by what they admit within one sync (a quarter second). If the actor cannot be reached,
each replica goes on with its own counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal

log = logging.getLogger(__name__)

Bucket = Literal["command", "render", "speech"]
SYNC_S = 0.25
_RENDER_TAILS = ("render", "sequence", "snapshot", "replay")
_SPEECH = frozenset({"lipsync", "phonemes", "speak"})

Counts = dict[tuple[str, str, int], int]
"""(key id, bucket, window number) -> requests."""


def bucket_of(method: str, parts: list[str]) -> Bucket | None:
    """The bucket of an API request (``parts``: path segments after the API prefix)."""
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    if method == "POST" and parts and (parts[0] in _RENDER_TAILS or parts[-1] in _RENDER_TAILS):
        return "render"
    if method == "POST" and parts and (parts[0] in _SPEECH or parts[-1] in _SPEECH):
        return "speech"
    return "command"


class LimitCounter:
    """The shared counter (an actor): sums every replica's counts per window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: Counts = {}

    def add(self, deltas: Counts, windows: dict[str, float]) -> Counts:
        """Add ``deltas``; return the totals of the windows still current (older ones go)."""
        now = self.clock()
        for k, n in deltas.items():
            self.counts[k] = self.counts.get(k, 0) + n
        self.counts = {
            k: n for k, n in self.counts.items() if k[2] >= math.floor(now / windows[k[1]]) - 1
        }
        return dict(self.counts)


class SharedCounter:
    """The ``rate-limits`` actor, made by the first replica that syncs (a handle-like object:
    ``add.remote``)."""

    def __init__(self) -> None:
        self._handle: Any = None

    @property
    def add(self) -> Any:
        if self._handle is None:
            import ray  # noqa: PLC0415 - only ingress replicas sync

            from actors.naming import NAMESPACE  # noqa: PLC0415

            actor: Any = ray.remote(LimitCounter)
            self._handle = actor.options(
                name="rate-limits",
                namespace=NAMESPACE,
                get_if_exists=True,
                lifetime="detached",  # outlives the replica that made it
                num_cpus=0,
                max_restarts=-1,
            ).remote()
        return self._handle.add

    def reset(self) -> None:
        self._handle = None


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, int],
        windows: dict[str, float],
        shared: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``limits``/``windows``: per bucket; ``shared``: the counter actor's handle, or
        ``None`` to count in this process only."""
        self.limits = limits
        self.windows = windows
        self.shared = shared
        self.clock = clock
        self.known: Counts = {}  # totals from the last sync (every replica's)
        self.pending: Counts = {}  # counted here since then
        self.sending: Counts = {}  # counted here, on their way to the counter (not in known yet)
        self._sync: asyncio.Task[None] | None = None

    def admit(self, key_id: str, bucket: str) -> float | None:
        """Count one request; ``None`` if admitted, else the seconds until the window ends."""
        window_s = self.windows[bucket]
        now = self.clock()
        window = math.floor(now / window_s)
        k = (key_id, bucket, window)
        used = self.known.get(k, 0) + self.sending.get(k, 0) + self.pending.get(k, 0)
        if used >= self.limits[bucket]:
            return max(0.001, (window + 1) * window_s - now)
        self.pending[k] = self.pending.get(k, 0) + 1
        self._ensure_syncing()
        return None

    def _ensure_syncing(self) -> None:
        if self.shared is None or (self._sync is not None and not self._sync.done()):
            return
        with contextlib.suppress(RuntimeError):  # no running loop: local counts only
            self._sync = asyncio.get_running_loop().create_task(self._sync_forever())

    async def _sync_forever(self) -> None:
        idle = 0
        while idle < 40:  # stops after ~10 s without traffic; the next request restarts it
            await asyncio.sleep(SYNC_S)
            deltas, self.pending = self.pending, {}
            self.sending = deltas  # still counted while the call is out
            idle = idle + 1 if not deltas else 0
            try:
                totals = await self.shared.add.remote(deltas, self.windows)
            except Exception as e:  # the counter restarting: keep counting locally
                log.warning("rate-limit counter unreachable: %s", e)
                if isinstance(self.shared, SharedCounter):
                    self.shared.reset()
                for k, n in deltas.items():
                    self.known[k] = self.known.get(k, 0) + n
                self.sending = {}
                continue
            # what was counted here during the call is still pending, on top of the totals
            self.known = totals
            self.sending = {}

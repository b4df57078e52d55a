"""Where live streams are: which Live replica holds a session's stream, its latest status, and
the stop requests on their way to it.

Serve routes a request to any replica of a deployment, but a live stream lives in one replica
(its peer connection's sockets are there). So each Live replica long-polls this registry with
the status of all its streams (:meth:`LiveRegistryCore.poll`): the poll returns at once when a
stop for one of them arrives, else after its timeout. The ingress asks the registry who holds a
stream, stops it (waiting until its replica reports it ended) and reads its status. A replica
that stops polling (it died) loses its streams here after ``lost_after_s``.

It also counts each API key's streams for its quota (``serve_app.quotas``): the ingress
reserves a slot (:meth:`LiveRegistryCore.reserve`) before it sends the offer to a replica, and
the replica's claim turns the reservation into the stream's owner.

Plain asyncio (no Ray) so a unit test drives it with a fake clock; ``actors.remote`` makes it
the ``live-registry`` actor. Its state is soft: after a restart the replicas' next polls (every
second) rebuild where the streams are (not their owners: until they end, a restarted registry
counts them for no key).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]


class LiveRegistryCore:
    def __init__(
        self, clock: Clock = time.monotonic, lost_after_s: float = 10.0, keep_ended: int = 1000
    ) -> None:
        self.clock = clock
        self.lost_after_s = lost_after_s
        self.keep_ended = keep_ended
        self.holders: dict[str, str] = {}
        """Live stream key -> the replica holding it."""
        self.statuses: dict[str, dict[str, Any]] = {}
        self.ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Final statuses of recent streams (GET after the end tells how it ended)."""
        self._stops: dict[str, set[str]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._released: dict[str, asyncio.Event] = {}
        self._seen: dict[str, float] = {}
        self.owners: dict[str, str] = {}
        """Live stream key -> the API key that started it (when one did)."""
        self._reserved: dict[str, tuple[str, float]] = {}
        """Live stream key -> (owner, until when) of an offer on its way to a replica."""

    # ------------------------------------------------------------------ replicas

    async def claim(self, key: str, replica: str, status: dict[str, Any]) -> None:
        """``replica`` now holds the stream ``key`` (a stream it replaces was stopped first)."""
        self._seen[replica] = self.clock()
        self.holders[key] = replica
        self.statuses[key] = status
        self.ended.pop(key, None)
        reservation = self._reserved.pop(key, None)
        if reservation is None:
            self.owners.pop(key, None)
        else:
            self.owners[key] = reservation[0]
        self._released.setdefault(key, asyncio.Event()).clear()

    async def release(self, key: str, replica: str, status: dict[str, Any]) -> None:
        """The stream ``key`` of ``replica`` ended; ``status`` is its final status."""
        if self.holders.get(key) != replica:
            return  # a newer stream of the same key lives elsewhere
        del self.holders[key]
        self.statuses.pop(key, None)
        self._remember_end(key, status)

    def _remember_end(self, key: str, status: dict[str, Any]) -> None:
        self.owners.pop(key, None)
        self.ended[key] = status
        self.ended.move_to_end(key)
        while len(self.ended) > self.keep_ended:
            self.ended.popitem(last=False)
        event = self._released.pop(key, None)
        if event is not None:
            event.set()

    async def poll(
        self, replica: str, statuses: dict[str, dict[str, Any]], timeout: float
    ) -> list[str]:
        """A replica's heartbeat with its streams' statuses; returns the keys it must stop,
        as soon as there are any (or none after ``timeout``)."""
        self._seen[replica] = self.clock()
        for key, status in statuses.items():
            if self.holders.get(key, replica) == replica:  # adopted after a restart of ours
                self.holders[key] = replica
                self.statuses[key] = status
        self._sweep()
        wake = self._wake.setdefault(replica, asyncio.Event())
        if not self._stops.get(replica):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
        wake.clear()
        self._seen[replica] = self.clock()
        return sorted(self._stops.pop(replica, set()))

    def _sweep(self) -> None:
        """Streams of replicas that stopped polling are gone with them."""
        now = self.clock()
        for replica, seen in list(self._seen.items()):
            if now - seen <= self.lost_after_s:
                continue
            del self._seen[replica]
            for key in [k for k, r in self.holders.items() if r == replica]:
                del self.holders[key]
                status = {**self.statuses.pop(key, {}), "state": "closed"}
                self._remember_end(key, {**status, "end_reason": "replica lost"})

    # ------------------------------------------------------------------ the ingress

    async def holder(self, key: str) -> str | None:
        self._sweep()
        return self.holders.get(key)

    async def stop(self, key: str, wait_s: float = 5.0) -> dict[str, Any] | None:
        """Ask the holder of ``key`` to end it and wait (up to ``wait_s``) until it has.

        Returns the final (or latest) status; ``None`` when no stream of ``key`` was live."""
        self._sweep()
        replica = self.holders.get(key)
        if replica is None:
            return None
        self._stops.setdefault(replica, set()).add(key)
        self._wake.setdefault(replica, asyncio.Event()).set()
        released = self._released.setdefault(key, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), wait_s)
        return self.ended.get(key) or self.statuses.get(key)

    async def status(self, key: str) -> dict[str, Any] | None:
        """The live stream's latest status, or the final one of its last stream, or ``None``."""
        self._sweep()
        if key in self.holders:
            return {**self.statuses.get(key, {}), "live": True}
        ended = self.ended.get(key)
        return None if ended is None else {**ended, "live": False}

    async def reserve(self, key: str, owner: str, limit: int, hold_s: float = 30.0) -> bool:
        """Hold one of ``owner``'s ``limit`` live stream slots for ``key`` until a replica
        claims it (or ``hold_s`` passes); ``False`` when ``owner`` already holds ``limit``
        streams and reservations. A new offer for a stream ``owner`` already holds (a reload)
        takes no new slot."""
        self._sweep()
        now = self.clock()
        self._reserved = {k: r for k, r in self._reserved.items() if r[1] > now}
        held = {k for k, o in self.owners.items() if o == owner and k in self.holders}
        held |= {k for k, (o, _) in self._reserved.items() if o == owner}
        held.discard(key)
        if len(held) >= limit:
            return False
        self._reserved[key] = (owner, now + hold_s)
        return True

    async def unreserve(self, key: str) -> None:
        """The offer for ``key`` failed: its reserved slot is free again."""
        self._reserved.pop(key, None)

    async def stats(self) -> dict[str, Any]:
        self._sweep()
        per_replica: dict[str, int] = {}
        for replica in self.holders.values():
            per_replica[replica] = per_replica.get(replica, 0) + 1
        return {"live_streams": len(self.holders), "replicas": per_replica}

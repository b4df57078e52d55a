"""``EntityHost``: many entities in one process (hosted placement), plain asyncio, no Ray.

Each entity keeps everything it has in dedicated placement (its own event log, single writer,
mailbox order, subscribers, snapshots, passivation); the host only holds them in a dict, creates
them on first use, and runs one sweep for all of them: passivate the idle ones, run the timed
commands that are due (session expiry), and evict the least recently used past a bound. No timer
or task per entity, so an idle entity costs memory only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel

from actors import prometheus
from actors.aggregate import Aggregate
from actors.avatar import AvatarAggregate
from actors.config import EntityConfig
from actors.entity import Clock, EntityRuntime
from actors.errors import Fenced
from actors.naming import Kind, stream_id
from actors.session import SessionAggregate
from events.group_commit import GroupCommitter
from events.journal import Journal

log = logging.getLogger(__name__)

AGGREGATES: dict[Kind, type[Aggregate[Any]]] = {
    "avatar": AvatarAggregate,
    "session": SessionAggregate,
}

Key = tuple[Kind, str, str]  # (kind, tenant, entity id)


class EntityHost:
    def __init__(
        self,
        journal: Journal,
        config: EntityConfig,
        max_entities: int = 100_000,
        clock: Clock = time.time,
        name: str = "host",
    ) -> None:
        """``name``: the host's label on its metrics (its actor's name)."""
        self.name = name
        self.journal = journal
        self.committer = GroupCommitter(journal)  # one transaction for appends that coincide
        self.clock = clock
        self.config = config
        self.max_entities = max_entities
        self._entities: OrderedDict[Key, EntityRuntime[Any]] = OrderedDict()
        self._activating: dict[Key, asyncio.Task[EntityRuntime[Any]]] = {}
        self._timed: set[Key] = set()  # entities that may owe themselves a timed command
        self.activations = 0
        self.passivations = 0
        self.fenced = 0  # entities dropped because another writer appended to their stream
        self.activation_ms: list[float] = []

    # ------------------------------------------------------------------ entities

    async def entity(self, kind: Kind, tenant: str, entity_id: str) -> EntityRuntime[Any]:
        """The live entity, activated (snapshot + tail) on first use; most recent last."""
        key = (kind, tenant, entity_id)
        runtime = self._entities.get(key)
        if runtime is not None and runtime.fenced:  # stale: load it again from the journal
            self.drop(key)
            runtime = None
        if runtime is not None:
            self._entities.move_to_end(key)
            return runtime
        task = self._activating.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._activate(key))
            self._activating[key] = task
        return await task

    async def _activate(self, key: Key) -> EntityRuntime[Any]:
        kind, tenant, entity_id = key
        t = time.perf_counter()
        runtime: EntityRuntime[Any] = EntityRuntime(
            AGGREGATES[kind](),
            tenant,
            entity_id,
            stream_id(kind, tenant, entity_id),
            self.journal,
            self.config,
            self.clock,
            own_timers=False,
            committer=self.committer,
        )
        try:
            await runtime.activate()
        finally:
            self._activating.pop(key, None)
        self._entities[key] = runtime
        if runtime.next_due() is not None or kind == "session":
            self._timed.add(key)
        self.activations += 1
        prometheus.live_entities(self.name, len(self._entities))
        self.activation_ms.append((time.perf_counter() - t) * 1000)
        del self.activation_ms[:-1000]
        if len(self._entities) > self.max_entities:
            await self._evict_lru()
        return runtime

    async def _evict_lru(self) -> None:
        while len(self._entities) > self.max_entities:
            for key, runtime in self._entities.items():
                if not runtime.busy():
                    await self.passivate(key)
                    break
            else:
                return  # everyone is busy: exceed the bound rather than cut someone off

    async def passivate(self, key: Key) -> bool:
        runtime = self._entities.pop(key, None)
        self._timed.discard(key)
        if runtime is None:
            return False
        prometheus.live_entities(self.name, len(self._entities))
        await runtime.passivate()
        self.passivations += 1
        return True

    def drop(self, key: Key) -> None:
        """Let go of a fenced entity without a snapshot: its state may be behind the journal."""
        if self._entities.pop(key, None) is not None:
            self._timed.discard(key)
            self.fenced += 1

    def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        return (kind, tenant, entity_id) in self._entities

    # ------------------------------------------------------------------ the sweep

    async def sweep(self) -> dict[str, int]:
        """Passivate idle entities and run due commands. Called periodically by the host.

        Cheap when nothing is to be done: entities are kept in last-use order, so the idle scan
        stops at the first one used recently, and only entities that can owe themselves a
        command (sessions) are checked for it.
        """
        now = self.clock()
        idle_after = self.config.passivate_after_s
        idle = []
        for key, runtime in self._entities.items():
            if runtime.idle_for() < idle_after:
                break
            idle.append(key)
        due = []
        for key in self._timed:
            timed = self._entities.get(key)
            due_at = timed.next_due() if timed is not None else None
            if timed is not None and due_at is not None and due_at <= now:
                due.append((key, timed))
        for key, runtime in due:
            await runtime.run_due()
            if key in self._entities:  # it just ran: keep the last-use order the scan relies on
                self._entities.move_to_end(key)
        for key in idle:
            await self.passivate(key)
        return {"due": len(due), "passivated": len(idle)}

    async def run(self, interval: float) -> None:
        """Sweep forever (the host actor's one background task)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("entity host sweep failed")

    async def passivate_all(self) -> None:
        for key in list(self._entities):
            await self.passivate(key)

    # ------------------------------------------------------------------ the entity API

    async def execute(
        self,
        kind: Kind,
        tenant: str,
        entity_id: str,
        command: BaseModel,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            runtime = await self.entity(kind, tenant, entity_id)
            return await runtime.execute_and_view(
                command, expected_version, idempotency_key, metadata
            )
        except Fenced:
            # Someone else wrote to this stream: once more on a copy fresh from the journal,
            # which knows their idempotency keys and answers an explicit expectation rightly.
            runtime = await self.entity(kind, tenant, entity_id)
            return await runtime.execute_and_view(
                command, expected_version, idempotency_key, metadata
            )

    async def view(
        self, kind: Kind, tenant: str, entity_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return (await self.entity(kind, tenant, entity_id)).view(idempotency_key)

    async def wait(
        self, kind: Kind, tenant: str, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]:
        runtime = await self.entity(kind, tenant, entity_id)
        return await runtime.wait(after_version, timeout)

    def stats(self) -> dict[str, Any]:
        kinds = [k[0] for k in self._entities]
        recent = sorted(self.activation_ms)
        return {
            "live": len(kinds),
            "avatars": kinds.count("avatar"),
            "sessions": kinds.count("session"),
            "max_entities": self.max_entities,
            "activations": self.activations,
            "passivations": self.passivations,
            "fenced": self.fenced,
            "activation_ms_p50": recent[len(recent) // 2] if recent else None,
            "commits": self.committer.commits,
            "appends": self.committer.appends,
        }

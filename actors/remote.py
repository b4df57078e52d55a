"""The Ray actors. Every ``ray.remote`` option of the project's actors is set here, nowhere else.

``AvatarActor`` and ``SessionActor`` each wrap one :class:`EntityRuntime` (dedicated placement:
one OS process per entity). They activate lazily on their first call (load snapshot + tail),
passivate after ``passivate_after_s`` idle (snapshot, then exit; the next call creates them
again) and, when Ray restarts one after a crash, recover from the journal the same way.
``EntityRegistry`` bounds the number of live entity actors: past ``max_live_actors`` it asks the
least recently used ones to passivate. ``EntityHostActor`` is the hosted placement: one process
holding many entities (:class:`actors.hosting.EntityHost`), swept by one background task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from typing import Any, ClassVar

import ray
from pydantic import BaseModel
from ray.exceptions import RayActorError

from actors import prometheus
from actors.aggregate import Aggregate
from actors.avatar import AvatarAggregate
from actors.batching import BATCHED_METHODS, Outcome, run_many
from actors.channel import ChannelServer
from actors.config import EntityConfig
from actors.entity import EntityRuntime
from actors.errors import Fenced
from actors.heap import freeze_startup_heap
from actors.hosting import EntityHost
from actors.live import LiveRegistryCore
from actors.naming import NAMESPACE, Kind, actor_name, stream_id
from actors.session import SessionAggregate
from events.factory import open_journal
from events.journal import Journal

log = logging.getLogger(__name__)


async def _call_many(actor: Any, method: str, calls: list[tuple[Any, ...]]) -> list[Outcome]:
    """A batch of short calls (see ``actors.batching``), each with its own outcome."""
    if method not in BATCHED_METHODS:
        raise ValueError(f"{method!r} is not a batched method")
    return await run_many(getattr(actor, method), calls)


REGISTRY_NAME = "entity-registry"
LIVE_REGISTRY_NAME = "live-registry"
TOUCH_EVERY_S = 1.0

_journals: dict[str, Journal] = {}


def shared_journal(url: str) -> Journal:
    """One journal (connection pool) per process and URL."""
    journal = _journals.get(url)
    if journal is None:
        journal = _journals[url] = open_journal(url)
    return journal


class ChannelServing:
    """An actor whose batches (``call_many``) may also come over its direct channel
    (``actors.channel``), which starts the first time a caller asks where it is."""

    _channel: asyncio.Task[ChannelServer] | None = None
    _channel_server: ChannelServer | None = None

    async def call_many(self, method: str, calls: list[tuple[Any, ...]]) -> list[Outcome]:
        return await _call_many(self, method, calls)

    async def channel(self) -> tuple[str, int, bytes]:
        """Where this actor's channel listens (its node's address), and the token a
        connection presents."""
        if self._channel is None:
            self._channel = asyncio.get_running_loop().create_task(self._open_channel())
        try:
            server = await self._channel
        except Exception:
            self._channel = None  # asked again, tried again
            raise
        return server.address()

    async def _open_channel(self) -> ChannelServer:
        server = ChannelServer(self.call_many)
        await server.start(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        self._channel_server = server
        return server

    def channel_requests(self) -> int:
        """Batches that came over the channel (tests, operations)."""
        return self._channel_server.requests if self._channel_server else 0


class EntityActor(ChannelServing):
    """Hosts one entity. Subclasses name the aggregate."""

    aggregate_type: ClassVar[type[Aggregate[Any]]]

    def __init__(self, tenant: str, entity_id: str, config: EntityConfig) -> None:
        aggregate = self.aggregate_type()
        self.kind: Kind = aggregate.kind
        self.name = actor_name(self.kind, tenant, entity_id)
        self.config = config
        self.tenant = tenant
        self.entity_id = entity_id
        self.runtime: EntityRuntime[Any] = self._new_runtime()
        self._activation: asyncio.Task[None] | None = None
        self._registry_handle: Any = None
        self.activation_ms: float | None = None
        self._last_touch = 0.0
        self._exiting = False

    def _new_runtime(self) -> EntityRuntime[Any]:
        return EntityRuntime(
            self.aggregate_type(),
            self.tenant,
            self.entity_id,
            stream_id(self.kind, self.tenant, self.entity_id),
            shared_journal(self.config.journal_url),
            self.config,
        )

    async def _active(self) -> EntityRuntime[Any]:
        if self.runtime.fenced:  # another writer appended: load a fresh copy from the journal
            self.runtime = self._new_runtime()
            self._activation = asyncio.create_task(self.runtime.activate())
        if self._activation is None:
            self._activation = asyncio.create_task(self._activate())
        try:
            await self._activation
        except Exception:
            self._activation = None  # a failed activation (journal busy...) is tried again
            raise
        self._touch()
        return self.runtime

    async def _activate(self) -> None:
        t = time.perf_counter()
        await self.runtime.activate()
        self.activation_ms = (time.perf_counter() - t) * 1000
        log.info(
            "%s active at v%d in %.1f ms",
            self.name,
            self.runtime.state.version,
            self.activation_ms,
        )
        asyncio.get_running_loop().create_task(self._watch_idle())
        registry = self._registry()
        if registry is not None:
            registry.activated.remote(self.name, self.kind)

    def _registry(self) -> Any:
        """The registry's handle, looked up once (a GCS round trip) rather than per touch."""
        if self._registry_handle is None:
            self._registry_handle = _registry()
        return self._registry_handle

    def _touch(self) -> None:
        now = time.monotonic()
        if now - self._last_touch >= TOUCH_EVERY_S:
            self._last_touch = now
            registry = self._registry()
            if registry is not None:
                registry.touched.remote(self.name)

    async def _watch_idle(self) -> None:
        limit = self.config.passivate_after_s
        while True:
            await asyncio.sleep(max(0.2, min(limit / 4, 30.0)))
            if self.runtime.idle_for() >= limit:
                log.info("%s idle for %.0f s: passivating", self.name, limit)
                await self.passivate()
                return

    # ------------------------------------------------------------------ remote API

    async def ready(self) -> dict[str, Any]:
        """Activate and return the state view (``{"version", "state"}``)."""
        return (await self._active()).view()

    async def execute(
        self,
        command: BaseModel,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            runtime = await self._active()
            return await runtime.execute_and_view(
                command, expected_version, idempotency_key, metadata
            )
        except Fenced:  # once more on a fresh copy (see EntityHost.execute)
            runtime = await self._active()
            return await runtime.execute_and_view(
                command, expected_version, idempotency_key, metadata
            )

    async def view(self, idempotency_key: str | None = None) -> dict[str, Any]:
        return (await self._active()).view(idempotency_key)

    async def wait(self, after_version: int, timeout: float) -> dict[str, Any]:
        runtime = await self._active()
        return await runtime.wait(after_version, timeout)

    async def passivate(self) -> None:
        """Snapshot and exit; the next call through the directory creates a fresh actor."""
        if self._exiting:
            return
        self._exiting = True
        await self.runtime.passivate()
        registry = self._registry()
        if registry is not None:
            try:
                await registry.deactivated.remote(self.name)
            except RayActorError:  # the registry was restarted: it rebuilds its counts anyway
                self._registry_handle = None
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)

    def pid(self) -> int:
        return os.getpid()

    def stats(self) -> dict[str, Any]:
        """Process id, activation time (journal load) and version, for benchmarks and ops."""
        return {
            "pid": os.getpid(),
            "activation_ms": self.activation_ms,
            "version": self.runtime.state.version,
            "channel_requests": self.channel_requests(),
        }


def _registry() -> Any:
    try:
        return ray.get_actor(REGISTRY_NAME, namespace=NAMESPACE)
    except ValueError:
        return None


class AvatarActorImpl(EntityActor):
    aggregate_type = AvatarAggregate


class SessionActorImpl(EntityActor):
    aggregate_type = SessionAggregate


class EntityHostActorImpl(ChannelServing):
    """Hosted placement: many entities in one process (see :class:`EntityHost`)."""

    def __init__(self, config: EntityConfig, max_entities: int, sweep_interval_s: float) -> None:
        name = ray.get_runtime_context().get_actor_name() or f"pid-{os.getpid()}"
        self.host = EntityHost(shared_journal(config.journal_url), config, max_entities, name=name)
        self.sweep_interval_s = sweep_interval_s
        self._sweeper: asyncio.Task[None] | None = None
        freeze_startup_heap()  # a host lives long and serves every call of its entities

    def _sweeping(self) -> EntityHost:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(
                self.host.run(self.sweep_interval_s)
            )
        return self.host

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
        return await self._sweeping().execute(
            kind, tenant, entity_id, command, expected_version, idempotency_key, metadata
        )

    async def view(
        self, kind: Kind, tenant: str, entity_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._sweeping().view(kind, tenant, entity_id, idempotency_key)

    async def wait(
        self, kind: Kind, tenant: str, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]:
        return await self._sweeping().wait(kind, tenant, entity_id, after_version, timeout)

    async def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        return self.host.is_live(kind, tenant, entity_id)

    async def passivate_all(self) -> None:
        await self.host.passivate_all()

    async def set_max_entities(self, max_entities: int) -> None:
        """Change the bound at run time (operations, tests); applies from the next activation."""
        self.host.max_entities = max_entities

    async def stats(self) -> dict[str, Any]:
        """Process, Ray node and entity counts (operations, benchmarks, the node-loss test)."""
        node_id = ray.get_runtime_context().get_node_id()
        return {
            "pid": os.getpid(),
            "node_id": node_id,
            "channel_requests": self.channel_requests(),
            **self.host.stats(),
        }

    def pid(self, *entity: str) -> int:
        """This host's process id (``entity`` is accepted so the directory can route it)."""
        return os.getpid()


class EntityRegistryImpl:
    """Tracks live entity actors in least-recently-used order and bounds their number."""

    def __init__(self, max_live: int) -> None:
        self.max_live = max_live
        self._live: OrderedDict[str, str] = OrderedDict()
        self.passivated = 0

    async def activated(self, name: str, kind: str) -> None:
        self._live[name] = kind
        self._live.move_to_end(name)
        while len(self._live) > self.max_live:
            victim, _ = self._live.popitem(last=False)
            self.passivated += 1
            try:
                handle = ray.get_actor(victim, namespace=NAMESPACE)
            except ValueError:
                continue
            handle.passivate.remote()
        prometheus.live_entities(REGISTRY_NAME, len(self._live))

    async def touched(self, name: str) -> None:
        if name in self._live:
            self._live.move_to_end(name)

    async def deactivated(self, name: str) -> None:
        self._live.pop(name, None)
        prometheus.live_entities(REGISTRY_NAME, len(self._live))

    async def set_max_live(self, max_live: int) -> None:
        """Change the bound at run time (operations, tests); applies from the next activation."""
        self.max_live = max_live

    async def stats(self) -> dict[str, Any]:
        kinds = list(self._live.values())
        return {
            "live": len(kinds),
            "avatars": kinds.count("avatar"),
            "sessions": kinds.count("session"),
            "max_live": self.max_live,
            "passivated_for_space": self.passivated,
        }


# ---------------------------------------------------------------------------- Ray options

ENTITY_OPTIONS: dict[str, Any] = {
    "num_cpus": 0,  # idle most of the time; a CPU each would cap a 2-core node at 2 entities
    "max_restarts": 10,  # a crashed actor comes back and recovers from the journal
    "max_task_retries": 0,  # retries are the directory's, with idempotency keys
    "max_concurrency": 1000,  # long-polling subscribers wait concurrently
    "lifetime": "detached",  # outlives the ingress replica that created it
    # Over the nodes, not packed on the node of the replica that created it (Ray's default for
    # zero-CPU actors): one lost node then takes only its share of the entities with it.
    "scheduling_strategy": "SPREAD",
    # No task events: every execute, view and long poll would be kept in the GCS (up to 100k
    # tasks), which grew the GCS by ~0.8 MB/s under the soak's load. Serve does the same for
    # its replicas.
    "enable_task_events": False,
}

HOST_OPTIONS: dict[str, Any] = {
    **ENTITY_OPTIONS,
    # No restart by Ray: a host is pinned to a node (actors.directory.shard_placement), and a
    # restart pinned to a lost node could wait forever. A dead host's name is free at once and
    # the directory's next call makes it again on a live node; its entities recover from the
    # journal on their next call.
    "max_restarts": 0,
    "max_concurrency": 100_000,  # every watched entity has a long poll waiting here
}

REGISTRY_OPTIONS: dict[str, Any] = {
    "num_cpus": 0,
    "max_restarts": -1,
    "lifetime": "detached",
    "enable_task_events": False,  # a touch per entity per second (see ENTITY_OPTIONS)
}
LIVE_REGISTRY_OPTIONS: dict[str, Any] = {
    **REGISTRY_OPTIONS,
    "max_concurrency": 10_000,  # every Live replica's poll and every stop wait here
}

AvatarActor = ray.remote(**ENTITY_OPTIONS)(AvatarActorImpl)
SessionActor = ray.remote(**ENTITY_OPTIONS)(SessionActorImpl)
EntityRegistry = ray.remote(**REGISTRY_OPTIONS)(EntityRegistryImpl)
EntityHostActor = ray.remote(**HOST_OPTIONS)(EntityHostActorImpl)
LiveRegistry = ray.remote(**LIVE_REGISTRY_OPTIONS)(LiveRegistryCore)


def live_registry() -> Any:
    """The live-stream registry actor (created by the first process that asks)."""
    return LiveRegistry.options(
        name=LIVE_REGISTRY_NAME, namespace=NAMESPACE, get_if_exists=True
    ).remote()


ACTOR_CLASSES: dict[Kind, Any] = {"avatar": AvatarActor, "session": SessionActor}

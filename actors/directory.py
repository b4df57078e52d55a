"""Finding entities: get-or-create by name, cached handles, retries across crashes.

Two placements behind one interface, used by the Serve ingress:

- ``DedicatedDirectory``: each entity is its own Ray actor, named ``<kind>:<tenant>:<id>``.
- ``HostedDirectory``: a fixed pool of host actors ``entity-host:<i>`` (``host_shards`` of
  them, from the settings), each holding many entities; an entity lives on the shard a stable
  hash of its kind, tenant and id picks, so every ingress replica, whenever it started, sends
  an id to the same shard. Shards are spread over the nodes; Ray restarts a shard whose node
  died on a live node under the same name, and its entities recover from the journal.

A handle to a dead actor keeps failing, so on an actor error the handle is dropped and the actor
looked up (or created) again. Commands are retried only with an idempotency key, which the entity
remembers in the journal: a retry never records twice. Commands and state reads made during one
turn of the caller's event loop to the same actor travel together (``actors.batching``), over
the actor's direct channel (``actors.channel``) unless the config says
``entity_transport="ray"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from abc import ABC, abstractmethod
from typing import Any, Literal

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.actor_channels import ActorChannels
from actors.batching import BATCHED_METHODS, MAX_IN_FLIGHT, BatchCounts, CallBatcher
from actors.channel import ChannelLost
from actors.config import EntityConfig
from actors.errors import EntityError, Unavailable
from actors.naming import NAMESPACE, Kind, actor_name
from actors.remote import ACTOR_CLASSES, REGISTRY_NAME, EntityHostActor, EntityRegistry

log = logging.getLogger(__name__)

Placement = Literal["dedicated", "hosted"]

_RETRYABLE = (ActorDiedError, ActorUnavailableError, RayActorError, ChannelLost)

MAX_HANDLES = 10_000
"""Actor handles a directory keeps (one per dedicated entity ever called): past it the oldest
is dropped, and its next call looks the actor up again (a GCS round trip)."""


class Directory(ABC):
    def __init__(
        self, config: EntityConfig, attempts: int = 6, max_handles: int = MAX_HANDLES
    ) -> None:
        self.config = config
        self.attempts = attempts
        self.max_handles = max_handles
        self._handles: dict[str, Any] = {}
        self._batchers: dict[tuple[str, str], CallBatcher] = {}  # (actor name, method)
        self.batch_counts = BatchCounts()
        """Calls sent in batches and the Ray calls that carried them, since this directory was
        made (operations, tests); every batcher of the directory counts here."""
        self._channels = ActorChannels()

    @abstractmethod
    def _target(self, kind: Kind, tenant: str, entity_id: str) -> tuple[str, Any, tuple[Any, ...]]:
        """(actor name, a factory of a fresh handle, leading arguments of every call)."""

    def handle(self, kind: Kind, tenant: str, entity_id: str) -> tuple[str, Any, tuple[Any, ...]]:
        """(actor name, its handle, leading arguments of every call)."""
        name, make, prefix = self._target(kind, tenant, entity_id)
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = make()
            while len(self._handles) > self.max_handles:
                self._drop(next(iter(self._handles)))  # the oldest (insertion order)
        return name, handle, prefix

    def forget(self, kind: Kind, tenant: str, entity_id: str) -> None:
        self._drop(self._target(kind, tenant, entity_id)[0])

    def _drop(self, name: str) -> None:
        """Let go of the handle of actor ``name``, of its batchers and of its channel (the actor
        lives on)."""
        self._handles.pop(name, None)
        for method in BATCHED_METHODS:  # a batch in flight keeps its own; the next gets a new one
            self._batchers.pop((name, method), None)
        self._channels.close(name)

    def _batcher(self, name: str, handle: Any, method: str) -> CallBatcher:
        """The batcher of ``method`` calls to the actor ``name`` through ``handle``; it goes
        with the handle (:meth:`_drop`), so a new handle gets a new one."""
        batcher = self._batchers.get((name, method))
        if batcher is None:
            remote = handle.call_many

            async def open_and_send(calls: list[tuple[Any, ...]]) -> Any:
                channel = await self._channels.get(name, handle)
                if channel is not None:
                    return await channel.call(method, calls)
                return await remote.remote(method, calls)

            def send(calls: list[tuple[Any, ...]]) -> Any:
                if self.config.entity_transport != "direct":  # the Ray call, no task around it
                    return remote.remote(method, calls)
                channel = self._channels.ready(name)
                if channel is not None:  # the reply's future itself: no task in between
                    return channel.call(method, calls)
                return open_and_send(calls)

            batcher = self._batchers[(name, method)] = CallBatcher(
                send, counts=self.batch_counts, max_in_flight=MAX_IN_FLIGHT.get(method)
            )
        return batcher

    async def _invoke(self, name: str, handle: Any, method: str, args: tuple[Any, ...]) -> Any:
        if method in BATCHED_METHODS:
            return await self._batcher(name, handle, method).submit(args)
        return await getattr(handle, method).remote(*args)

    async def call(
        self,
        kind: Kind,
        tenant: str,
        entity_id: str,
        method: str,
        *args: Any,
        retry: bool = True,
    ) -> Any:
        """Call ``method`` of the entity, creating its actor if needed.

        Raises the entity's own :class:`EntityError`, or :class:`Unavailable` when the actor
        cannot be reached (after retries when ``retry``).
        """
        delay = 0.05
        attempts = self.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            name, handle, prefix = self.handle(kind, tenant, entity_id)
            try:
                # an EntityError from inside a batch comes as itself and passes through
                return await self._invoke(name, handle, method, (*prefix, *args))
            except RayTaskError as e:
                if isinstance(e.cause, EntityError):
                    raise e.cause from None
                if not (isinstance(e.cause, _RETRYABLE) and attempt < attempts):
                    raise
            except _RETRYABLE as e:
                log.info(
                    "%s:%s:%s %s failed (%s), attempt %d",
                    kind,
                    tenant,
                    entity_id,
                    method,
                    type(e).__name__,
                    attempt,
                )
                if attempt == attempts:
                    raise Unavailable(f"{kind} {entity_id} is unavailable: {e}") from e
            self.forget(kind, tenant, entity_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise Unavailable(f"{kind} {entity_id} is unavailable")

    @abstractmethod
    async def live(self) -> dict[str, Any]:
        """Counts of live entities, for the status page."""

    @abstractmethod
    async def entity_pid(self, kind: Kind, tenant: str, entity_id: str) -> int:
        """The OS process that holds the entity (operations, crash tests)."""

    @abstractmethod
    async def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        """Whether the entity is active (not passivated) right now."""


class DedicatedDirectory(Directory):
    """One Ray actor per entity; a registry actor bounds how many are live."""

    placement: Placement = "dedicated"

    def __init__(self, config: EntityConfig, attempts: int = 6) -> None:
        super().__init__(config, attempts)
        self.registry = EntityRegistry.options(
            name=REGISTRY_NAME, namespace=NAMESPACE, get_if_exists=True
        ).remote(config.max_live_actors)

    def _target(self, kind: Kind, tenant: str, entity_id: str) -> tuple[str, Any, tuple[Any, ...]]:
        name = actor_name(kind, tenant, entity_id)

        def make() -> Any:
            return (
                ACTOR_CLASSES[kind]
                .options(name=name, namespace=NAMESPACE, get_if_exists=True)
                .remote(tenant, entity_id, self.config)
            )

        return name, make, ()

    async def live(self) -> dict[str, Any]:
        stats = await self.registry.stats.remote()  # type: ignore[attr-defined]
        return {"placement": self.placement, **stats}

    async def entity_pid(self, kind: Kind, tenant: str, entity_id: str) -> int:
        return int(await self.call(kind, tenant, entity_id, "pid"))

    async def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        names = {
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == NAMESPACE
        }
        return actor_name(kind, tenant, entity_id) in names


def host_index(kind: Kind, tenant: str, entity_id: str, hosts: int) -> int:
    """Stable across processes and restarts (unlike ``hash()``)."""
    digest = hashlib.blake2b(f"{kind}/{tenant}/{entity_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % hosts


def shard_node(index: int, alive: list[str]) -> str | None:
    """The node shard ``index`` is created on: round robin over the alive nodes in a fixed
    order, so that the shards spread evenly whoever creates them."""
    return sorted(alive)[index % len(alive)] if alive else None


def shard_placement(index: int, alive: list[str]) -> Any:
    """Where a new shard goes: its round-robin node. A hard affinity: Ray's soft one was
    ignored here (every shard on one node). Ray does not restart shards (a restart pinned to a
    lost node could wait forever): a shard that died, with its node or alone, is made again by
    the directory's next call, on a live node (see :meth:`HostedDirectory.forget`)."""
    node = shard_node(index, alive)
    if node is None:
        return "SPREAD"
    return NodeAffinitySchedulingStrategy(node_id=node, soft=False)


NODES_TTL_S = 10.0


class HostedDirectory(Directory):
    """A fixed pool of host actors, each holding many entities."""

    placement: Placement = "hosted"

    def __init__(
        self,
        config: EntityConfig,
        hosts: int,
        max_entities_per_host: int,
        sweep_interval_s: float = 1.0,
        attempts: int = 6,
    ) -> None:
        super().__init__(config, attempts)
        self.hosts = hosts
        self.max_entities_per_host = max_entities_per_host
        self.sweep_interval_s = sweep_interval_s
        self._alive: list[str] = []
        self._alive_at = -NODES_TTL_S

    def _alive_nodes(self) -> list[str]:
        """Alive node ids, asked of the GCS when a shard's handle is made (at most every few
        seconds while calls succeed)."""
        now = time.monotonic()
        if now - self._alive_at >= NODES_TTL_S:
            nodes = ray.nodes()  # type: ignore[no-untyped-call]
            self._alive = [n["NodeID"] for n in nodes if n.get("Alive")]
            self._alive_at = now
        return self._alive

    def host_name(self, index: int) -> str:
        return f"entity-host:{index}"

    def _host(self, index: int) -> Any:
        name = self.host_name(index)
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = EntityHostActor.options(
                name=name,
                namespace=NAMESPACE,
                get_if_exists=True,
                scheduling_strategy=shard_placement(index, self._alive_nodes()),
            ).remote(self.config, self.max_entities_per_host, self.sweep_interval_s)
        return handle

    def forget(self, kind: Kind, tenant: str, entity_id: str) -> None:
        """After a failed call: the handle, and the node list (the shard's node may be gone,
        and the shard is then made again elsewhere)."""
        super().forget(kind, tenant, entity_id)
        self._alive_at = -NODES_TTL_S

    def _target(self, kind: Kind, tenant: str, entity_id: str) -> tuple[str, Any, tuple[Any, ...]]:
        index = host_index(kind, tenant, entity_id, self.hosts)
        name = self.host_name(index)
        return name, lambda: self._host(index), (kind, tenant, entity_id)

    async def live(self) -> dict[str, Any]:
        stats = await asyncio.gather(*[self._host(i).stats.remote() for i in range(self.hosts)])
        return {
            "placement": self.placement,
            "hosts": self.hosts,
            "live": sum(s["live"] for s in stats),
            "avatars": sum(s["avatars"] for s in stats),
            "sessions": sum(s["sessions"] for s in stats),
            "max_live": self.hosts * self.max_entities_per_host,
        }

    async def entity_pid(self, kind: Kind, tenant: str, entity_id: str) -> int:
        return int(await self.call(kind, tenant, entity_id, "pid"))

    async def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        return bool(await self.call(kind, tenant, entity_id, "is_live"))


def make_directory(
    config: EntityConfig,
    placement: Placement,
    host_shards: int = 2,
    max_entities_per_host: int = 20_000,
) -> Directory:
    """The placement's directory. ``host_shards`` is fixed by the settings, never derived from
    the nodes alive: replicas started before and after a node joined must agree on it."""
    if placement == "dedicated":
        return DedicatedDirectory(config)
    return HostedDirectory(config, host_shards, max_entities_per_host)

"""``EntityRuntime``: one entity's event log, state, mailbox, subscribers and snapshots.

Plain asyncio, no Ray: a Ray actor (or, later, a host of many entities) wraps it. A command is
decided against the current state, appended to the journal with the entity's version as the
expected version, and only then folded into the state, published and acknowledged. Commands run
one at a time (mailbox order). Live subscribers long-poll :meth:`wait` with their last seen
version; the runtime keeps the last ``buffer_size`` events, so a subscriber that falls further
behind is told it lagged and resyncs from the journal: the runtime never waits for anyone.

Fencing: the expected version of every append is the fence. When an append fails on it,
someone else wrote to the stream (a zombie host cut off from the cluster, or the entity's new
home after a node loss): this runtime is *fenced* for good. It refuses every further command
with :class:`Fenced` (its holder drops it and loads a fresh one from the journal, which knows
the other writer's idempotency keys too), and its subscribers are told to resync from the
journal rather than be shown a history that forked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from actors import prometheus
from actors.aggregate import Aggregate, Context
from actors.commands import CommandResult
from actors.config import EntityConfig
from actors.errors import EntityError, Fenced, Overloaded, Unavailable, VersionMismatch
from events.errors import EventRejected, StorageError, VersionConflict
from events.fold import State
from events.group_commit import GroupCommitter
from events.journal import Journal
from events.records import RecordedEvent
from events.replay import load_state, save_snapshot

log = logging.getLogger(__name__)

S = TypeVar("S", bound=State)
Clock = Callable[[], float]


class EntityRuntime(Generic[S]):
    def __init__(
        self,
        aggregate: Aggregate[S],
        tenant: str,
        entity_id: str,
        stream_id: str,
        journal: Journal,
        config: EntityConfig,
        clock: Clock = time.time,
        *,
        own_timers: bool = True,
        committer: GroupCommitter | None = None,
    ) -> None:
        """``own_timers=False``: the host sweeps :meth:`next_due` instead of a timer per entity.
        ``committer``: the host's, shared by its entities so their appends commit together."""
        self.aggregate = aggregate
        self.own_timers = own_timers
        self.tenant = tenant
        self.entity_id = entity_id
        self.stream_id = stream_id
        self.journal = journal
        self.committer = committer or GroupCommitter(journal)
        self.config = config
        self.clock = clock
        self.state: S = aggregate.folder.initial()
        self.last_active = clock()
        self.waiters = 0
        self._mailbox = asyncio.Lock()
        self._changed = asyncio.Event()
        self._recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=config.buffer_size)
        self._results: OrderedDict[str, CommandResult] = OrderedDict()
        self._running: dict[str, asyncio.Future[None]] = {}  # keys queued or running now
        self.queued = 0  # commands waiting for (or holding) the mailbox
        self._snapshot_version = 0
        self._due_timer: asyncio.TimerHandle | None = None
        self._snapshot_saving: asyncio.Future[None] | None = None
        self.fenced = False
        """Another writer appended to the stream: this copy is stale and must be dropped."""

    # ------------------------------------------------------------------ lifecycle

    async def activate(self) -> None:
        """Load the latest snapshot, replay the rest, remember recent idempotency keys."""
        self.state = await asyncio.to_thread(
            load_state, self.journal, self.stream_id, self.aggregate.folder
        )
        self._snapshot_version = self.state.version
        window = self.config.idempotency_window
        if window and self.state.version:
            recent = await asyncio.to_thread(
                self.journal.read, self.stream_id, max(1, self.state.version - window + 1)
            )
            self._remember_keys(recent)
        await self.run_due()

    def _remember_keys(self, records: list[RecordedEvent]) -> None:
        for r in records:
            key = r.metadata.get("idempotency_key")
            if not key:
                continue
            known = self._results.get(key)
            events = [*(known.events if known else []), r.to_json()]
            self._remember(
                key, CommandResult(stream_id=self.stream_id, version=r.version, events=events)
            )

    def _remember(self, key: str, result: CommandResult) -> None:
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > max(self.config.idempotency_window, 1):
            self._results.popitem(last=False)

    async def passivate(self) -> None:
        """Save a snapshot (if anything changed since the last one) before the host lets go."""
        if self._due_timer is not None:
            self._due_timer.cancel()
        async with self._mailbox:
            if self._snapshot_saving is not None:
                await self._snapshot_saving
            if self.state.version > self._snapshot_version and not self.fenced:
                await asyncio.to_thread(self._save_snapshot, self.state)

    def busy(self) -> bool:
        """A command is running or a subscriber is waiting: not a moment to passivate."""
        return bool(self.waiters or self.queued) or self._mailbox.locked()

    def idle_for(self) -> float:
        """Seconds since the last command or poll; 0 while busy or watched."""
        if self.busy():
            return 0.0
        return self.clock() - self.last_active

    # ------------------------------------------------------------------ commands

    def context(self) -> Context:
        return Context(self.clock(), self.tenant, self.entity_id, self.journal)

    async def execute(
        self,
        command: BaseModel,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        name = str(getattr(command, "command", type(command).__name__))
        try:
            result = await self._execute(command, expected_version, idempotency_key, metadata)
        except Exception as e:
            prometheus.command_done(self.aggregate.kind, name, prometheus.outcome_of(e))
            raise
        prometheus.command_done(
            self.aggregate.kind, name, prometheus.outcome_of(None, result.replayed)
        )
        return result

    async def _execute(
        self,
        command: BaseModel,
        expected_version: int | None,
        idempotency_key: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> CommandResult:
        self.last_active = self.clock()
        if idempotency_key is None:
            return await self._queue(command, expected_version, None, metadata)
        # A retry is answered before the mailbox: from the recorded keys at once, or, while its
        # first attempt is still queued or running, from that attempt's outcome. It never
        # queues a second copy behind the first (under overload, retries of requests whose
        # callers timed out would otherwise multiply the queue).
        while True:
            self._check_fence()
            known = self._results.get(idempotency_key)
            if known is not None:
                return known.model_copy(update={"replayed": True})
            first = self._running.get(idempotency_key)
            if first is None:
                break
            await asyncio.shield(first)  # never raises: its outcome is read from the keys
        done = asyncio.get_running_loop().create_future()
        self._running[idempotency_key] = done
        try:
            return await self._queue(command, expected_version, idempotency_key, metadata)
        finally:
            del self._running[idempotency_key]
            done.set_result(None)

    async def _queue(
        self,
        command: BaseModel,
        expected_version: int | None,
        idempotency_key: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> CommandResult:
        """Wait for the mailbox (bounded in length and in time), then run the command."""
        if self.queued >= self.config.max_queued_commands:
            raise Overloaded(f"{self.stream_id} has {self.queued} commands waiting; retry later")
        self.queued += 1
        try:
            try:
                if self._mailbox.locked():  # wait, but not for ever
                    await asyncio.wait_for(self._mailbox.acquire(), self.config.queue_timeout_s)
                else:  # free: taken at once, without the timer and task of a wait_for
                    await self._mailbox.acquire()
            except TimeoutError:
                raise Overloaded(
                    f"{self.stream_id} is busy: the command waited"
                    f" {self.config.queue_timeout_s:g} s without running; retry later"
                ) from None
            try:
                self.last_active = self.clock()
                self._check_fence()
                if expected_version is not None and expected_version != self.state.version:
                    raise VersionMismatch(expected_version, self.state.version)
                meta = dict(metadata or {})
                if idempotency_key is not None:
                    meta["idempotency_key"] = idempotency_key
                result = await self._decide_and_append(command, meta, expected_version)
                if idempotency_key is not None:
                    self._remember(idempotency_key, result)
            finally:
                self._mailbox.release()
        finally:
            self.queued -= 1
        self._schedule_due()
        return result

    async def execute_and_view(
        self,
        command: BaseModel,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """:meth:`execute`, returned as the CommandResult's fields plus the state after it:
        what the ingress answers with (both placements)."""
        result = await self.execute(
            command,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
        return {
            "stream_id": result.stream_id,
            "version": result.version,
            "events": result.events,
            "replayed": result.replayed,
            "state": self.aggregate.view(self.state),
        }

    async def _decide_and_append(
        self, command: BaseModel, meta: dict[str, Any], expected_version: int | None
    ) -> CommandResult:
        events = self.aggregate.decide(self.state, command, self.context())
        if not events:
            return CommandResult(stream_id=self.stream_id, version=self.state.version)
        at = self.clock()
        started = time.perf_counter()
        try:
            positions = await self.committer.append(
                self.stream_id,
                events,
                self.state.version,
                meta,
                recorded_at=at,
            )
        except VersionConflict as e:
            self.fence(str(e))
            raise Fenced(f"{self.stream_id} changed concurrently; retry") from e
        except EventRejected as e:
            raise EntityError(f"the journal rejected the events: {e}") from e
        except StorageError as e:
            prometheus.journal_error("append")
            raise Unavailable(f"the journal is unavailable: {e}") from e
        prometheus.appended(self.aggregate.kind, len(positions), time.perf_counter() - started)
        records = [
            RecordedEvent(p, self.stream_id, self.state.version + i + 1, ev, at, meta)
            for i, (p, ev) in enumerate(zip(positions, events, strict=True))
        ]
        published = self._apply(records)
        return CommandResult(stream_id=self.stream_id, version=self.state.version, events=published)

    def fence(self, why: str) -> None:
        """Stop being a writer of this stream: refuse commands from now on, and wake the
        subscribers so that they resync from the journal."""
        if not self.fenced:
            log.warning(
                "%s: fenced (%s); it will be reloaded from the journal", self.stream_id, why
            )
        self.fenced = True
        self._recent.clear()
        if self._due_timer is not None:
            self._due_timer.cancel()
            self._due_timer = None
        self._wake()

    def _check_fence(self) -> None:
        if self.fenced:
            raise Fenced(f"{self.stream_id} changed concurrently; retry")

    def _apply(self, records: list[RecordedEvent]) -> list[dict[str, Any]]:
        """Fold acknowledged records into the state and publish them; return their JSON."""
        self.state = self.aggregate.folder.fold(self.state, records)
        published = [r.to_json() for r in records]
        self._recent.extend(zip((r.version for r in records), published, strict=True))
        self._wake()
        if self.state.version - self._snapshot_version >= self.config.snapshot_every:
            self._snapshot_version = self.state.version
            state = self.state
            self._snapshot_saving = asyncio.get_running_loop().run_in_executor(
                None, self._save_snapshot, state
            )
        return published

    def _save_snapshot(self, state: State) -> None:
        save_snapshot(self.journal, self.stream_id, state, keep=self.config.snapshots_kept)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ time-driven commands

    async def run_due(self) -> None:
        """Execute what the entity owes itself now (session expiry), then re-arm the timer."""
        command = self.aggregate.due(self.state, self.context())
        if command is not None:
            try:
                await self.execute(command)
            except EntityError as e:
                log.warning("%s: due command %s failed: %s", self.stream_id, command, e)
        self._schedule_due()

    def next_due(self) -> float | None:
        """When this entity next owes itself a command (seconds since the epoch), if ever."""
        return self.aggregate.next_due(self.state)

    def _schedule_due(self) -> None:
        if not self.own_timers:
            return
        if self._due_timer is not None:
            self._due_timer.cancel()
            self._due_timer = None
        due_at = self.aggregate.next_due(self.state)
        if due_at is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, due_at - self.clock())
        self._due_timer = loop.call_later(delay, lambda: loop.create_task(self.run_due()))

    # ------------------------------------------------------------------ reads and live updates

    def view(self, idempotency_key: str | None = None) -> dict[str, Any]:
        """Version and state; with ``idempotency_key``, also ``recalled``: the result of the
        command recorded under that key (``None`` when there is none), so a caller can tell a
        retry before doing costly work for it."""
        out = {"version": self.state.version, "state": self.aggregate.view(self.state)}
        if idempotency_key is not None:
            known = self._results.get(idempotency_key)
            out["recalled"] = None if known is None else {**known.model_dump(), "replayed": True}
        return out

    async def wait(
        self, after_version: int, timeout: float, max_events: int = 500
    ) -> dict[str, Any]:
        """Events after ``after_version`` as soon as there are any (or none after ``timeout``).

        Returns ``{"version", "events", "lagged"}``; ``lagged`` means the events the caller
        needs are no longer buffered and it must read them from the journal.
        """
        self.waiters += 1
        try:
            if self.state.version <= after_version and not self.fenced:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            version = self.state.version
            if self.fenced:  # our history may be behind the journal's: resync from it
                return {"version": version, "events": [], "lagged": True}
            if version <= after_version:
                return {"version": version, "events": [], "lagged": False}
            oldest = self._recent[0][0] if self._recent else version + 1
            if after_version + 1 < oldest:
                return {"version": version, "events": [], "lagged": True}
            events = [j for v, j in self._recent if v > after_version][:max_events]
            return {"version": version, "events": events, "lagged": False}
        finally:
            self.waiters -= 1
            self.last_active = self.clock()

"""The journal interface: append-only event streams, a global log, and snapshots.

Promises kept by every backend (checked by ``tests/contracts/journal.py``):

1. A batch append is atomic: all events or none.
2. Optimistic concurrency: ``expected_version`` is an exact version, ``NO_STREAM`` or ``ANY``; a
   mismatch raises :class:`VersionConflict` and writes nothing. The unique (stream, version) key
   also fences off a zombie writer.
3. Idempotent retry: re-sending the same batch (same event ids) with the same expectation returns
   the original positions and writes nothing.
4. Reads follow the Akka Persistence TCK ``JournalSpec``; ``delete_up_to`` is logical and keeps
   the highest version.
5. Snapshots: save (overwrite at the same version), latest at or below a version, keep-N, delete.
6. ``read_all`` never skips an event that commits later with a lower global position; positions
   are gap-free to readers; subscriptions resume after an exclusive position.
7. A rejection (:class:`EventRejected`) is distinct from a storage failure (:class:`StorageError`).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from events.base import Event
from events.codec import EventCodec, default_codec, pack, unpack
from events.errors import CodecError, EventRejected, JournalError, StorageError, VersionConflict
from events.records import RecordedEvent, SnapshotRecord
from events.types import ANY, Expected, ExpectedVersion, check_stream_id, expected_matches

R = TypeVar("R")  # what a tail pages through: records, or (position, stream id) heads

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An encoded event on its way into storage."""

    event_id: UUID
    type: str
    schema_version: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One append of a batch (:meth:`Journal.append_batch`): the arguments of :meth:`append`."""

    stream_id: str
    events: Sequence[Event]
    expected_version: Expected = ANY
    metadata: Mapping[str, Any] | None = None
    recorded_at: float | None = None


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    """An append checked and encoded, on its way to a backend."""

    stream_id: str
    rows: list[NewEvent]
    expected: Expected
    metadata: bytes
    recorded_at: float


#: What one append of a batch came to: its global positions, or why it did not happen.
AppendOutcome = list[int] | JournalError


@dataclass(frozen=True, slots=True)
class ExistingEvent:
    """Where an already recorded event id stands (used to recognise a retried batch)."""

    event_id: UUID
    stream_id: str
    version: int
    global_position: int


class Journal(ABC):
    """Abstract journal. Backends implement the underscored storage primitives."""

    def __init__(self, codec: EventCodec | None = None, clock: Clock = time.time) -> None:
        self.codec = codec or default_codec
        self.clock = clock

    # ------------------------------------------------------------------ writing

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: Expected = ANY,
        metadata: Mapping[str, Any] | None = None,
        *,
        recorded_at: float | None = None,
    ) -> list[int]:
        """Append ``events`` atomically; return their global positions (in order).

        ``recorded_at`` defaults to the journal's clock; a caller that folds the events itself
        passes its own time so that its state and the stored records agree.
        Raises :class:`VersionConflict`, :class:`EventRejected` or :class:`StorageError`.
        """
        p = self._prepare(AppendRequest(stream_id, events, expected_version, metadata, recorded_at))
        return self._append(p.stream_id, p.rows, p.expected, p.metadata, p.recorded_at)

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[AppendOutcome]:
        """Several appends, committed together where the backend can (one transaction, one
        sync to disk): group commit. Each keeps its own expected-version check and its own
        outcome; a conflict or a rejection fails that append only. A storage failure fails
        them all (nothing of the batch is written). Outcomes come back in request order.
        """
        outcomes: list[AppendOutcome | None] = [None] * len(requests)
        prepared: list[tuple[int, PreparedAppend]] = []
        for i, request in enumerate(requests):
            try:
                prepared.append((i, self._prepare(request)))
            except EventRejected as e:
                outcomes[i] = e
        if prepared:
            try:
                results = self._append_batch([p for _, p in prepared])
            except StorageError as e:
                results = [e] * len(prepared)
            for (i, _), result in zip(prepared, results, strict=True):
                outcomes[i] = result
        return [o for o in outcomes if o is not None]

    def _prepare(self, request: AppendRequest) -> PreparedAppend:
        """Check and encode an append. Raises :class:`EventRejected`."""
        stream_id, events, expected_version = (
            request.stream_id,
            request.events,
            request.expected_version,
        )
        try:
            check_stream_id(stream_id)
        except ValueError as e:
            raise EventRejected(str(e)) from e
        if not events:
            raise EventRejected("an append needs at least one event")
        if isinstance(expected_version, int) and not isinstance(expected_version, bool):
            if expected_version < 0:
                raise EventRejected(f"expected version must be >= 0, got {expected_version}")
        elif not isinstance(expected_version, ExpectedVersion):
            raise EventRejected(f"bad expected version {expected_version!r}")
        rows = []
        try:
            for event in events:
                type_name, schema_version, payload = self.codec.encode(event)
                rows.append(NewEvent(event.event_id, type_name, schema_version, payload))
            meta = pack(dict(request.metadata)) if request.metadata else b""
        except CodecError as e:  # e.g. a lone surrogate ("\ud852"): it has no UTF-8 form
            raise EventRejected(
                f"cannot encode the events (text that is not valid Unicode?): {e}"
            ) from e
        if len({r.event_id for r in rows}) != len(rows):
            raise EventRejected("the same event id appears twice in one batch")
        at = self.clock() if request.recorded_at is None else request.recorded_at
        return PreparedAppend(stream_id, rows, expected_version, meta, at)

    def _append_batch(self, batch: list[PreparedAppend]) -> list[AppendOutcome]:
        """Store each append of ``batch`` on its own; backends override this to commit them in
        one transaction. Raises :class:`StorageError` only when the whole batch failed."""
        out: list[AppendOutcome] = []
        for p in batch:
            try:
                out.append(self._append(p.stream_id, p.rows, p.expected, p.metadata, p.recorded_at))
            except (VersionConflict, EventRejected, StorageError) as e:
                out.append(e)
        return out

    @abstractmethod
    def _append(
        self,
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        metadata: bytes,
        recorded_at: float,
    ) -> list[int]:
        """Store ``rows`` atomically after checking ``expected`` (see :meth:`_resolve_retry`)."""

    def _resolve_retry(
        self,
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        current: int,
        existing: Sequence[ExistingEvent],
    ) -> list[int]:
        """Decide what to do when a batch collides with the stream or with recorded ids.

        Returns the original positions of an identical earlier batch, or raises.
        """
        if existing:
            by_id = {e.event_id: e for e in existing}
            if any(e.stream_id != stream_id for e in existing):
                raise EventRejected(
                    "an event id of this batch is already recorded in another stream"
                )
            if len(by_id) == len(rows):
                found = [by_id[r.event_id] for r in rows]
                first = found[0].version
                consecutive = all(f.version == first + i for i, f in enumerate(found))
                if consecutive and expected_matches(expected, first - 1):
                    return [f.global_position for f in found]
            if expected_matches(expected, current):
                raise EventRejected("part of this batch is already recorded")
        raise VersionConflict(stream_id, _describe(expected), current)

    # ------------------------------------------------------------------ reading

    def read(
        self,
        stream_id: str,
        from_version: int = 1,
        to_version: int | None = None,
        max_count: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream with ``from_version <= version <= to_version``, oldest first,
        at most ``max_count`` (``0`` gives nothing), skipping logically deleted ones."""
        if max_count is not None and max_count <= 0:
            return []
        if to_version is not None and from_version > to_version:
            return []
        return self._read(stream_id, max(from_version, 1), to_version, max_count)

    @abstractmethod
    def _read(
        self, stream_id: str, from_version: int, to_version: int | None, max_count: int | None
    ) -> list[RecordedEvent]: ...

    @abstractmethod
    def highest_version(self, stream_id: str) -> int:
        """The stream's highest version ever written (0 for an unknown stream); deletes keep it."""

    @abstractmethod
    def delete_up_to(self, stream_id: str, version: int) -> None:
        """Logically delete events up to ``version``: reads skip them, the highest stays."""

    @abstractmethod
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events of every stream with ``global_position > after_position``, in position order."""

    def read_heads(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        """``(global_position, stream_id)`` of the events after ``after_position``, in position
        order, without decoding them: for tails that only need to know which streams moved.
        Backends override it with a query of those two columns."""
        return [(r.global_position, r.stream_id) for r in self.read_all(after_position, limit)]

    @abstractmethod
    def last_position(self) -> int:
        """The highest committed global position (0 when empty)."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counts for status pages: ``streams``, ``events``, ``snapshots``."""

    # ------------------------------------------------------------------ snapshots

    @abstractmethod
    def save_snapshot(self, snapshot: SnapshotRecord, keep: int | None = None) -> None:
        """Store ``snapshot`` (replacing one at the same version); keep only the newest ``keep``."""

    @abstractmethod
    def load_snapshot(
        self, stream_id: str, max_version: int | None = None
    ) -> SnapshotRecord | None:
        """The newest snapshot of ``stream_id`` at or below ``max_version``."""

    @abstractmethod
    def delete_snapshots(self, stream_id: str, max_version: int | None = None) -> None:
        """Delete the stream's snapshots at or below ``max_version`` (all when ``None``)."""

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Using the journal afterwards is an error."""

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ subscriptions

    def subscribe(
        self,
        after_position: int = 0,
        *,
        poll_interval: float = 0.05,
        batch_size: int = 500,
        stop: threading.Event | None = None,
    ) -> Iterator[RecordedEvent]:
        """Yield every event after ``after_position`` (exclusive), then new ones as they commit.

        Ends when ``stop`` is set. Resuming from the last seen position skips nothing.
        """
        position = after_position
        while stop is None or not stop.is_set():
            mark = self._append_mark()
            batch = self.read_all(position, batch_size)
            for record in batch:
                position = record.global_position
                yield record
            if len(batch) < batch_size:
                self._wait_for_append(position, poll_interval, stop, mark)

    async def subscribe_async(
        self,
        after_position: int = 0,
        *,
        poll_interval: float = 0.05,
        batch_size: int = 500,
    ) -> AsyncIterator[RecordedEvent]:
        """Async form of :meth:`subscribe` (reads run in a worker thread)."""
        async for record in self._tail_async(
            self.read_all, lambda r: r.global_position, after_position, poll_interval, batch_size
        ):
            yield record

    async def subscribe_heads_async(
        self,
        after_position: int = 0,
        *,
        poll_interval: float = 0.05,
        batch_size: int = 500,
    ) -> AsyncIterator[tuple[int, str]]:
        """:meth:`subscribe_async` of :meth:`read_heads`: ``(position, stream_id)`` only."""
        async for head in self._tail_async(
            self.read_heads, lambda h: h[0], after_position, poll_interval, batch_size
        ):
            yield head

    async def _tail_async(
        self,
        read: Callable[[int, int], Sequence[R]],
        position_of: Callable[[R], int],
        after_position: int,
        poll_interval: float,
        batch_size: int,
    ) -> AsyncIterator[R]:
        """Page through ``read`` from ``after_position``, then wait for appends and go on."""
        position = after_position
        while True:
            mark = self._append_mark()
            batch = await asyncio.to_thread(read, position, batch_size)
            for item in batch:
                position = position_of(item)
                yield item
            if len(batch) < batch_size:
                await self._wait_for_append_async(position, poll_interval, mark)

    def _append_mark(self) -> object:
        """Taken before each subscription read and handed to the wait that follows it.

        A backend that is told about appends (PostgreSQL's LISTEN/NOTIFY) returns a token that
        lets the wait see an append that committed between the read and the wait.
        """
        return None

    def _wait_for_append(
        self, position: int, timeout: float, stop: threading.Event | None, mark: object = None
    ) -> None:
        """Block up to ``timeout`` for an event after ``position``. Backends may wake sooner."""
        if stop is not None:
            stop.wait(timeout)
        else:
            time.sleep(timeout)

    async def _wait_for_append_async(self, position: int, timeout: float, mark: object) -> None:
        """Async form of :meth:`_wait_for_append` (must not block the event loop)."""
        await asyncio.sleep(timeout)

    # ------------------------------------------------------------------ helpers for backends

    def _record(
        self,
        position: int,
        stream_id: str,
        version: int,
        event_id: UUID,
        type_name: str,
        schema_version: int,
        payload: bytes,
        recorded_at: float,
        metadata: bytes,
    ) -> RecordedEvent:
        event = self.codec.decode(type_name, schema_version, event_id, payload)
        meta = unpack(metadata) if metadata else {}
        return RecordedEvent(position, stream_id, version, event, recorded_at, meta)

    def _records_of(
        self, rows: Sequence[Sequence[Any]], stream_id: str | None = None
    ) -> list[RecordedEvent]:
        """Decode rows of ``(position, stream_id, version, event_id, type, schema_version,
        payload, recorded_at, metadata)``, without the ``stream_id`` column when it is given
        (a read of one stream), into records: the SQL backends' common last step."""
        decode = self.codec.decode
        with gc_paused():
            if stream_id is not None:
                return [
                    RecordedEvent(
                        pos,
                        stream_id,
                        ver,
                        decode(typ, sv, eid, payload),
                        at,
                        unpack(meta) if meta else {},
                    )
                    for pos, ver, eid, typ, sv, payload, at, meta in rows
                ]
            return [
                RecordedEvent(
                    pos, sid, ver, decode(typ, sv, eid, payload), at, unpack(meta) if meta else {}
                )
                for pos, sid, ver, eid, typ, sv, payload, at, meta in rows
            ]


class gc_paused:  # noqa: N801 - reads as the function it replaces
    """Pause the cyclic garbage collector while a page of records is decoded (and folded).

    Every object a page allocates survives until the page has been used, so the collections its
    allocations trigger find nothing to free; worse, they promote the page into older
    generations, which then trigger full collections of the whole heap. Measured on a
    100k-event replay: about 180 young and 2-6 full collections, a quarter to a third of the
    CPU time; none with the pause around read + fold (the page's objects are freed by
    reference counting). The collector is switched back on only if it was on; other threads'
    cycles merely wait a few milliseconds. A class, not a generator: leaving must allocate
    nothing, or the first allocation would collect the page it meant to spare.
    """

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        if self._was_enabled:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was_enabled:
            gc.enable()


def _describe(expected: Expected) -> object:
    return expected.value if isinstance(expected, ExpectedVersion) else expected

"""In-process journal for tests and single-process tools. Not durable."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from uuid import UUID

from events.codec import EventCodec
from events.errors import EventRejected
from events.journal import Clock, ExistingEvent, Journal, NewEvent
from events.records import RecordedEvent, SnapshotRecord
from events.types import Expected, expected_matches


@dataclass(frozen=True, slots=True)
class _Row:
    position: int
    stream_id: str
    version: int
    new: NewEvent
    recorded_at: float
    metadata: bytes


class MemoryJournal(Journal):
    """Keeps everything in lists and dicts under one lock (threads may share it)."""

    def __init__(self, codec: EventCodec | None = None, clock: Clock = time.time) -> None:
        super().__init__(codec, clock)
        self._lock = threading.Condition()
        self._log: list[_Row] = []
        self._streams: dict[str, list[_Row]] = {}
        self._deleted_to: dict[str, int] = {}
        self._ids: dict[UUID, _Row] = {}
        self._snapshots: dict[str, dict[int, SnapshotRecord]] = {}

    def _append(
        self,
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        metadata: bytes,
        recorded_at: float,
    ) -> list[int]:
        with self._lock:
            stream = self._streams.get(stream_id, [])
            current = len(stream)
            existing = [
                ExistingEvent(r.event_id, row.stream_id, row.version, row.position)
                for r in rows
                if (row := self._ids.get(r.event_id)) is not None
            ]
            if existing or not expected_matches(expected, current):
                return self._resolve_retry(stream_id, rows, expected, current, existing)
            stored = []
            for i, new in enumerate(rows):
                row = _Row(
                    len(self._log) + 1, stream_id, current + i + 1, new, recorded_at, metadata
                )
                self._log.append(row)
                stored.append(row)
                self._ids[new.event_id] = row
            self._streams.setdefault(stream_id, []).extend(stored)
            self._lock.notify_all()
            return [r.position for r in stored]

    def _to_record(self, row: _Row) -> RecordedEvent:
        n = row.new
        return self._record(
            row.position,
            row.stream_id,
            row.version,
            n.event_id,
            n.type,
            n.schema_version,
            n.payload,
            row.recorded_at,
            row.metadata,
        )

    def _read(
        self, stream_id: str, from_version: int, to_version: int | None, max_count: int | None
    ) -> list[RecordedEvent]:
        with self._lock:
            stream = self._streams.get(stream_id, [])
            start = max(from_version, self._deleted_to.get(stream_id, 0) + 1)
            stop = len(stream) if to_version is None else min(to_version, len(stream))
            rows = stream[start - 1 : stop]
        if max_count is not None:
            rows = rows[:max_count]
        return [self._to_record(r) for r in rows]

    def highest_version(self, stream_id: str) -> int:
        with self._lock:
            return len(self._streams.get(stream_id, ()))

    def delete_up_to(self, stream_id: str, version: int) -> None:
        with self._lock:
            upto = min(version, len(self._streams.get(stream_id, ())))
            if upto > self._deleted_to.get(stream_id, 0):
                self._deleted_to[stream_id] = upto

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if limit <= 0:
            return []
        with self._lock:
            rows = self._log[max(after_position, 0) : max(after_position, 0) + limit]
        return [self._to_record(r) for r in rows]

    def last_position(self) -> int:
        with self._lock:
            return len(self._log)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "streams": len(self._streams),
                "events": len(self._log),
                "snapshots": sum(len(s) for s in self._snapshots.values()),
            }

    def save_snapshot(self, snapshot: SnapshotRecord, keep: int | None = None) -> None:
        if snapshot.version < 1:
            raise EventRejected("a snapshot needs a version >= 1")
        with self._lock:
            snaps = self._snapshots.setdefault(snapshot.stream_id, {})
            snaps[snapshot.version] = snapshot
            if keep is not None and keep >= 1:
                for version in sorted(snaps)[:-keep]:
                    del snaps[version]

    def load_snapshot(
        self, stream_id: str, max_version: int | None = None
    ) -> SnapshotRecord | None:
        with self._lock:
            snaps = self._snapshots.get(stream_id, {})
            versions = [v for v in snaps if max_version is None or v <= max_version]
            return snaps[max(versions)] if versions else None

    def delete_snapshots(self, stream_id: str, max_version: int | None = None) -> None:
        with self._lock:
            snaps = self._snapshots.get(stream_id, {})
            for version in [v for v in snaps if max_version is None or v <= max_version]:
                del snaps[version]

    def _wait_for_append(
        self, position: int, timeout: float, stop: threading.Event | None, mark: object = None
    ) -> None:
        with self._lock:
            if len(self._log) <= position:
                self._lock.wait(timeout)

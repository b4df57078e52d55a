"""What the journal stores and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from events.base import Event


class RecordedEvent(NamedTuple):
    """An event as it stands in the journal, with its place in the stream and the global log.

    A named tuple rather than a frozen dataclass: replay creates hundreds of thousands of these,
    and a frozen dataclass's ``__init__`` costs several times more.
    """

    global_position: int
    stream_id: str
    version: int
    event: Event
    recorded_at: float
    """Seconds since the epoch, set by the journal's clock when the batch committed."""
    metadata: dict[str, Any] = {}  # never mutated: a shared empty default is safe

    @property
    def event_id(self) -> UUID:
        return self.event.event_id

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def recorded_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.recorded_at, tz=UTC)

    def to_json(self) -> dict[str, Any]:
        """The shape clients see (HTTP event pages, WebSocket ``event`` frames)."""
        return {
            "global_position": self.global_position,
            "stream_id": self.stream_id,
            "version": self.version,
            "event_id": str(self.event.event_id),
            "type": self.event.type,
            "schema_version": type(self.event).schema_version,
            "recorded_at": self.recorded_datetime.isoformat(),
            "data": self.event.model_dump(mode="json", exclude={"event_id", "type"}),
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A stored snapshot: an encoded state of ``stream_id`` at ``version``."""

    stream_id: str
    version: int
    state_type: str
    schema_version: int
    state: bytes
    created_at: float

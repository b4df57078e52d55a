"""A recorded event as clients see it (event pages and WebSocket ``event`` frames)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RecordedEvent(BaseModel):
    """One event of an entity's stream (``events.records.EventRecord.to_json``)."""

    global_position: int | None = None
    stream_id: str
    version: int = Field(description="1, 2, 3... within its stream; never a gap.")
    event_id: str
    type: str
    schema_version: int = 1
    recorded_at: str
    data: dict[str, Any]
    metadata: dict[str, Any] | None = None

"""Settings that entities and their actors run with (filled in from serve_app's settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EntityConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    journal_url: str = Field(description="Where events go: sqlite:///path, memory://, ...")
    snapshot_every: int = Field(100, ge=1, description="Save a snapshot every N events.")
    snapshots_kept: int = Field(2, ge=1)
    passivate_after_s: float = Field(300.0, gt=0, description="Idle time before an actor exits.")
    buffer_size: int = Field(
        1000, ge=1, description="Recent events kept for live subscribers; a slower one lags."
    )
    idempotency_window: int = Field(
        1000, ge=0, description="Events scanned on activation to remember idempotency keys."
    )
    max_live_actors: int = Field(
        500, ge=1, description="Live entity actors per node; past it the least recent passivate."
    )

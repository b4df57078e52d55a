"""Settings that entities and their actors run with (filled in from serve_app's settings)."""

from __future__ import annotations

from typing import Literal

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
    max_queued_commands: int = Field(
        64,
        ge=1,
        description="Commands one entity lets wait for its mailbox; past it a command is refused"
        " at once (503, Retry-After) instead of adding to a queue that no client waits out.",
    )
    queue_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Longest a command waits for its entity's mailbox; then it is refused"
        " without running (503, Retry-After), so an overloaded entity never works for callers"
        " that already gave up.",
    )
    max_live_actors: int = Field(
        500, ge=1, description="Live entity actors per node; past it the least recent passivate."
    )
    entity_transport: Literal["direct", "ray"] = Field(
        "direct",
        description="How callers send entity actors and hosts their commands and state reads:"
        " over a direct channel each opens on its node (actors.channel), or as Ray actor calls."
        " Everything else goes through Ray either way.",
    )

"""Render jobs as clients see them (``GET /jobs/{id}``, the job and session streams)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from events.jobs import JobError, JobKind, JobStatus

__all__ = ["JobError", "JobList", "JobView"]


class JobView(BaseModel):
    """A job: status, progress (0..1), and its result (an output's facts) or its error."""

    job_id: str
    kind: JobKind | None = None
    status: JobStatus | None = None
    progress: float = 0.0
    frames_done: int = 0
    frames_total: int | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: JobError | None = None
    attempts: int = 0
    session_id: str | None = None
    avatar_id: str | None = None
    url: str | None = Field(None, description="Where to poll it (in the 202 answer only).")
    stream: str | None = Field(None, description="Its WebSocket (in the 202 answer only).")

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class JobList(BaseModel):
    session_id: str
    jobs: list[JobView]

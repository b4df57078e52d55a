"""Render jobs as clients see them (``GET /jobs/{id}``, the job and session streams)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from events.jobs import JobError, JobFacts

__all__ = ["JobError", "JobList", "JobView"]


class JobView(JobFacts):
    """A job: status, progress (0..1), and its result (an output's facts) or its error."""

    job_id: str  # always known to clients (a fold starts without one)
    url: str | None = Field(None, description="Where to poll it (in the 202 answer only).")
    stream: str | None = Field(None, description="Its WebSocket (in the 202 answer only).")


class JobList(BaseModel):
    session_id: str
    jobs: list[JobView]

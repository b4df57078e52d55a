"""Render jobs as event streams, and the index streams that find them.

A job's stream (``job:<tenant>:<job_id>``):

- ``JobQueued``: what to render (kind, payload) and for which session or avatar. Always written
  in one batch with the first ``JobClaimed``, so there is never a job nobody owns.
- ``JobClaimed``: attempt ``n`` belongs to ``worker``, the process that drives it (it hands the
  job to a renderer and shows life for it while it waits). A claim is appended with the version
  its claimant read, so two claimants can never both win one attempt.
- ``JobHeartbeat``: the claimant is alive but has no progress to report (the job waits for a
  renderer, or the renderer is between frames for a while).
- ``JobProgress``: frames done of frames total, from the renderer, about once a second; the
  first one of an attempt marks the job running.
- ``JobFinished`` (the output's facts) or ``JobFailed`` (``{status, code, message}``) end it.

Liveness is the time of the stream's last event (``JobState.updated_at``). Policy (how long is
too long, how many attempts) lives with the code that claims jobs, not here.

Index streams hold ``JobListed`` / ``JobUnlisted`` of job ids: every job made for a session
(``session-jobs:<tenant>:<session_id>``) and the jobs not finished yet (``open-jobs:<tenant>``),
so neither a session's listing nor the sweep for orphaned jobs reads every job ever made.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.base import Event
from events.fold import Folder, State

JobKind = Literal["replay", "sequence"]
JobStatus = Literal["queued", "running", "done", "failed"]
TERMINAL: frozenset[str] = frozenset({"done", "failed"})


class JobError(BaseModel):
    """Why a job failed: a stable code and a message, as the routes report errors, with the HTTP
    status the edge's table gives the code, recorded with it (clients read it from the job)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int = Field(ge=400, le=599)
    code: str = Field(min_length=1, max_length=100)
    message: str = Field(max_length=10_000)


# ---------------------------------------------------------------------------- job stream


class JobQueued(Event):
    type: Literal["JobQueued"] = "JobQueued"
    job_id: str
    kind: JobKind
    payload: dict[str, Any] = Field(default_factory=dict, description="What the renderer needs.")
    session_id: str | None = None
    avatar_id: str | None = None


class JobClaimed(Event):
    type: Literal["JobClaimed"] = "JobClaimed"
    worker: str = Field(min_length=1, max_length=200, description="Who drives this attempt.")
    attempt: int = Field(ge=1, description="1 for the first claim, +1 for each take-over.")


class JobHeartbeat(Event):
    type: Literal["JobHeartbeat"] = "JobHeartbeat"
    worker: str = Field(min_length=1, max_length=200)


class JobProgress(Event):
    type: Literal["JobProgress"] = "JobProgress"
    frames_done: int = Field(ge=0)
    frames_total: int | None = Field(None, ge=0)


class JobFinished(Event):
    type: Literal["JobFinished"] = "JobFinished"
    result: dict[str, Any] = Field(description="The stored output's facts and the render's.")


class JobFailed(Event):
    type: Literal["JobFailed"] = "JobFailed"
    error: JobError


class JobFacts(BaseModel):
    """What clients see of a job: status, progress (0..1), and its result (an output's facts)
    or its error. :class:`JobState` folds it from the job's stream; the API's ``JobView``
    shows it."""

    job_id: str = ""
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

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class JobState(State, JobFacts):
    """The fold of a job's stream: its facts, plus what only the workers need (``payload``,
    ``worker``) and the fold's ``version`` and ``updated_at``."""

    schema_version: ClassVar[int] = 1

    worker: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


job_folder: Folder[JobState] = Folder(JobState)
on_job = job_folder.mutator


@on_job(JobQueued)
def _queued(s: JobState, e: JobQueued, at: float) -> dict[str, Any]:
    return {
        "job_id": e.job_id,
        "kind": e.kind,
        "status": "queued",
        "created_at": at,
        "payload": e.payload,
        "session_id": e.session_id,
        "avatar_id": e.avatar_id,
    }


@on_job(JobClaimed)
def _claimed(s: JobState, e: JobClaimed, at: float) -> dict[str, Any]:
    """A new attempt starts from nothing: queued until a renderer reports progress."""
    return {
        "status": "queued",
        "attempts": e.attempt,
        "worker": e.worker,
        "progress": 0.0,
        "frames_done": 0,
        "frames_total": None,
        "started_at": None,
    }


@on_job(JobHeartbeat)
def _heartbeat(s: JobState, e: JobHeartbeat, at: float) -> dict[str, Any]:
    return {}  # only the time of the last event moves


@on_job(JobProgress)
def _progress(s: JobState, e: JobProgress, at: float) -> dict[str, Any]:
    total = e.frames_total
    changes: dict[str, Any] = {
        "frames_done": e.frames_done,
        "frames_total": total,
        "progress": round(min(e.frames_done / total, 1.0), 4) if total else 0.0,
    }
    if s.status == "queued":
        changes["status"] = "running"
        changes["started_at"] = at
    return changes


@on_job(JobFinished)
def _finished(s: JobState, e: JobFinished, at: float) -> dict[str, Any]:
    frames = e.result.get("frames")
    done = frames if isinstance(frames, int) else s.frames_done
    return {
        "status": "done",
        "finished_at": at,
        "result": e.result,
        "progress": 1.0,
        "frames_done": done,
        "frames_total": done,
    }


@on_job(JobFailed)
def _failed(s: JobState, e: JobFailed, at: float) -> dict[str, Any]:
    return {"status": "failed", "finished_at": at, "error": e.error}


# ---------------------------------------------------------------------------- index streams


class JobListed(Event):
    type: Literal["JobListed"] = "JobListed"
    job_id: str
    owner: str | None = Field(
        None, description="The API key that asked for the job (its concurrent-job quota)."
    )


class JobUnlisted(Event):
    type: Literal["JobUnlisted"] = "JobUnlisted"
    job_id: str


class JobIndexState(State):
    """The job ids an index stream lists, in the order they were listed (a dict keeps it, and
    so do snapshots), with when each was listed, and the key that asked for each (when one
    did: ``owners`` counts a key's open jobs)."""

    schema_version: ClassVar[int] = 1

    listed: dict[str, float] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)

    @property
    def job_ids(self) -> list[str]:
        return list(self.listed)

    def owned_by(self, owner: str) -> int:
        """How many listed jobs ``owner`` asked for."""
        return sum(1 for o in self.owners.values() if o == owner)


job_index_folder: Folder[JobIndexState] = Folder(JobIndexState)


@job_index_folder.mutator(JobListed)
def _listed(s: JobIndexState, e: JobListed, at: float) -> dict[str, Any]:
    if e.job_id in s.listed:
        return {}
    changes: dict[str, Any] = {"listed": {**s.listed, e.job_id: at}}
    if e.owner is not None:
        changes["owners"] = {**s.owners, e.job_id: e.owner}
    return changes


@job_index_folder.mutator(JobUnlisted)
def _unlisted(s: JobIndexState, e: JobUnlisted, at: float) -> dict[str, Any]:
    if e.job_id not in s.listed:
        return {}
    return {
        "listed": {k: v for k, v in s.listed.items() if k != e.job_id},
        "owners": {k: v for k, v in s.owners.items() if k != e.job_id},
    }

"""Render jobs as event streams in the journal (see :mod:`events.jobs` for the events).

Layout (``<t>`` is the tenant):

- ``job:<t>:<job_id>``: the job. Created with ``[JobQueued, JobClaimed(attempt 1)]`` in one
  append with ``NO_STREAM``, by the ingress replica that accepted the request (the claimant of
  attempt 1); then progress from the renderer, heartbeats from the claimant, and its end.
- ``session-jobs:<t>:<session_id>``: ``JobListed`` for each job made for the session.
- ``open-jobs:<t>``: ``JobListed`` when a job is made, ``JobUnlisted`` when it ends. Its fold
  (the open ids) is snapshotted every :data:`INDEX_SNAPSHOT_EVERY` events, so reading it costs a
  snapshot and a short tail, however many jobs were ever made.

Claims. Attempt ``n`` is owned by the worker of the last ``JobClaimed``. Everyone who writes
for an attempt (the renderer's progress and end, the claimant's heartbeats and failures) goes
through :class:`JobAttempt`, which appends with the version it read and checks, at that version,
that the job is unfinished and still at attempt ``n``; on a version conflict it reads again and
checks again. So once a take-over is recorded, the old attempt's writes are refused
(:class:`ClaimLost`) and its renderer stops.

Liveness and take-over. Every event shows life. A job with no event for :data:`STALE_AFTER_S`
is orphaned: whoever notices (a poll, a stream, the sweep) appends ``JobClaimed(n + 1)`` with
the version it read (a conflict: someone else acted first) and hands the job out again; past
:data:`MAX_ATTEMPTS` it appends ``JobFailed`` with the code ``render_abandoned`` instead.

Blocking (journal I/O): async callers run these methods in a worker thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from actors.naming import job_stream_id, open_jobs_stream_id, session_jobs_stream_id
from events.base import Event
from events.errors import JournalError, VersionConflict
from events.jobs import (
    TERMINAL,
    JobClaimed,
    JobError,
    JobFacts,
    JobFailed,
    JobFinished,
    JobHeartbeat,
    JobIndexState,
    JobKind,
    JobListed,
    JobProgress,
    JobQueued,
    JobState,
    JobUnlisted,
    job_folder,
    job_index_folder,
)
from events.journal import Journal
from events.replay import load_state, save_snapshot
from events.types import ANY, NO_STREAM
from serve_app.errors import status_of
from serve_app.schemas.jobs import JobView

log = logging.getLogger(__name__)

__all__ = [
    "JOB_ID_PATTERN",
    "MAX_ATTEMPTS",
    "STALE_AFTER_S",
    "TERMINAL",
    "ClaimLost",
    "JobAttempt",
    "JobQuotaExceeded",
    "JobState",
    "JobStore",
    "decide_take_over",
    "is_orphaned",
    "job_view",
    "progress_frame",
]

JOB_ID_PATTERN = r"^job-[0-9a-f]{32}$"
_JOB_ID = re.compile(JOB_ID_PATTERN)

STALE_AFTER_S = 30.0
"""No event on a job's stream for this long: its workers are gone (the renderer reports progress
about every second, the waiting claimant beats every few seconds)."""
MAX_ATTEMPTS = 3
INDEX_SNAPSHOT_EVERY = 100
_CONFLICT_RETRIES = 20
_CACHE_SIZE = 512


class JobQuotaExceeded(Exception):
    """The key already has ``limit`` open jobs (queued or running)."""

    code = "render_quota"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this API key has {limit} render jobs queued or running, its limit; "
            "wait for one to end"
        )
        self.limit = limit


class ClaimLost(Exception):
    """The attempt is no longer the job's current one (taken over, or the job has ended)."""

    def __init__(self, job_id: str, attempt: int, job: JobState | None) -> None:
        now = "gone" if job is None else f"{job.status}, attempt {job.attempts}"
        super().__init__(f"job {job_id} attempt {attempt} lost its claim (now {now})")
        self.job_id, self.attempt, self.job = job_id, attempt, job


# ---------------------------------------------------------------------------- decisions


def is_orphaned(job: JobState, now: float, stale_after_s: float = STALE_AFTER_S) -> bool:
    """Unfinished, and nothing recorded for it for ``stale_after_s``."""
    return (
        job.status not in TERMINAL
        and job.updated_at is not None
        and now - job.updated_at > stale_after_s
    )


def job_error(code: str, message: str) -> JobError:
    """A failure as a job records it: the code, and the status the edge's table gives it
    (stored with the event, as clients read it from the job)."""
    return JobError(status=status_of(code), code=code, message=message[:10_000])


def abandoned_error(job: JobState) -> JobError:
    return job_error(
        "render_abandoned", f"the job's workers stopped {job.attempts} times; giving up"
    )


def decide_take_over(
    job: JobState, now: float, worker: str, stale_after_s: float = STALE_AFTER_S
) -> list[Event]:
    """What taking over ``job`` records: nothing if it is alive or finished, the next claim, or
    its failure once :data:`MAX_ATTEMPTS` attempts have stopped."""
    if not is_orphaned(job, now, stale_after_s):
        return []
    if job.attempts >= MAX_ATTEMPTS:
        return [JobFailed(error=abandoned_error(job))]
    return [JobClaimed(worker=worker, attempt=job.attempts + 1)]


# ---------------------------------------------------------------------------- views


def job_view(job: JobState) -> dict[str, Any]:
    """What clients see of a job (``GET /jobs/{id}``, job and session streams): a
    :class:`JobView`, the one definition the Python client reads too."""
    fields = {name: getattr(job, name) for name in JobFacts.model_fields}
    return JobView(**fields).model_dump(mode="json", exclude={"url", "stream"})


def progress_frame(job: JobState) -> dict[str, Any]:
    """A non-persisted ``progress`` frame of a job (session and job WebSocket streams)."""
    frame: dict[str, Any] = {
        "type": "progress",
        "stream": "render",
        "job_id": job.job_id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
    }
    if job.status == "done":
        frame["result"] = job.result
    elif job.status == "failed":
        frame["error"] = None if job.error is None else job.error.model_dump()
    return frame


# ---------------------------------------------------------------------------- the store


class _Index:
    """One index stream's fold, kept current, snapshotted every few events."""

    def __init__(self, journal: Journal, stream_id: str) -> None:
        self.journal = journal
        self.stream_id = stream_id
        self._state: JobIndexState | None = None
        self._lock = threading.Lock()

    def state(self) -> JobIndexState:
        with self._lock:
            state = self._state
            if state is None:
                state = load_state(self.journal, self.stream_id, job_index_folder)
            else:
                records = self.journal.read(self.stream_id, state.version + 1)
                if records:
                    state = job_index_folder.fold(state, records)
            previous = 0 if self._state is None else self._state.version
            self._state = state
        if state.version // INDEX_SNAPSHOT_EVERY > previous // INDEX_SNAPSHOT_EVERY:
            save_snapshot(self.journal, self.stream_id, state)
        return state

    def list_job(self, job_id: str, owner: str | None, limit: int | None, now: float) -> None:
        """Append ``JobListed``. With an ``owner`` and a ``limit``, only while the owner has
        fewer than ``limit`` listed jobs, checked at the version the count was made at (a
        listing by anyone else in between makes it count again), so replicas listing at the
        same time never go over together."""
        listed = [JobListed(job_id=job_id, owner=owner)]
        if owner is None or limit is None:
            self.journal.append(self.stream_id, listed, ANY, recorded_at=now)
            return
        for _ in range(_CONFLICT_RETRIES):
            state = self.state()
            if state.owned_by(owner) >= limit:
                raise JobQuotaExceeded(limit)
            expected = state.version if state.version else NO_STREAM
            try:
                self.journal.append(self.stream_id, listed, expected, recorded_at=now)
                return
            except VersionConflict:
                continue
        raise JournalError(f"{self.stream_id}: too many concurrent listings, try again")


class JobStore:
    """A tenant's render jobs in the journal; any process may hold one (ingress, renderer)."""

    def __init__(
        self,
        journal: Journal,
        tenant: str,
        clock: Callable[[], float] = time.time,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        self.journal = journal
        self.tenant = tenant
        self.clock = clock
        self.stale_after_s = stale_after_s
        self.open_index = _Index(journal, open_jobs_stream_id(tenant))
        self._cache: OrderedDict[str, JobState] = OrderedDict()
        self._lock = threading.Lock()

    def stream(self, job_id: str) -> str:
        return job_stream_id(self.tenant, job_id)

    def session_stream(self, session_id: str) -> str:
        return session_jobs_stream_id(self.tenant, session_id)

    # ------------------------------------------------------------------ creating and reading

    def create(
        self,
        kind: JobKind,
        payload: dict[str, Any],
        worker: str,
        *,
        session_id: str | None = None,
        avatar_id: str | None = None,
        owner: str | None = None,
        max_open: int | None = None,
    ) -> JobState:
        """A new job, claimed for its first attempt by ``worker`` (who will hand it out).

        ``owner`` (an API key id) with ``max_open``: refused with :class:`JobQuotaExceeded`
        when that key already has ``max_open`` jobs open; nothing is written then.

        The indexes are written first: an index entry whose job was never written (a crash in
        between) is skipped by readers and dropped by the sweep; a job missing from the open
        index could never be rescued.
        """
        job_id = f"job-{uuid.uuid4().hex}"
        now = self.clock()
        self.open_index.list_job(job_id, owner, max_open, now)
        if session_id is not None:
            listed = JobListed(job_id=job_id)
            self.journal.append(self.session_stream(session_id), [listed], ANY, recorded_at=now)
        queued = JobQueued(
            job_id=job_id, kind=kind, payload=payload, session_id=session_id, avatar_id=avatar_id
        )
        claimed = JobClaimed(worker=worker, attempt=1)
        self.journal.append(self.stream(job_id), [queued, claimed], NO_STREAM, recorded_at=now)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> JobState | None:
        """The job as recorded now; ``None`` for an unknown (or malformed) id."""
        if not _JOB_ID.match(job_id):
            return None
        with self._lock:
            cached = self._cache.get(job_id)
        base = cached if cached is not None else job_folder.initial()
        records = self.journal.read(self.stream(job_id), base.version + 1)
        job = job_folder.fold(base, records) if records else base
        if job.version == 0:
            return None
        with self._lock:
            current = self._cache.get(job_id)
            if current is None or current.version < job.version:
                self._cache[job_id] = job
            self._cache.move_to_end(job_id)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return job

    def session_job_ids(self, session_id: str) -> list[str]:
        """Ids of the jobs made for ``session_id``, oldest first (reads only its index)."""
        records = self.journal.read(self.session_stream(session_id))
        return job_index_folder.fold(job_index_folder.initial(), records).job_ids

    def for_session(self, session_id: str) -> list[JobState]:
        """The jobs made for ``session_id`` (replays), oldest first."""
        jobs = (self.get(job_id) for job_id in self.session_job_ids(session_id))
        return [j for j in jobs if j is not None]

    def open_job_ids(self) -> list[str]:
        """Jobs not known to have ended (from the open-jobs index), oldest first."""
        return self.open_index.state().job_ids

    # ------------------------------------------------------------------ orphans

    def is_orphaned(self, job: JobState) -> bool:
        return is_orphaned(job, self.clock(), self.stale_after_s)

    def orphaned(self) -> list[JobState]:
        """Open jobs nobody has recorded anything for in the liveness window.

        Reads the open-jobs index and the streams of the jobs it lists, nothing else; entries
        of jobs that ended (or were never written) are dropped from the index on the way.
        """
        index = self.open_index.state()
        now = self.clock()
        out = []
        for job_id in index.job_ids:
            job = self.get(job_id)
            if job is None:
                if now - index.listed[job_id] > self.stale_after_s:
                    self._unlist(job_id)  # its creator died before writing it
            elif job.finished:
                self._unlist(job_id)  # whoever ended it died before unlisting it
            elif is_orphaned(job, now, self.stale_after_s):
                out.append(job)
        return out

    def take_over(
        self, job_id: str, worker: str, lost_attempt: int | None = None
    ) -> JobState | None:
        """Claim the next attempt of an orphaned job for ``worker``; ``None`` when the job is
        alive, finished, claimed by someone else first, or given up (``render_abandoned``).

        ``lost_attempt``: the caller drove that attempt and knows its renderer is gone (the
        replica died, with its node say): the job is taken over at once if that attempt is
        still its current one, without waiting for it to go quiet."""
        for _ in range(_CONFLICT_RETRIES):
            job = self.get(job_id)
            if job is None:
                return None
            now = self.clock()
            lost = lost_attempt is not None and job.attempts == lost_attempt
            stale_after_s = -1.0 if lost else self.stale_after_s
            events = decide_take_over(job, now, worker, stale_after_s)
            if not events:
                return None
            try:
                self.journal.append(self.stream(job_id), events, job.version, recorded_at=now)
            except VersionConflict:
                continue  # someone wrote first: read what they did and decide again
            if isinstance(events[0], JobFailed):
                log.warning("render job %s abandoned after %d attempts", job_id, job.attempts)
                self._unlist(job_id)
                return None
            return self.get(job_id)
        return None

    def attempt(self, job_id: str, number: int) -> JobAttempt:
        return JobAttempt(self, job_id, number)

    def _unlist(self, job_id: str) -> None:
        """Drop a job from the open-jobs index (best effort: the sweep does it otherwise)."""
        try:
            self.journal.append(
                self.open_index.stream_id,
                [JobUnlisted(job_id=job_id)],
                ANY,
                recorded_at=self.clock(),
            )
        except JournalError as e:
            log.warning("could not unlist render job %s: %s", job_id, e)


class JobAttempt:
    """Writes on behalf of one attempt of a job, refused once it is not the current one."""

    def __init__(self, store: JobStore, job_id: str, number: int) -> None:
        self.store = store
        self.job_id = job_id
        self.number = number

    def current(self) -> JobState:
        """The job, if this attempt still holds it; else :class:`ClaimLost`."""
        job = self.store.get(self.job_id)
        if job is None or job.finished or job.attempts != self.number:
            raise ClaimLost(self.job_id, self.number, job)
        return job

    def record(self, event: Event, only_if: Callable[[JobState], bool] | None = None) -> JobState:
        """Append ``event`` at the version where this attempt holds the job (and ``only_if``
        holds); the job after it. Raises :class:`ClaimLost`."""
        store = self.store
        for _ in range(_CONFLICT_RETRIES):
            job = self.current()
            if only_if is not None and not only_if(job):
                raise ClaimLost(self.job_id, self.number, job)
            try:
                store.journal.append(
                    store.stream(self.job_id), [event], job.version, recorded_at=store.clock()
                )
            except VersionConflict:
                continue  # the attempt's other writer, or a take-over: check again
            after = store.get(self.job_id)
            assert after is not None
            if after.finished:
                store._unlist(self.job_id)
            return after
        raise ClaimLost(self.job_id, self.number, store.get(self.job_id))

    def start(self) -> JobState:
        """A renderer begins the attempt (only once: a second start is refused)."""
        return self.record(JobProgress(frames_done=0), only_if=lambda j: j.status == "queued")

    def progress(self, frames_done: int, frames_total: int | None) -> JobState:
        return self.record(JobProgress(frames_done=frames_done, frames_total=frames_total))

    def beat(self, worker: str, idle_s: float) -> JobState:
        """Show that the claimant is alive, unless something was recorded in ``idle_s``."""
        job = self.current()
        if job.updated_at is not None and self.store.clock() - job.updated_at < idle_s:
            return job
        return self.record(JobHeartbeat(worker=worker))

    def finish(self, result: dict[str, Any]) -> JobState:
        return self.record(JobFinished(result=result))

    def fail(self, code: str, message: str) -> JobState:
        return self.record(JobFailed(error=job_error(code, message)))

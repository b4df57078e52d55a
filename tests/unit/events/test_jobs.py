"""The job stream's fold (the view GET /jobs/{id} returns) and the job index fold."""

from __future__ import annotations

import pytest

from events.base import Event
from events.codec import encode_state, pack, unpack
from events.jobs import (
    JobClaimed,
    JobError,
    JobFailed,
    JobFinished,
    JobHeartbeat,
    JobIndexState,
    JobListed,
    JobProgress,
    JobQueued,
    JobState,
    JobUnlisted,
    job_folder,
    job_index_folder,
)
from events.records import RecordedEvent, SnapshotRecord
from events.replay import decode_snapshot

pytestmark = pytest.mark.timeout(10)

JOB = "job-" + "1" * 32
T0 = 1_000.0


def fold(*events: tuple[float, Event]) -> JobState:
    records = [
        RecordedEvent(i, f"job:t:{JOB}", i, e, at, {}) for i, (at, e) in enumerate(events, 1)
    ]
    return job_folder.fold(job_folder.initial(), records)


QUEUED = JobQueued(job_id=JOB, kind="replay", payload={"session_id": "s1"}, session_id="s1")


def test_a_new_job_is_queued_and_claimed_for_its_first_attempt() -> None:
    job = fold((T0, QUEUED), (T0, JobClaimed(worker="ingress:a:1", attempt=1)))
    assert (job.job_id, job.kind, job.status, job.attempts) == (JOB, "replay", "queued", 1)
    assert job.worker == "ingress:a:1" and job.session_id == "s1" and job.avatar_id is None
    assert job.created_at == T0 and job.started_at is None and job.progress == 0.0
    assert job.payload == {"session_id": "s1"} and not job.finished
    assert job.version == 2 and job.updated_at == T0


def test_progress_runs_the_job_and_the_end_finishes_it() -> None:
    claimed = JobClaimed(worker="w", attempt=1)
    started = fold((T0, QUEUED), (T0, claimed), (T0 + 2, JobProgress(frames_done=0)))
    assert started.status == "running" and started.started_at == T0 + 2
    job = fold(
        (T0, QUEUED),
        (T0, claimed),
        (T0 + 2, JobProgress(frames_done=0)),
        (T0 + 3, JobHeartbeat(worker="w")),
        (T0 + 4, JobProgress(frames_done=18, frames_total=72)),
    )
    assert job.status == "running" and job.started_at == T0 + 2  # set once per attempt
    assert (job.frames_done, job.frames_total, job.progress) == (18, 72, 0.25)
    assert job.updated_at == T0 + 4  # the heartbeat and progress show life
    done = job_folder.apply(job, JobFinished(result={"frames": 72, "asset_id": "as-1"}), 6, T0 + 5)
    assert done.status == "done" and done.finished and done.finished_at == T0 + 5
    assert (done.progress, done.frames_done, done.frames_total) == (1.0, 72, 72)
    assert done.result == {"frames": 72, "asset_id": "as-1"}


def test_a_failure_keeps_its_error() -> None:
    error = JobError(status=404, code="session_not_found", message="no")
    job = fold(
        (T0, QUEUED), (T0, JobClaimed(worker="w", attempt=1)), (T0 + 1, JobFailed(error=error))
    )
    assert job.status == "failed" and job.error == error and job.finished_at == T0 + 1


def test_a_take_over_starts_the_attempt_afresh() -> None:
    job = fold(
        (T0, QUEUED),
        (T0, JobClaimed(worker="a", attempt=1)),
        (T0 + 1, JobProgress(frames_done=0)),
        (T0 + 2, JobProgress(frames_done=30, frames_total=72)),
        (T0 + 40, JobClaimed(worker="b", attempt=2)),
    )
    assert (job.status, job.attempts, job.worker) == ("queued", 2, "b")
    assert (job.progress, job.frames_done, job.frames_total, job.started_at) == (0, 0, None, None)


def test_the_index_lists_ids_once_in_order_and_unlists_them() -> None:
    a, b, c = ("job-" + ch * 32 for ch in "abc")
    events = [
        JobListed(job_id=b),
        JobListed(job_id=a),
        JobListed(job_id=c),
        JobListed(job_id=b),  # listed again: no change
        JobUnlisted(job_id=a),
        JobUnlisted(job_id="job-" + "f" * 32),  # never listed: no change
    ]
    records = [RecordedEvent(i, "open-jobs:t", i, e, T0 + i, {}) for i, e in enumerate(events, 1)]
    state = job_index_folder.fold(JobIndexState(), records)
    assert state.job_ids == [b, c] and state.listed[b] == T0 + 1 and state.version == 6


#: A snapshot of a failed job exactly as ``JobState`` wrote it before ``JobFacts`` existed.
STORED_SNAPSHOT: dict[str, object] = {
    "version": 5,
    "updated_at": 1004.0,
    "job_id": JOB,
    "kind": "replay",
    "status": "failed",
    "progress": 0.25,
    "frames_done": 18,
    "frames_total": 72,
    "created_at": 1000.0,
    "started_at": 1002.0,
    "finished_at": 1004.0,
    "result": None,
    "error": {"status": 404, "code": "session_not_found", "message": "no"},
    "attempts": 1,
    "worker": "ingress:a",
    "session_id": "s1",
    "avatar_id": None,
    "payload": {"session_id": "s1", "options": {"format": "webm"}},
}


def test_a_stored_job_snapshot_still_loads_and_equals_the_fold() -> None:
    record = SnapshotRecord(f"job:t:{JOB}", 5, "JobState", 1, pack(STORED_SNAPSHOT), T0)
    loaded = decode_snapshot(record, job_folder)
    folded = fold(
        (T0, QUEUED.model_copy(update={"payload": STORED_SNAPSHOT["payload"]})),
        (T0, JobClaimed(worker="ingress:a", attempt=1)),
        (T0 + 2, JobProgress(frames_done=0)),
        (T0 + 3, JobProgress(frames_done=18, frames_total=72)),
        (T0 + 4, JobFailed(error=JobError(status=404, code="session_not_found", message="no"))),
    )
    assert loaded == folded and loaded.finished
    assert unpack(encode_state(folded)) == STORED_SNAPSHOT  # and it is written the same way

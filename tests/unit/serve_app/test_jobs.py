"""The render job streams' claim protocol against real journals (every backend of
``tests/journals.py``): claims, racing claimants, liveness and take-over on a fake clock,
abandonment after three attempts, and the indexes that keep listings and sweeps small."""

from __future__ import annotations

import threading

import pytest

from events import Journal, VersionConflict
from events.jobs import JobClaimed, JobIndexState, JobProgress
from serve_app.rendering.jobs import (
    INDEX_SNAPSHOT_EVERY,
    MAX_ATTEMPTS,
    STALE_AFTER_S,
    ClaimLost,
    JobQuotaExceeded,
    JobStore,
    decide_take_over,
    job_view,
    progress_frame,
)
from tests.fakes import Clock
from tests.journals import Opener

pytestmark = pytest.mark.timeout(60)

PAYLOAD = {"session_id": "s1", "options": {}}


@pytest.fixture
def store(any_journal: Journal, clock: Clock) -> JobStore:
    return JobStore(any_journal, "t", clock)


def other_replica(open_journal_handle: Opener, clock: Clock) -> JobStore:
    """Another process's store: its own journal handle on the same storage."""
    return JobStore(open_journal_handle(), "t", clock)


def test_a_job_is_created_claimed_by_its_creator(store: JobStore, clock: Clock) -> None:
    job = store.create("replay", PAYLOAD, "ingress:a", session_id="s1")
    assert (job.status, job.attempts, job.worker) == ("queued", 1, "ingress:a")
    assert store.journal.read(store.stream(job.job_id))[0].event.type == "JobQueued"
    view = job_view(job)
    assert view["status"] == "queued" and view["attempts"] == 1 and view["progress"] == 0.0
    assert view["session_id"] == "s1" and view["created_at"] == clock.now
    assert "payload" not in view and "worker" not in view
    assert store.get("job-" + "0" * 32) is None and store.get("../../x") is None


def test_an_attempt_runs_to_its_end(store: JobStore, clock: Clock) -> None:
    job = store.create("replay", PAYLOAD, "ingress:a", session_id="s1")
    work = store.attempt(job.job_id, 1)
    clock.now += 1
    assert work.start().status == "running"
    with pytest.raises(ClaimLost):
        work.start()  # a second renderer for the same attempt is refused
    assert work.progress(36, 72).progress == 0.5
    done = work.finish({"frames": 72, "asset_id": "as-1"})
    assert done.status == "done" and done.frames_done == 72 and done.finished_at == clock.now
    assert progress_frame(done)["result"] == {"frames": 72, "asset_id": "as-1"}
    with pytest.raises(ClaimLost):
        work.progress(72, 72)  # nothing is written after the end
    assert store.open_job_ids() == []  # the end unlists it


def test_two_claimants_that_read_the_same_version_cannot_both_win(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    other = other_replica(open_journal_handle, clock)
    job = store.create("replay", PAYLOAD, "ingress:a")
    clock.now += STALE_AFTER_S + 1
    seen_a, seen_b = store.get(job.job_id), other.get(job.job_id)
    assert seen_a is not None and seen_b is not None and seen_a.version == seen_b.version
    claim_a = decide_take_over(seen_a, clock.now, "ingress:b")
    claim_b = decide_take_over(seen_b, clock.now, "ingress:c")
    assert claim_a == [JobClaimed(worker="ingress:b", attempt=2, event_id=claim_a[0].event_id)]
    store.journal.append(store.stream(job.job_id), claim_a, seen_a.version)
    with pytest.raises(VersionConflict):
        other.journal.append(other.stream(job.job_id), claim_b, seen_b.version)
    assert other.take_over(job.job_id, "ingress:c") is None  # reads again: alive, claimed
    final = other.get(job.job_id)
    assert final is not None and (final.attempts, final.worker) == (2, "ingress:b")


def test_many_racing_claimants_exactly_one_wins(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    job = store.create("replay", PAYLOAD, "ingress:a")
    clock.now += STALE_AFTER_S + 1
    replicas = [other_replica(open_journal_handle, clock) for _ in range(6)]
    start = threading.Barrier(len(replicas))
    won: list[str] = []

    def claim(i: int) -> None:
        start.wait()
        if replicas[i].take_over(job.job_id, f"ingress:{i}") is not None:
            won.append(f"ingress:{i}")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(replicas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    final = store.get(job.job_id)
    assert final is not None and (final.attempts, final.worker) == (2, won[0])
    claims = [r for r in store.journal.read(store.stream(job.job_id)) if r.type == "JobClaimed"]
    assert len(claims) == 2


def test_a_silent_claim_is_taken_over_after_the_liveness_window(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    other = other_replica(open_journal_handle, clock)
    job = store.create("replay", PAYLOAD, "ingress:a")
    first = store.attempt(job.job_id, 1)
    first.start()
    clock.now += STALE_AFTER_S - 1
    assert other.orphaned() == [] and other.take_over(job.job_id, "ingress:b") is None
    first.beat("ingress:a", idle_s=5)  # the waiting claimant shows life
    clock.now += STALE_AFTER_S - 1
    assert other.orphaned() == []
    first.progress(10, 100)  # and so does the renderer
    clock.now += STALE_AFTER_S + 1
    assert [j.job_id for j in other.orphaned()] == [job.job_id]
    taken = other.take_over(job.job_id, "ingress:b")
    assert taken is not None and (taken.status, taken.attempts, taken.progress) == ("queued", 2, 0)
    assert other.orphaned() == []  # the claim is a sign of life
    # the old attempt wakes up: every write it tries is refused, so its renderer stops
    for write in (first.start, lambda: first.progress(11, 100), lambda: first.finish({})):
        with pytest.raises(ClaimLost) as lost:
            write()
        assert lost.value.job is not None and lost.value.job.attempts == 2
    second = other.attempt(job.job_id, 2)
    second.start()
    assert second.finish({"frames": 3}).status == "done"


def test_heartbeats_only_when_the_stream_is_quiet(store: JobStore, clock: Clock) -> None:
    job = store.create("replay", PAYLOAD, "ingress:a")
    work = store.attempt(job.job_id, 1)
    assert work.beat("ingress:a", idle_s=5).version == 2  # something recorded just now
    clock.now += 5
    assert work.beat("ingress:a", idle_s=5).version == 3
    assert store.journal.read(store.stream(job.job_id))[-1].type == "JobHeartbeat"


def test_three_attempts_then_render_abandoned(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    other = other_replica(open_journal_handle, clock)
    job = store.create("replay", PAYLOAD, "ingress:a")
    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.now += STALE_AFTER_S + 1
        taken = other.take_over(job.job_id, "ingress:b")
        assert taken is not None and taken.attempts == attempt
    clock.now += STALE_AFTER_S + 1
    assert other.take_over(job.job_id, "ingress:b") is None  # a fourth: given up
    final = store.get(job.job_id)
    assert final is not None and final.status == "failed" and final.attempts == MAX_ATTEMPTS
    assert final.error is not None and final.error.code == "render_abandoned"
    assert store.open_job_ids() == [] and other.orphaned() == []
    clock.now += STALE_AFTER_S + 1
    assert other.take_over(job.job_id, "ingress:b") is None  # finished jobs stay finished


def test_a_lost_attempt_is_taken_over_at_once_but_only_while_it_is_current(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    """The ingress that drove attempt 1 saw its renderer replica die: it claims attempt 2 at
    once (no liveness window); a late report of the same loss claims nothing more."""
    other = other_replica(open_journal_handle, clock)
    job = store.create("replay", PAYLOAD, "ingress:a")
    store.attempt(job.job_id, 1).start()
    assert other.take_over(job.job_id, "ingress:b") is None  # alive: nobody else may take it
    taken = store.take_over(job.job_id, "ingress:a", lost_attempt=1)
    assert taken is not None and taken.attempts == 2 and taken.worker == "ingress:a"
    assert store.take_over(job.job_id, "ingress:a", lost_attempt=1) is None  # not current now
    with pytest.raises(ClaimLost):
        store.attempt(job.job_id, 1).progress(1, 2)  # the lost attempt writes nothing more
    done = store.attempt(job.job_id, 2).finish({"frames": 2})
    assert done.status == "done" and done.attempts == 2
    assert store.take_over(job.job_id, "ingress:a", lost_attempt=2) is None  # ended


def test_only_open_jobs_are_swept(store: JobStore, clock: Clock) -> None:
    finished = [store.create("sequence", {}, "ingress:a") for _ in range(3)]
    for job in finished:
        work = store.attempt(job.job_id, 1)
        work.start()
        work.fail("render_failed", "boom")
    running = store.create("sequence", {}, "ingress:a")
    assert store.open_job_ids() == [running.job_id]
    # a job that ended without being unlisted (its worker died in between) is dropped by a sweep
    work = store.attempt(running.job_id, 1)
    store.journal.append(store.stream(running.job_id), [JobProgress(frames_done=0)], 2)
    assert store.get(running.job_id) is not None
    work.finish({"frames": 1})
    assert store.open_job_ids() == []
    # an index entry whose job was never written goes once the liveness window has passed
    from events.jobs import JobListed

    ghost = "job-" + "9" * 32
    store.journal.append(store.open_index.stream_id, [JobListed(job_id=ghost)])
    assert store.orphaned() == [] and store.open_job_ids() == [ghost]
    clock.now += STALE_AFTER_S + 1
    assert store.orphaned() == [] and store.open_job_ids() == []


def test_the_open_index_is_read_from_a_snapshot(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    for _ in range(INDEX_SNAPSHOT_EVERY // 2 + 1):
        job = store.create("sequence", {}, "ingress:a")
        store.attempt(job.job_id, 1).fail("render_failed", "boom")
        store.open_job_ids()
    last = store.create("sequence", {}, "ingress:a")
    assert store.open_job_ids() == [last.job_id]
    snapshot = store.journal.load_snapshot(store.open_index.stream_id)
    assert snapshot is not None and snapshot.version >= INDEX_SNAPSHOT_EVERY
    fresh = other_replica(open_journal_handle, clock)  # a new process: snapshot + short tail
    assert fresh.open_job_ids() == [last.job_id]


def test_a_sessions_jobs_are_listed_from_its_own_index(store: JobStore) -> None:
    a = store.create("replay", PAYLOAD, "ingress:a", session_id="s1")
    store.create("replay", PAYLOAD, "ingress:a", session_id="s2")
    store.create("sequence", {}, "ingress:a", avatar_id="ada")
    b = store.create("replay", PAYLOAD, "ingress:a", session_id="s1")
    assert store.session_job_ids("s1") == [a.job_id, b.job_id]
    assert [j.job_id for j in store.for_session("s1")] == [a.job_id, b.job_id]
    assert store.for_session("nobody") == []
    assert progress_frame(store.for_session("s1")[0])["type"] == "progress"


async def test_the_sweep_restarts_only_orphans_of_the_open_index(
    store: JobStore, clock: Clock
) -> None:
    """A replica's sweep (no Ray here: the app has no renderer, so a restarted attempt fails
    with 503 at once) takes over the silent job and leaves the live and the finished ones."""
    import asyncio

    from serve_app.rendering.driver import JobDriver

    silent = store.create("replay", PAYLOAD, "ingress:a")
    live = store.create("replay", PAYLOAD, "ingress:a")
    ended = store.create("replay", PAYLOAD, "ingress:a")
    store.attempt(ended.job_id, 1).fail("render_failed", "boom")
    clock.now += STALE_AFTER_S + 1
    store.attempt(live.job_id, 1).beat("ingress:a", idle_s=0)
    driver = JobDriver(store, renderer=None, worker="ingress:b")
    try:
        assert await driver.sweep() == 1
        async with asyncio.timeout(10):
            while (job := store.get(silent.job_id)) is None or not job.finished:
                await asyncio.sleep(0.01)
        assert (job.attempts, job.worker, job.status) == (2, "ingress:b", "failed")
        assert job.error is not None and job.error.status == 503
        assert await driver.sweep() == 0
        assert store.open_job_ids() == [live.job_id]
    finally:
        await driver.aclose()


# ---------------------------------------------------------------------------- quota per key


def test_a_key_holds_at_most_its_quota_of_open_jobs(store: JobStore) -> None:
    first = store.create("sequence", {}, "ingress:a", owner="key-a", max_open=2)
    store.create("sequence", {}, "ingress:a", owner="key-a", max_open=2)
    listed = store.open_job_ids()
    with pytest.raises(JobQuotaExceeded) as refused:
        store.create("sequence", {}, "ingress:a", owner="key-a", max_open=2)
    assert refused.value.limit == 2 and refused.value.code == "render_quota"
    assert store.open_job_ids() == listed  # nothing written for the refused one
    store.create("sequence", {}, "ingress:a", owner="key-b", max_open=2)  # its own count
    store.create("sequence", {}, "ingress:a")  # no key (no auth): no count
    store.attempt(first.job_id, 1).fail("render_failed", "boom")  # ended: room again
    store.create("sequence", {}, "ingress:a", owner="key-a", max_open=2)
    assert store.open_index.state().owned_by("key-a") == 2


def test_replicas_creating_at_once_never_go_over_a_keys_quota(
    store: JobStore, open_journal_handle: Opener, clock: Clock
) -> None:
    replicas = [other_replica(open_journal_handle, clock) for _ in range(6)]
    start = threading.Barrier(len(replicas))
    made: list[str] = []
    refused: list[int] = []

    def create(i: int) -> None:
        start.wait()
        try:
            job = replicas[i].create("sequence", {}, f"ingress:{i}", owner="k", max_open=3)
            made.append(job.job_id)
        except JobQuotaExceeded:
            refused.append(i)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(replicas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(made) == 3 and len(refused) == 3
    assert sorted(store.open_job_ids()) == sorted(made)


def test_an_open_index_snapshot_of_before_owners_still_loads(store: JobStore) -> None:
    """Snapshots written before jobs had owners have no ``owners`` field."""
    state = JobIndexState.model_validate({"listed": {"job-1": 1.0}, "version": 1})
    assert state.job_ids == ["job-1"] and state.owned_by("k") == 0

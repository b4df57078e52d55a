"""The journal contract: one abstract suite that every backend's test module subclasses.

Subclasses implement :meth:`JournalContract.create_journal` and
:meth:`JournalContract.hold_append`. Backends that persist across processes also subclass
:class:`DurableJournalContract` and implement :meth:`journal_url`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pytest

from events import (
    ANY,
    NO_STREAM,
    EventRejected,
    Journal,
    SnapshotRecord,
    VersionConflict,
    open_journal,
)
from events.avatar import AnimationTriggered, EmotionSet
from events.base import Event
from events.journal import AppendRequest

WORKER = Path(__file__).with_name("journal_worker.py")


def ev(i: int = 0) -> Event:
    return EmotionSet(emotion="happy", intensity=(i % 100) / 100)


def snap(stream: str, version: int, state: bytes = b"s") -> SnapshotRecord:
    return SnapshotRecord(stream, version, "AvatarState", 1, state + str(version).encode(), 1.0)


class HeldAppend(ABC):
    """An append made in a transaction of its own that stays open until :meth:`commit`."""

    @abstractmethod
    def commit(self) -> list[int]:
        """Commit the held transaction; return the positions its events got."""


class AppendOnCommit(HeldAppend):
    """For a backend without transactions to hold: the append happens at ``commit()``."""

    def __init__(self, journal: Journal, stream_id: str, events: list[Event]) -> None:
        self.journal, self.stream_id, self.events = journal, stream_id, events

    def commit(self) -> list[int]:
        return self.journal.append(self.stream_id, self.events)


class JournalContract(ABC):
    """Promises every journal keeps."""

    @abstractmethod
    def create_journal(self) -> Journal: ...

    @abstractmethod
    def hold_append(self, journal: Journal, stream_id: str, events: list[Event]) -> HeldAppend:
        """Append ``events`` to ``stream_id`` through a second connection of ``journal``'s
        storage, with the backend's own append code, and keep that transaction open (positions
        taken, locks held, nothing committed) until ``commit()``.

        This is how the contract makes a lower position commit after a higher one could. A
        backend without transactions (memory) may simply append when ``commit()`` is called.
        """

    @pytest.fixture
    def journal(self) -> Iterator[Journal]:
        j = self.create_journal()
        yield j
        j.close()

    def write(self, journal: Journal, stream: str, n: int) -> list[Event]:
        events = [ev(i) for i in range(n)]
        for e in events:
            journal.append(stream, [e])
        return events

    # ---------------------------------------------------------- append and versions

    def test_append_returns_consecutive_positions(self, journal: Journal) -> None:
        assert journal.append("s-1", [ev(1), ev(2)], NO_STREAM) == [1, 2]
        assert journal.append("s-2", [ev(3)], NO_STREAM) == [3]
        assert journal.append("s-1", [ev(4)], 2) == [4]
        assert journal.highest_version("s-1") == 3
        assert journal.last_position() == 4

    def test_records_carry_everything(self, journal: Journal) -> None:
        e = AnimationTriggered(name="nod", loop=True, duration_ms=800, intensity=0.4)
        journal.append("s-1", [e], NO_STREAM, metadata={"correlation_id": "c-1"})
        [r] = journal.read("s-1")
        assert r.event == e and r.event_id == e.event_id
        assert (r.stream_id, r.version, r.global_position) == ("s-1", 1, 1)
        assert r.metadata == {"correlation_id": "c-1"}
        assert r.recorded_at > 0
        assert r.to_json()["data"]["name"] == "nod"

    @pytest.mark.parametrize(
        ("expected", "ok"),
        [(NO_STREAM, False), (ANY, True), (0, False), (1, False), (2, True), (3, False)],
    )
    def test_expected_version_matrix_existing_stream(
        self, journal: Journal, expected: object, ok: bool
    ) -> None:
        journal.append("s-1", [ev(1), ev(2)], NO_STREAM)
        if ok:
            assert journal.append("s-1", [ev(3)], expected) == [3]  # type: ignore[arg-type]
            assert journal.highest_version("s-1") == 3
        else:
            with pytest.raises(VersionConflict) as info:
                journal.append("s-1", [ev(3)], expected)  # type: ignore[arg-type]
            assert info.value.actual == 2
            assert journal.highest_version("s-1") == 2
            assert journal.last_position() == 2

    @pytest.mark.parametrize(
        ("expected", "ok"), [(NO_STREAM, True), (ANY, True), (0, True), (1, False)]
    )
    def test_expected_version_matrix_new_stream(
        self, journal: Journal, expected: object, ok: bool
    ) -> None:
        if ok:
            assert journal.append("s-new", [ev()], expected) == [1]  # type: ignore[arg-type]
        else:
            with pytest.raises(VersionConflict):
                journal.append("s-new", [ev()], expected)  # type: ignore[arg-type]
            assert journal.highest_version("s-new") == 0

    def test_conflicting_batch_writes_nothing(self, journal: Journal) -> None:
        journal.append("s-1", [ev(1)], NO_STREAM)
        with pytest.raises(VersionConflict):
            journal.append("s-1", [ev(2), ev(3), ev(4)], 0)
        assert [r.version for r in journal.read("s-1")] == [1]
        assert journal.last_position() == 1
        assert journal.read_all() == journal.read("s-1")

    def test_idempotent_resend_returns_original_positions(self, journal: Journal) -> None:
        journal.append("s-0", [ev()], NO_STREAM)
        batch = [ev(1), ev(2)]
        first = journal.append("s-1", batch, NO_STREAM)
        journal.append("s-1", [ev(3)], 2)
        assert journal.append("s-1", batch, NO_STREAM) == first
        assert journal.highest_version("s-1") == 3
        assert journal.last_position() == 4

    def test_idempotent_resend_under_any(self, journal: Journal) -> None:
        batch = [ev(1)]
        first = journal.append("s-1", batch, ANY)
        assert journal.append("s-1", batch, ANY) == first
        assert journal.highest_version("s-1") == 1

    def test_resend_with_different_expectation_conflicts(self, journal: Journal) -> None:
        batch = [ev(1)]
        journal.append("s-1", [ev(0)], NO_STREAM)
        journal.append("s-1", batch, 1)
        with pytest.raises(VersionConflict):
            journal.append("s-1", batch, 0)
        assert journal.highest_version("s-1") == 2

    def test_different_batch_with_same_expectation_conflicts(self, journal: Journal) -> None:
        journal.append("s-1", [ev(1)], NO_STREAM)
        with pytest.raises(VersionConflict):
            journal.append("s-1", [ev(2)], NO_STREAM)
        assert journal.highest_version("s-1") == 1

    def test_partially_recorded_batch_is_rejected(self, journal: Journal) -> None:
        a, b = ev(1), ev(2)
        journal.append("s-1", [a], NO_STREAM)
        with pytest.raises(EventRejected):
            journal.append("s-1", [a, b], ANY)
        assert journal.highest_version("s-1") == 1

    def test_a_long_batch_is_one_atomic_append(self, journal: Journal) -> None:
        """Thousands of events in one append (backends may split the statement) get
        consecutive positions; one recorded id at its end leaves all of it unwritten."""
        journal.append("s-0", [ev()], NO_STREAM)
        recorded = ev(1)
        journal.append("s-1", [recorded], NO_STREAM)
        long = [ev(i) for i in range(1234)]
        with pytest.raises(EventRejected):
            journal.append("s-2", [*long, recorded], NO_STREAM)
        assert journal.highest_version("s-2") == 0 and journal.last_position() == 2
        positions = journal.append("s-2", long, NO_STREAM)
        assert positions == list(range(3, 3 + 1234))
        assert [r.version for r in journal.read("s-2")] == list(range(1, 1235))
        assert journal.append("s-2", long, NO_STREAM) == positions  # a resend: the same ones

    def test_event_id_from_another_stream_is_rejected(self, journal: Journal) -> None:
        e = ev(1)
        journal.append("s-1", [e], NO_STREAM)
        with pytest.raises(EventRejected):
            journal.append("s-2", [e], NO_STREAM)
        assert journal.highest_version("s-2") == 0

    def test_rejections_are_not_retryable(self, journal: Journal) -> None:
        with pytest.raises(EventRejected) as info:
            journal.append("s-1", [], ANY)
        assert info.value.retryable is False
        with pytest.raises(EventRejected):
            journal.append("bad stream id!", [ev()], ANY)
        e = ev()
        with pytest.raises(EventRejected):
            journal.append("s-1", [e, e], ANY)
        assert journal.last_position() == 0

    # ---------------------------------------------------------- JournalSpec replay cases

    @pytest.fixture
    def five(self, journal: Journal) -> Journal:
        self.write(journal, "p-1", 5)
        return journal

    @staticmethod
    def versions(journal: Journal, *args: int | None, **kw: int | None) -> list[int]:
        return [r.version for r in journal.read("p-1", *args, **kw)]  # type: ignore[arg-type]

    def test_replay_all(self, five: Journal) -> None:
        assert self.versions(five) == [1, 2, 3, 4, 5]

    def test_replay_with_lower_bound(self, five: Journal) -> None:
        assert self.versions(five, 3) == [3, 4, 5]

    def test_replay_with_upper_bound_keeps_highest(self, five: Journal) -> None:
        assert self.versions(five, 1, 3) == [1, 2, 3]
        assert five.highest_version("p-1") == 5

    def test_replay_with_max(self, five: Journal) -> None:
        assert self.versions(five, 1, None, max_count=2) == [1, 2]

    def test_replay_with_range(self, five: Journal) -> None:
        assert self.versions(five, 2, 3) == [2, 3]
        assert self.versions(five, 2, 4, max_count=2) == [2, 3]
        assert self.versions(five, 5, 5) == [5]

    def test_replay_max_zero_gives_nothing_but_highest(self, five: Journal) -> None:
        assert self.versions(five, 1, None, max_count=0) == []
        assert five.highest_version("p-1") == 5

    def test_replay_from_greater_than_to_gives_nothing(self, five: Journal) -> None:
        assert self.versions(five, 3, 2) == []
        assert five.highest_version("p-1") == 5

    def test_replay_beyond_end_gives_nothing(self, five: Journal) -> None:
        assert self.versions(five, 6) == []

    def test_unknown_stream_has_highest_zero(self, journal: Journal) -> None:
        assert journal.highest_version("nobody") == 0
        assert journal.read("nobody") == []

    def test_delete_up_to_then_replay(self, five: Journal) -> None:
        five.delete_up_to("p-1", 3)
        assert self.versions(five) == [4, 5]
        assert self.versions(five, 1, 4) == [4]
        assert five.highest_version("p-1") == 5

    def test_highest_kept_after_deleting_all(self, five: Journal) -> None:
        five.delete_up_to("p-1", 5)
        assert self.versions(five) == []
        assert five.highest_version("p-1") == 5
        with pytest.raises(VersionConflict):
            five.append("p-1", [ev()], NO_STREAM)
        assert five.append("p-1", [ev()], 5) == [6]
        assert self.versions(five) == [6]

    def test_delete_beyond_highest_and_backwards(self, five: Journal) -> None:
        five.delete_up_to("p-1", 2)
        five.delete_up_to("p-1", 1)  # never resurrects
        assert self.versions(five) == [3, 4, 5]
        five.delete_up_to("p-1", 99)
        assert self.versions(five) == []
        five.append("p-1", [ev()], 5)
        assert self.versions(five) == [6]

    # ---------------------------------------------------------- global reads

    def test_read_all_in_position_order_with_bounds(self, journal: Journal) -> None:
        for i in range(6):
            journal.append(f"s-{i % 3}", [ev(i)])
        records = journal.read_all()
        assert [r.global_position for r in records] == [1, 2, 3, 4, 5, 6]
        assert [r.global_position for r in journal.read_all(2, 3)] == [3, 4, 5]
        assert journal.read_all(6) == []
        assert journal.read_all(0, 0) == []

    def test_read_heads_are_read_all_without_the_events(self, journal: Journal) -> None:
        for i in range(6):
            journal.append(f"s-{i % 3}", [ev(i)])
        heads = [(r.global_position, r.stream_id) for r in journal.read_all()]
        assert journal.read_heads() == heads
        assert journal.read_heads(2, 3) == heads[2:5]
        assert journal.read_heads(6) == []
        assert journal.read_heads(0, 0) == []

    async def test_heads_subscription_sees_new_events(self, journal: Journal) -> None:
        import asyncio

        journal.append("s-1", [ev()])
        seen: list[tuple[int, str]] = []

        async def consume() -> None:
            async for head in journal.subscribe_heads_async(0, poll_interval=0.01):
                seen.append(head)
                if len(seen) == 2:
                    return

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.05)
        journal.append("s-2", [ev()])
        await asyncio.wait_for(task, 10)
        assert seen == [(1, "s-1"), (2, "s-2")]

    def test_subscription_resumes_from_exclusive_position(self, journal: Journal) -> None:
        for i in range(5):
            journal.append("s-1", [ev(i)])
        stop = threading.Event()
        seen = []
        for record in journal.subscribe(2, poll_interval=0.01, stop=stop):
            seen.append(record.global_position)
            if len(seen) == 3:
                journal.append("s-2", [ev()])
            if len(seen) == 4:
                stop.set()
        assert seen == [3, 4, 5, 6]

    async def test_async_subscription_sees_new_events(self, journal: Journal) -> None:
        import asyncio

        journal.append("s-1", [ev()])
        seen = []

        async def consume() -> None:
            async for record in journal.subscribe_async(0, poll_interval=0.01):
                seen.append(record.global_position)
                if len(seen) == 3:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        journal.append("s-1", [ev(), ev()])
        await asyncio.wait_for(task, 5)
        assert seen == [1, 2, 3]

    def test_concurrent_writers_and_readers_see_every_position_once(self, journal: Journal) -> None:
        """8 writers x 200 appends with 2 concurrent read_all readers (threads here; processes
        in :class:`DurableJournalContract`)."""
        writers, per_writer = 8, 200

        def write(w: int) -> None:
            for v in range(per_writer):
                journal.append(f"w-{w}", [ev(v)], v)

        self.check_concurrent_reads(
            journal,
            writers * per_writer,
            lambda: [threading.Thread(target=write, args=(w,)) for w in range(writers)],
        )
        for w in range(writers):
            assert journal.highest_version(f"w-{w}") == per_writer

    def test_reader_never_skips_an_append_that_commits_late(self, journal: Journal) -> None:
        """Writer 1 holds its transaction open while writer 2 appends and a reader reads; then
        writer 1 commits. Tailing on from its last position, the reader sees writer 1's event:
        no position it passed over can be filled in later."""
        journal.append("s-0", [ev(0)])
        held_event, late_event = ev(1), ev(2)
        held = self.hold_append(journal, "s-held", [held_event])
        late: list[list[int]] = []
        errors: list[BaseException] = []

        def write() -> None:
            try:
                late.append(journal.append("s-late", [late_event]))
            except BaseException as e:  # surfaced below
                errors.append(e)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(0.5)  # writer 2 has committed by now, or waits behind writer 1
        first = journal.read_all(0)  # the reader must not wait for writer 1
        assert held_event.event_id not in {r.event_id for r in first}
        tail_from = first[-1].global_position
        held_positions = held.commit()
        writer.join(30)
        assert not writer.is_alive() and not errors, errors
        seen = first + journal.read_all(tail_from)
        assert [r.global_position for r in seen] == [1, 2, 3]
        position_of = {r.event_id: r.global_position for r in seen}
        assert [position_of[held_event.event_id]] == held_positions
        assert [position_of[late_event.event_id]] == late[0]
        assert journal.read("s-held")[0].event_id == held_event.event_id

    @staticmethod
    def check_concurrent_reads(journal: Journal, total: int, start_writers: object) -> None:
        results: list[list[int]] = [[], []]
        errors: list[BaseException] = []

        def read(into: list[int]) -> None:
            try:
                position = 0
                while len(into) < total:
                    for r in journal.read_all(position, 97):
                        into.append(r.global_position)
                        position = r.global_position
            except BaseException as e:  # surfaced below
                errors.append(e)

        readers = [threading.Thread(target=read, args=(r,)) for r in results]
        for t in readers:
            t.start()
        writers = start_writers()  # type: ignore[operator]
        for w in writers:
            if isinstance(w, threading.Thread):
                w.start()
        for w in writers:
            if isinstance(w, threading.Thread):
                w.join(120)
            else:
                _, err = w.communicate(timeout=120)
                assert w.returncode == 0, err
        for t in readers:
            t.join(60)
        assert not errors, errors
        expected = list(range(1, total + 1))
        assert results[0] == expected
        assert results[1] == expected

    # ---------------------------------------------------------- snapshots (SnapshotStoreSpec)

    def test_snapshot_none_when_absent(self, journal: Journal) -> None:
        assert journal.load_snapshot("x-1") is None

    def test_snapshot_latest(self, journal: Journal) -> None:
        for v in (10, 20, 30):
            journal.save_snapshot(snap("x-1", v))
        loaded = journal.load_snapshot("x-1")
        assert loaded is not None and loaded.version == 30 and loaded.state == b"s30"

    def test_snapshot_at_or_below_version(self, journal: Journal) -> None:
        for v in (10, 20, 30):
            journal.save_snapshot(snap("x-1", v))
        at = journal.load_snapshot("x-1", 25)
        assert at is not None and at.version == 20
        exact = journal.load_snapshot("x-1", 20)
        assert exact is not None and exact.version == 20
        assert journal.load_snapshot("x-1", 9) is None

    def test_snapshot_overwrites_same_version(self, journal: Journal) -> None:
        journal.save_snapshot(snap("x-1", 10, b"old"))
        journal.save_snapshot(snap("x-1", 10, b"new"))
        loaded = journal.load_snapshot("x-1")
        assert loaded is not None and loaded.state == b"new10"
        assert journal.stats()["snapshots"] == 1

    def test_snapshot_keep_n(self, journal: Journal) -> None:
        for v in range(1, 6):
            journal.save_snapshot(snap("x-1", v), keep=2)
        assert journal.load_snapshot("x-1", 3) is None
        assert journal.load_snapshot("x-1", 4) is not None
        assert journal.stats()["snapshots"] == 2

    def test_snapshot_delete(self, journal: Journal) -> None:
        for v in (10, 20, 30):
            journal.save_snapshot(snap("x-1", v))
        journal.save_snapshot(snap("x-2", 10))
        journal.delete_snapshots("x-1", 20)
        loaded = journal.load_snapshot("x-1")
        assert loaded is not None and loaded.version == 30
        assert journal.load_snapshot("x-1", 29) is None
        journal.delete_snapshots("x-1")
        assert journal.load_snapshot("x-1") is None
        assert journal.load_snapshot("x-2") is not None

    def test_snapshots_are_per_stream(self, journal: Journal) -> None:
        journal.save_snapshot(snap("x-1", 10))
        assert journal.load_snapshot("x-2") is None

    def test_stats_count(self, journal: Journal) -> None:
        journal.append("s-1", [ev(), ev()])
        journal.append("s-2", [ev()])
        journal.save_snapshot(snap("s-1", 2))
        assert journal.stats() == {"streams": 2, "events": 3, "snapshots": 1}

    # ---------------------------------------------------------- group commit (append_batch)

    def test_batch_appends_each_in_order_with_its_own_positions(self, journal: Journal) -> None:
        journal.append("s-0", [ev()])
        out = journal.append_batch(
            [
                AppendRequest("s-1", [ev(1), ev(2)], NO_STREAM),
                AppendRequest("s-2", [ev(3)], NO_STREAM, {"k": "v"}),
                AppendRequest("s-1", [ev(4)], 2),  # sees the first append of the same batch
            ]
        )
        assert out == [[2, 3], [4], [5]]
        assert [r.version for r in journal.read("s-1")] == [1, 2, 3]
        assert journal.read("s-2")[0].metadata == {"k": "v"}
        assert [r.global_position for r in journal.read_all()] == [1, 2, 3, 4, 5]

    def test_a_conflict_or_rejection_fails_only_its_own_append(self, journal: Journal) -> None:
        journal.append("s-1", [ev()])
        first, second, third, fourth = journal.append_batch(
            [
                AppendRequest("s-2", [ev(1)], NO_STREAM),
                AppendRequest("s-1", [ev(2)], NO_STREAM),  # s-1 exists: a conflict
                AppendRequest("bad stream id!", [ev(3)]),  # refused before storage
                AppendRequest("s-3", [ev(4), ev(5)], 0),
            ]
        )
        assert isinstance(second, VersionConflict) and isinstance(third, EventRejected)
        assert first == [2] and fourth == [3, 4]
        assert journal.highest_version("s-1") == 1 and len(journal.read_all()) == 4

    def test_a_retried_append_in_a_batch_gets_its_original_positions(
        self, journal: Journal
    ) -> None:
        events = [ev(1), ev(2)]
        assert journal.append("s-1", events, NO_STREAM) == [1, 2]
        again, other = journal.append_batch(
            [AppendRequest("s-1", events, NO_STREAM), AppendRequest("s-2", [ev(3)])]
        )
        assert again == [1, 2] and other == [3]
        assert journal.highest_version("s-1") == 2

    def test_a_recorded_event_id_fails_only_its_own_append_in_a_batch(
        self, journal: Journal
    ) -> None:
        recorded = ev(1)
        journal.append("s-1", [recorded], NO_STREAM)
        elsewhere, partly, fine = journal.append_batch(
            [
                AppendRequest("s-2", [recorded], NO_STREAM),  # recorded in another stream
                AppendRequest("s-1", [recorded, ev(2)], ANY),  # partly recorded already
                AppendRequest("s-3", [ev(3)], NO_STREAM),
            ]
        )
        assert isinstance(elsewhere, EventRejected) and isinstance(partly, EventRejected)
        assert fine == [2]
        assert journal.highest_version("s-1") == 1 and journal.highest_version("s-2") == 0

    def test_empty_batch(self, journal: Journal) -> None:
        assert journal.append_batch([]) == []


class DurableJournalContract(JournalContract):
    """Promises of a journal that outlives its process and is shared between processes."""

    @abstractmethod
    def journal_url(self) -> str:
        """A URL naming this test's (fresh) journal, for :func:`open_journal` in other processes."""

    def create_journal(self) -> Journal:
        return open_journal(self.journal_url())

    def spawn_writer(self, stream: str, count: int, delay: float = 0.0) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(WORKER), self.journal_url(), stream, str(count), str(delay)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def test_concurrent_writers_and_readers_see_every_position_once(self, journal: Journal) -> None:
        """8 writer processes x 200 appends, 2 concurrent ``read_all`` readers."""
        writers, per_writer = 8, 200
        self.check_concurrent_reads(
            journal,
            writers * per_writer,
            lambda: [self.spawn_writer(f"w-{w}", per_writer) for w in range(writers)],
        )
        for w in range(writers):
            assert journal.highest_version(f"w-{w}") == per_writer

    def test_sigkill_mid_run_loses_no_acknowledged_event(self, journal: Journal) -> None:
        proc = self.spawn_writer("k-1", 100_000)
        assert proc.stdout is not None
        acked = 0
        assert proc.stdout.readline().strip() == "ready"
        while acked < 150:
            line = proc.stdout.readline()
            assert line.startswith("ack "), (line, proc.stderr.read() if proc.stderr else "")
            acked = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        for line in proc.stdout:  # acks printed before the kill landed
            if line.startswith("ack "):
                acked = int(line.split()[1])
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
        reopened = self.create_journal()
        try:
            versions = [r.version for r in reopened.read("k-1")]
            assert versions == list(range(1, len(versions) + 1)), "gap in the stream"
            assert len(versions) >= acked
            assert reopened.highest_version("k-1") == len(versions)
            # the journal still takes writes after the crash
            assert reopened.append("k-1", [ev()], len(versions))
        finally:
            reopened.close()

    def test_state_survives_reopen(self, journal: Journal) -> None:
        journal.append("s-1", [ev(1), ev(2)], NO_STREAM)
        journal.save_snapshot(snap("s-1", 2))
        journal.close()
        again = self.create_journal()
        try:
            assert [r.version for r in again.read("s-1")] == [1, 2]
            assert again.load_snapshot("s-1") is not None
        finally:
            again.close()

"""The per-process journal tail: watches wake on their streams' events, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from events import Journal
from events.avatar import EmotionSet
from events.tailer import JournalTailer

pytestmark = pytest.mark.timeout(20)

DEADLINE_S = 5.0  # generous: a wake-up comes within a poll interval (10 ms here)


def emotion() -> EmotionSet:
    return EmotionSet(emotion="happy")


@pytest.fixture
def tailer(any_journal: Journal) -> JournalTailer:
    return JournalTailer(any_journal, poll_interval=0.01, idle_stop_s=0.05)


async def test_a_watch_wakes_with_the_streams_that_changed(
    tailer: JournalTailer, any_journal: Journal
) -> None:
    any_journal.append("a-1", [emotion()])  # before the tail started: not news
    async with tailer.watch(["a-1", "a-2"]) as watch:
        assert await watch.wait(0.05) == set()
        await asyncio.to_thread(any_journal.append, "other", [emotion()])
        await asyncio.to_thread(any_journal.append, "a-2", [emotion()])
        await asyncio.to_thread(any_journal.append, "a-1", [emotion()])
        seen: set[str] = set()
        async with asyncio.timeout(DEADLINE_S):
            while seen != {"a-1", "a-2"}:
                seen |= await watch.wait()
        assert tailer.position == any_journal.last_position()


async def test_an_event_between_registration_and_the_first_wait_is_not_lost(
    tailer: JournalTailer, any_journal: Journal
) -> None:
    async with tailer.watch() as watch:
        watch.add("late")  # registered before the waiter's read...
        any_journal.append("late", [emotion()])  # ...an append it might not have seen
        async with asyncio.timeout(DEADLINE_S):
            assert await watch.wait() == {"late"}


async def test_one_tail_serves_every_watch_and_discarded_streams_stay_quiet(
    tailer: JournalTailer, any_journal: Journal
) -> None:
    async with tailer.watch(["s"]) as first, tailer.watch(["s", "t"]) as second:
        second.discard("s")
        any_journal.append("s", [emotion()])
        any_journal.append("t", [emotion()])
        async with asyncio.timeout(DEADLINE_S):
            assert await first.wait() == {"s"}
            got: set[str] = set()
            while "t" not in got:
                got |= await second.wait()
        assert got == {"t"}


async def test_the_tail_stops_when_idle_and_starts_again_at_the_end(
    tailer: JournalTailer, any_journal: Journal
) -> None:
    async with tailer.watch(["x"]):
        assert tailer.running
    async with asyncio.timeout(DEADLINE_S):
        while tailer.running:
            await asyncio.sleep(0.01)
    any_journal.append("x", [emotion()])  # while nobody watched
    async with tailer.watch(["x"]) as watch:
        assert tailer.position == any_journal.last_position()
        assert await watch.wait(0.05) == set()
        any_journal.append("x", [emotion()])
        async with asyncio.timeout(DEADLINE_S):
            assert await watch.wait() == {"x"}
    await tailer.aclose()

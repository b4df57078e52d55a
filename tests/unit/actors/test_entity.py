"""EntityRuntime driven without Ray, on the memory journal with a fake clock."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from actors.avatar import AvatarAggregate
from actors.commands import (
    AddMarker,
    CloseSession,
    PatchState,
    SetEmotion,
    StartSession,
    Touch,
)
from actors.config import EntityConfig
from actors.entity import EntityRuntime
from actors.errors import (
    Conflict,
    EntityError,
    Fenced,
    NotFound,
    Overloaded,
    VersionMismatch,
)
from actors.naming import stream_id
from actors.session import SessionAggregate
from events import MemoryJournal
from events.avatar import AvatarState, EmotionSet, StatePatch
from events.errors import StorageError
from events.session import SessionState
from tests.fakes import Clock
from tests.waiting import until


def avatar(
    journal: MemoryJournal, clock: Clock | None = None, **config: int
) -> EntityRuntime[AvatarState]:
    return EntityRuntime(
        AvatarAggregate(),
        "t1",
        "ada",
        stream_id("avatar", "t1", "ada"),
        journal,
        EntityConfig(journal_url="memory://", **config),
        clock or Clock(),  # type: ignore[arg-type]
    )


def session(journal: MemoryJournal, clock: Clock) -> EntityRuntime[SessionState]:
    return EntityRuntime(
        SessionAggregate(),
        "t1",
        "s1",
        stream_id("session", "t1", "s1"),
        journal,
        EntityConfig(journal_url="memory://"),
        clock,
    )


async def test_first_command_creates_the_avatar_and_is_recorded() -> None:
    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    result = await rt.execute(SetEmotion(emotion="happy", intensity=0.8))
    assert result.version == 2
    assert [e["type"] for e in result.events] == ["AvatarCreated", "EmotionSet"]
    assert rt.state.emotion.emotion == "happy"
    assert [r.type for r in journal.read("avatar:t1:ada")] == ["AvatarCreated", "EmotionSet"]
    assert (await rt.execute(Touch())).events == []


async def test_expected_version_mismatch_writes_nothing() -> None:
    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    await rt.execute(Touch())
    with pytest.raises(VersionMismatch) as info:
        await rt.execute(SetEmotion(emotion="sad"), expected_version=0)
    assert info.value.details == {"expected": 0, "actual": 1}
    assert (await rt.execute(SetEmotion(emotion="sad"), expected_version=1)).version == 2
    assert journal.highest_version("avatar:t1:ada") == 2


async def test_idempotency_key_survives_reactivation() -> None:
    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    first = await rt.execute(SetEmotion(emotion="sad"), idempotency_key="k-1")
    again = await rt.execute(SetEmotion(emotion="sad"), idempotency_key="k-1")
    assert again.replayed and again.version == first.version and again.events == first.events
    fresh = avatar(journal)
    await fresh.activate()
    after_restart = await fresh.execute(SetEmotion(emotion="sad"), idempotency_key="k-1")
    assert after_restart.replayed and after_restart.events == first.events
    assert journal.highest_version("avatar:t1:ada") == 2


async def test_bad_patch_is_refused() -> None:
    rt = avatar(MemoryJournal())
    await rt.activate()
    with pytest.raises(EntityError):
        await rt.execute(PatchState(state=StatePatch()))


async def test_zombie_writer_is_fenced_for_good_and_its_subscribers_resync() -> None:
    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    await rt.execute(Touch())
    waiter = asyncio.create_task(rt.wait(1, timeout=5))
    await until(lambda: rt.waiters, what="the subscriber waiting")
    # another writer appends behind our back
    journal.append("avatar:t1:ada", [EmotionSet(emotion="angry")], 1)
    with pytest.raises(Fenced):
        await rt.execute(SetEmotion(emotion="happy"))
    assert rt.fenced and journal.highest_version("avatar:t1:ada") == 2  # nothing forked
    assert (await waiter)["lagged"]  # woken: resync from the journal
    assert (await rt.wait(0, timeout=5))["lagged"]  # at once, every time
    with pytest.raises(Fenced):  # a fenced copy never writes again
        await rt.execute(SetEmotion(emotion="sad"))


async def test_wait_returns_new_events_and_reports_lag() -> None:
    rt = avatar(MemoryJournal(), buffer_size=3)
    await rt.activate()
    waiter = asyncio.create_task(rt.wait(0, timeout=5))
    await until(lambda: rt.waiters, what="the waiter registering")
    assert rt.idle_for() == 0.0  # watched
    await rt.execute(SetEmotion(emotion="happy"))
    got = await waiter
    assert [e["version"] for e in got["events"]] == [1, 2] and not got["lagged"]
    empty = await rt.wait(2, timeout=0.01)
    assert empty["events"] == [] and empty["version"] == 2
    for _ in range(3):
        await rt.execute(SetEmotion(emotion="sad"))
    assert (await rt.wait(1, timeout=0))["lagged"]
    assert [e["version"] for e in (await rt.wait(2, timeout=0))["events"]] == [3, 4, 5]


async def test_snapshots_every_n_events() -> None:
    journal = MemoryJournal()
    rt = avatar(journal, snapshot_every=3)
    await rt.activate()
    for _ in range(4):
        await rt.execute(SetEmotion(emotion="happy"))
    snap = await until(
        lambda: journal.load_snapshot("avatar:t1:ada"), what="the background snapshot"
    )
    assert snap is not None and snap.version >= 3
    await rt.execute(SetEmotion(emotion="sad"))
    await rt.passivate()
    latest = journal.load_snapshot("avatar:t1:ada")
    assert latest is not None and latest.version == 6


async def test_session_lifecycle_and_ttl() -> None:
    journal = MemoryJournal()
    clock = Clock()
    rt = session(journal, clock)
    await rt.activate()
    with pytest.raises(NotFound):
        await rt.execute(AddMarker(label="q1"))
    journal.append("avatar:t1:ada", [EmotionSet(emotion="happy")])
    await rt.execute(StartSession(avatar_id="ada", ttl_seconds=60))
    assert rt.state.status == "active" and rt.state.avatar_version_start == 1
    with pytest.raises(Conflict):
        await rt.execute(StartSession(avatar_id="ada", ttl_seconds=60))
    await rt.execute(AddMarker(label="q1"))
    clock.now += 61
    await rt.run_due()
    assert rt.state.status == "expired"
    with pytest.raises(Conflict):
        await rt.execute(AddMarker(label="q2"))
    assert (await rt.execute(CloseSession())).events == []  # still expired, no error


async def test_expired_session_expires_on_activation() -> None:
    journal = MemoryJournal()
    clock = Clock()
    rt = session(journal, clock)
    await rt.activate()
    await rt.execute(StartSession(avatar_id="ada", ttl_seconds=60))
    await rt.passivate()
    clock.now += 3600
    again = session(journal, clock)
    await again.activate()
    assert again.state.status == "expired"


class AnswerLostJournal(MemoryJournal):
    """Records the next append, then fails as a server that went away before answering."""

    lose_next = False

    def append_batch(self, requests: Any) -> Any:
        outcomes = super().append_batch(requests)
        if self.lose_next:
            self.lose_next = False
            raise StorageError("the server closed the connection")
        return outcomes


async def test_a_retry_of_a_command_whose_answer_was_lost_is_not_recorded_twice() -> None:
    journal = AnswerLostJournal()
    rt = avatar(journal)
    await rt.activate()
    await rt.execute(SetEmotion(emotion="happy", intensity=0.1), idempotency_key="k0")
    journal.lose_next = True
    with pytest.raises(EntityError) as lost:
        await rt.execute(SetEmotion(emotion="sad", intensity=0.2), idempotency_key="k1")
    assert lost.value.code == "unavailable"  # the outcome is unknown to the entity
    # the retry finds the stream moved on: this copy is fenced, never applying it twice ...
    with pytest.raises(Fenced):
        await rt.execute(SetEmotion(emotion="sad", intensity=0.2), idempotency_key="k1")
    # ... and the copy fresh from the journal that its host makes next answers it as a replay
    fresh = avatar(journal)
    await fresh.activate()
    retried = await fresh.execute(SetEmotion(emotion="sad", intensity=0.2), idempotency_key="k1")
    assert retried.replayed and retried.version == 3
    records = journal.read(stream_id("avatar", "t1", "ada"))
    keys = [r.metadata.get("idempotency_key") for r in records]
    assert keys.count("k1") == 1 and fresh.state.version == 3
    after = await fresh.execute(SetEmotion(emotion="angry", intensity=0.3), idempotency_key="k2")
    assert after.version == 4 and not after.replayed


class GatedJournal(MemoryJournal):
    """Appends wait until ``gate`` is open: a journal slowed down, with the mailbox held."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def append_batch(self, requests: Any) -> Any:
        assert self.gate.wait(10), "the test never opened the gate"
        return super().append_batch(requests)


async def test_a_retry_is_answered_before_the_mailbox_and_never_queued_twice() -> None:
    journal = GatedJournal()
    rt = avatar(journal)
    await rt.activate()
    await rt.execute(SetEmotion(emotion="happy"), idempotency_key="k1")
    journal.gate.clear()
    slow = asyncio.ensure_future(rt.execute(SetEmotion(emotion="sad"), idempotency_key="k2"))
    await until(lambda: rt.busy() and rt.queued == 1)
    try:
        # a retry of a recorded command is answered at once, though the mailbox is held
        replay = await asyncio.wait_for(
            rt.execute(SetEmotion(emotion="happy"), idempotency_key="k1"), 1.0
        )
        assert replay.replayed and replay.version == 2
        # a retry of the command in flight waits for that attempt instead of queueing again
        retry = asyncio.ensure_future(rt.execute(SetEmotion(emotion="sad"), idempotency_key="k2"))
        await asyncio.sleep(0.05)
        assert rt.queued == 1 and not retry.done()
    finally:
        journal.gate.set()
    first, again = await slow, await retry
    assert (first.version, first.replayed) == (3, False)
    assert (again.version, again.replayed) == (3, True)
    keys = [r.metadata.get("idempotency_key") for r in journal.read("avatar:t1:ada")]
    assert keys == ["k1", "k1", "k2"]  # AvatarCreated and EmotionSet, then k2 once


async def test_a_backed_up_entity_refuses_commands_instead_of_queueing_them() -> None:
    journal = GatedJournal()
    rt = avatar(journal, max_queued_commands=2)
    rt.config = rt.config.model_copy(update={"queue_timeout_s": 0.3})
    await rt.activate()
    await rt.execute(Touch(), idempotency_key="k0")
    journal.gate.clear()
    try:
        holder = asyncio.ensure_future(rt.execute(SetEmotion(emotion="sad"), idempotency_key="k1"))
        await until(lambda: rt.queued == 1)
        waiting = asyncio.ensure_future(
            rt.execute(SetEmotion(emotion="angry"), idempotency_key="k2")
        )
        await until(lambda: rt.queued == 2)
        with pytest.raises(Overloaded):  # the queue is full: refused at once
            await rt.execute(SetEmotion(emotion="happy"), idempotency_key="k3")
        with pytest.raises(Overloaded) as waited:  # it waited its time out: refused, not run
            await waiting
        assert waited.value.code == "overloaded"
    finally:
        journal.gate.set()
    assert (await holder).version == 2
    keys = [r.metadata.get("idempotency_key") for r in journal.read("avatar:t1:ada")]
    assert keys == ["k0", "k1"]  # the refused commands left nothing
    retried = await rt.execute(SetEmotion(emotion="angry"), idempotency_key="k2")
    assert (retried.version, retried.replayed) == (3, False)

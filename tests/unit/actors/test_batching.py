"""CallBatcher and run_many without Ray: the send is a coroutine standing in for the actor."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
from ray.exceptions import ActorDiedError

from actors.batching import BatchCounts, CallBatcher, Outcome, run_many
from actors.commands import SetEmotion
from actors.config import EntityConfig
from actors.directory import Directory
from actors.errors import EntityError, VersionMismatch
from actors.hosting import EntityHost
from actors.naming import Kind
from events import MemoryJournal
from tests.fakes import Clock


class Actor:
    """Records each batch it receives; answers through run_many like the Ray actors do."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[Any, ...]]] = []

    async def double(self, x: int) -> int:
        if x < 0:
            raise ValueError(f"negative: {x}")
        await asyncio.sleep(0)
        return 2 * x

    async def send(self, calls: list[tuple[Any, ...]]) -> list[Outcome]:
        self.batches.append(calls)
        # through pickle, as Ray carries the batch and its reply
        outcomes = await run_many(self.double, pickle.loads(pickle.dumps(calls)))
        return pickle.loads(pickle.dumps(outcomes))  # type: ignore[no-any-return]


async def test_calls_of_one_turn_travel_together_and_each_gets_its_own_answer() -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send)
    results = await asyncio.gather(*[batcher.submit((i,)) for i in range(5)])
    assert results == [0, 2, 4, 6, 8]
    assert actor.batches == [[(0,), (1,), (2,), (3,), (4,)]]


async def test_a_lone_call_leaves_on_the_next_turn_without_waiting_for_company() -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send)
    assert await batcher.submit((1,)) == 2
    assert await batcher.submit((2,)) == 4
    assert actor.batches == [[(1,)], [(2,)]]
    assert batcher.counts == BatchCounts(calls=2, batches=2)


async def test_one_calls_error_fails_that_call_only() -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send)
    results = await asyncio.gather(
        batcher.submit((1,)), batcher.submit((-1,)), batcher.submit((3,)), return_exceptions=True
    )
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], ValueError) and "negative: -1" in str(results[1])
    assert len(actor.batches) == 1


async def test_a_batch_that_cannot_be_delivered_fails_every_call_in_it() -> None:
    async def dead(calls: list[tuple[Any, ...]]) -> list[Outcome]:
        raise ConnectionError("the actor died")

    batcher = CallBatcher(dead)
    calls = [batcher.submit((i,)) for i in range(3)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_full_batch_leaves_at_once() -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send, max_batch=3)
    results = await asyncio.gather(*[batcher.submit((i,)) for i in range(7)])
    assert results == [2 * i for i in range(7)]
    assert [len(b) for b in actor.batches] == [3, 3, 1]


async def test_a_cancelled_caller_leaves_the_others_their_answers() -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send)
    first, second = batcher.submit((1,)), batcher.submit((2,))
    first.cancel()
    assert await second == 4
    assert first.cancelled()


async def test_entity_errors_come_back_from_a_host_batch_as_themselves() -> None:
    """The host's execute through run_many and pickle: a conflict in one command fails that
    command only, with its own class and details, and the others are recorded."""
    journal = MemoryJournal()
    host = EntityHost(journal, EntityConfig(journal_url="memory://"), 100, Clock())
    await host.execute("avatar", "t", "a", SetEmotion(emotion="happy"))  # version 2
    calls = [
        ("avatar", "t", "a", SetEmotion(emotion="sad"), 2, "k1"),
        ("avatar", "t", "b", SetEmotion(emotion="sad"), 99, "k2"),
        ("avatar", "t", "c", SetEmotion(emotion="angry"), None, "k3"),
    ]
    outcomes = pickle.loads(pickle.dumps(await run_many(host.execute, calls)))
    assert [ok for ok, _ in outcomes] == [True, False, True]
    error = outcomes[1][1]
    assert isinstance(error, VersionMismatch) and isinstance(error, EntityError)
    assert error.details == {"expected": 99, "actual": 0}
    assert outcomes[0][1]["version"] == 3 and outcomes[2][1]["version"] == 2
    assert journal.highest_version("avatar:t:b") == 0


@pytest.mark.parametrize("size", [1, 40])
async def test_every_answer_reaches_its_own_caller(size: int) -> None:
    actor = Actor()
    batcher = CallBatcher(actor.send, max_batch=16)
    results = await asyncio.gather(*[batcher.submit((i,)) for i in range(size)])
    assert results == [2 * i for i in range(size)]


class _Handle:
    """A stand-in for an actor handle: ``call_many.remote`` answers through ``Actor``, or
    fails as a dead actor's would."""

    def __init__(self, actor: Actor, dead: bool) -> None:
        self.actor, self.dead = actor, dead
        self.call_many = self

    def remote(self, method: str, calls: list[tuple[Any, ...]]) -> Any:
        assert method == "view"
        if self.dead:

            async def died() -> list[Outcome]:
                raise ActorDiedError()

            return died()
        return self.actor.send([args[-1:] for args in calls])  # (kind, tenant, id, x) -> (x,)


class _Directory(Directory):
    """The directory's own logic (handles, batching, retries) over fake handles: the first
    handle made is a dead actor's, the next ones are alive."""

    def __init__(self, first_dead: bool = True, dedicated: bool = False, **kw: Any) -> None:
        super().__init__(EntityConfig(journal_url="memory://"), attempts=3, **kw)
        self.actor = Actor()
        self.made = 0
        self.first_dead = first_dead
        self.dedicated = dedicated  # an actor per entity, not one host for all

    def _target(self, kind: Kind, tenant: str, entity_id: str) -> tuple[str, Any, tuple[Any, ...]]:
        def make() -> _Handle:
            self.made += 1
            return _Handle(self.actor, dead=self.first_dead and self.made == 1)

        return (entity_id if self.dedicated else "host-0"), make, (kind, tenant, entity_id)

    async def live(self) -> dict[str, Any]:
        return {}

    async def entity_pid(self, kind: Kind, tenant: str, entity_id: str) -> int:
        return 0

    async def is_live(self, kind: Kind, tenant: str, entity_id: str) -> bool:
        return True


async def test_a_batch_to_a_dead_actor_is_retried_call_by_call_on_a_new_handle() -> None:
    directory = _Directory()
    results = await asyncio.gather(
        *[directory.call("avatar", "t", f"a{i}", "view", i) for i in range(4)]
    )
    assert results == [0, 2, 4, 6]
    assert directory.made == 2  # the dead handle was forgotten and a new one made
    counts = directory.batch_counts
    assert counts.calls == 8  # 4 to the dead actor, 4 again to the new one
    assert counts.batches < counts.calls


async def test_the_directory_keeps_a_bounded_number_of_handles() -> None:
    directory = _Directory(first_dead=False, dedicated=True, max_handles=2)
    for entity in ("a", "b", "c", "a"):
        assert await directory.call("avatar", "t", entity, "view", 1) == 2
    assert len(directory._handles) == 2
    assert directory.made == 4  # "a" was dropped for "c", and looked up again
    assert directory.batch_counts == BatchCounts(calls=4, batches=4)


async def test_a_reply_that_does_not_fit_its_batch_fails_every_call_rather_than_hang() -> None:
    async def short(calls: list[tuple[Any, ...]]) -> list[Outcome]:
        return [(True, 1)]

    batcher = CallBatcher(short)
    calls = [batcher.submit((i,)) for i in range(3)]
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
    assert all(isinstance(r, RuntimeError) for r in results)


class HeldActor(Actor):
    """An actor whose answers wait until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def send(self, calls: list[tuple[Any, ...]]) -> list[Outcome]:
        self.batches.append(calls)
        await self.release.wait()
        return await run_many(self.double, calls)


async def test_calls_made_while_a_batch_is_out_leave_together_when_it_comes_back() -> None:
    actor = HeldActor()
    batcher = CallBatcher(actor.send, max_in_flight=1)
    first = batcher.submit((1,))
    await asyncio.sleep(0.001)  # the first batch is out
    later = [batcher.submit((i,)) for i in (2, 3)]
    await asyncio.sleep(0.001)
    more = batcher.submit((4,))
    await asyncio.sleep(0.001)
    assert actor.batches == [[(1,)]]  # the others wait for it
    actor.release.set()
    assert await asyncio.gather(first, *later, more) == [2, 4, 6, 8]
    assert actor.batches == [[(1,)], [(2,), (3,), (4,)]]


async def test_calls_wait_for_a_batch_that_does_not_come_back_no_longer_than_max_wait() -> None:
    actor = HeldActor()
    batcher = CallBatcher(actor.send, max_in_flight=1, max_wait_s=0.05)
    stuck = batcher.submit((1,))  # its actor never answers (until released below)
    await asyncio.sleep(0.001)
    later = batcher.submit((2,))
    await asyncio.sleep(0.01)
    assert len(actor.batches) == 1
    await asyncio.sleep(0.08)
    assert actor.batches == [[(1,)], [(2,)]]  # left without the stuck one
    actor.release.set()
    assert await asyncio.gather(stuck, later) == [2, 4]


async def test_a_call_whose_caller_gave_up_while_it_waited_is_not_sent() -> None:
    actor = HeldActor()
    batcher = CallBatcher(actor.send, max_in_flight=1)
    first = batcher.submit((1,))
    await asyncio.sleep(0.001)
    abandoned, kept = batcher.submit((2,)), batcher.submit((3,))
    abandoned.cancel()
    actor.release.set()
    assert await asyncio.gather(first, kept) == [2, 6]
    assert actor.batches == [[(1,)], [(3,)]]


async def test_calls_waiting_behind_a_failed_batch_are_still_sent() -> None:
    sent: list[list[tuple[Any, ...]]] = []
    gate = asyncio.Event()

    async def flaky(calls: list[tuple[Any, ...]]) -> list[Outcome]:
        sent.append(calls)
        if len(sent) == 1:
            await gate.wait()
            raise ConnectionError("the actor died")
        return [(True, args[0]) for args in calls]

    batcher = CallBatcher(flaky, max_in_flight=1)
    doomed = batcher.submit((1,))
    await asyncio.sleep(0.001)
    waiting = batcher.submit((2,))
    gate.set()
    with pytest.raises(ConnectionError):
        await doomed
    assert await waiting == 2
    assert sent == [[(1,)], [(2,)]]


async def test_a_full_batch_leaves_even_while_one_is_out() -> None:
    actor = HeldActor()
    batcher = CallBatcher(actor.send, max_batch=3, max_in_flight=1)
    first = batcher.submit((0,))
    await asyncio.sleep(0.001)
    full = [batcher.submit((i,)) for i in (1, 2, 3)]
    await asyncio.sleep(0.001)
    assert [len(b) for b in actor.batches] == [1, 3]
    actor.release.set()
    assert await asyncio.gather(first, *full) == [0, 2, 4, 6]


async def test_a_reply_future_sends_the_next_batch_in_the_callback_that_delivers_it() -> None:
    # A channel's reply is a future: the callback that hands each caller its outcome also sends
    # what waited meanwhile (a task in between would cost turns of a busy loop).
    loop = asyncio.get_running_loop()
    sent: list[tuple[list[tuple[Any, ...]], asyncio.Future[Any]]] = []

    def send(calls: list[tuple[Any, ...]]) -> asyncio.Future[Any]:
        reply: asyncio.Future[Any] = loop.create_future()
        sent.append((calls, reply))
        return reply

    batcher = CallBatcher(send, max_in_flight=1)
    first = batcher.submit((1,))
    await asyncio.sleep(0)
    later = [batcher.submit((2,)), batcher.submit((3,))]
    await asyncio.sleep(0)
    assert len(sent) == 1  # one batch out: the others wait for it
    sent[0][1].set_result([(True, "one")])
    await asyncio.sleep(0)  # one turn: the reply's callbacks
    assert first.done() and first.result() == "one"
    assert [calls for calls, _ in sent] == [[(1,)], [(2,), (3,)]]
    sent[1][1].set_result([(True, "two"), (False, ValueError("three"))])
    assert await later[0] == "two"
    with pytest.raises(ValueError, match="three"):
        await later[1]


async def test_a_reply_with_the_wrong_number_of_outcomes_fails_every_caller() -> None:
    loop = asyncio.get_running_loop()

    def send(calls: list[tuple[Any, ...]]) -> asyncio.Future[Any]:
        reply: asyncio.Future[Any] = loop.create_future()
        reply.set_result([(True, "only one")])  # two calls were sent
        return reply

    batcher = CallBatcher(send)
    calls = [batcher.submit((1,)), batcher.submit((2,))]
    for call in calls:
        with pytest.raises(RuntimeError, match="1 outcomes for a batch of 2 calls"):
            await call

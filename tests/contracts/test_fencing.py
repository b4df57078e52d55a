"""Fencing: two hosts hold the same entity (a zombie and the entity's new home after a node
loss, or two shard maps during a redeploy) and both write, each through its own journal handle
as separate processes would, on SQLite and on PostgreSQL.

The journal's expected-version check is the fence: the stale copy's append fails, the copy is
dropped and loaded again from the journal (so its next answer is the journal's), its subscribers
are told to resync, and the log never forks nor records one idempotency key twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.commands import SetEmotion, Touch
from actors.config import EntityConfig
from actors.errors import Fenced, VersionMismatch
from actors.hosting import EntityHost
from events import open_journal
from events.journal import Journal
from tests.waiting import until

STREAM = "avatar:t:ada"
ADA = ("avatar", "t", "ada")


@pytest.fixture(params=["sqlite", "postgres"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def journals(journal_url: str) -> Iterator[list[Journal]]:
    opened = [open_journal(journal_url) for _ in range(3)]
    yield opened
    for journal in opened:
        journal.close()


def hosts(journals: list[Journal], url: str) -> tuple[EntityHost, EntityHost]:
    config = EntityConfig(journal_url=url)
    return EntityHost(journals[0], config), EntityHost(journals[1], config)


def versions(journal: Journal) -> list[int]:
    return [r.version for r in journal.read(STREAM, 1)]


async def test_the_stale_host_is_fenced_drops_the_entity_and_its_subscribers_resync(
    journals: list[Journal], journal_url: str
) -> None:
    new_home, zombie = hosts(journals, journal_url)
    await zombie.execute(*ADA, Touch())  # the zombie held ada at v1...
    cursor = (await zombie.view(*ADA))["version"]
    subscriber = asyncio.create_task(zombie.wait(*ADA, cursor, timeout=30))
    await until(zombie._entities[ADA].busy, what="the subscriber waiting")
    # ...when the new home took over and wrote (the zombie knows nothing of it)
    await new_home.execute(*ADA, SetEmotion(emotion="angry"), idempotency_key="k-home")
    await new_home.execute(*ADA, SetEmotion(emotion="sad"))
    assert (await zombie.view(*ADA))["version"] == cursor  # stale until it writes

    stale = zombie._entities[ADA]
    result = await zombie.execute(*ADA, SetEmotion(emotion="happy"), idempotency_key="k-zombie")
    # its append failed on the expected version; it dropped that copy and, on one fresh from
    # the journal, recorded the command after the other writer's events
    assert stale.fenced and zombie._entities[ADA] is not stale and zombie.fenced == 1
    assert result["version"] == 4 and result["state"]["emotion"]["emotion"] == "happy"
    assert versions(journals[2]) == [1, 2, 3, 4]  # one linear history

    polled = await asyncio.wait_for(subscriber, 10)
    assert polled["lagged"] and polled["events"] == []  # resync, not a forked history
    missed = journals[2].read(STREAM, cursor + 1)
    assert [r.event.type for r in missed] == ["EmotionSet"] * 3  # what a resync reads: no gap
    resumed = await zombie.wait(*ADA, cursor, timeout=5)  # the fresh copy: the journal's
    assert resumed["version"] == 4

    # the other writer is now the stale one: an explicit expectation fails on its version
    with pytest.raises(VersionMismatch):
        await new_home.execute(*ADA, SetEmotion(emotion="neutral"), expected_version=3)
    assert new_home.fenced == 1
    assert (await new_home.view(*ADA))["version"] == 4  # reloaded from the journal
    assert versions(journals[2]) == [1, 2, 3, 4]


async def test_a_retry_through_the_stale_host_is_not_recorded_twice(
    journals: list[Journal], journal_url: str
) -> None:
    new_home, zombie = hosts(journals, journal_url)
    await zombie.execute(*ADA, Touch())
    first = await new_home.execute(*ADA, SetEmotion(emotion="angry"), idempotency_key="k-1")
    # the client's retry of the same command reaches the zombie, which never saw the key
    again = await zombie.execute(*ADA, SetEmotion(emotion="angry"), idempotency_key="k-1")
    assert again["replayed"] and again["version"] == first["version"] == 2
    keys = [r.metadata.get("idempotency_key") for r in journals[2].read(STREAM, 1)]
    assert keys.count("k-1") == 1 and versions(journals[2]) == [1, 2]


async def test_both_hosts_writing_at_once_never_fork_the_log(
    journals: list[Journal], journal_url: str
) -> None:
    a, b = hosts(journals, journal_url)
    await a.execute(*ADA, Touch())
    await b.view(*ADA)

    async def writes(host: EntityHost, name: str) -> list[int]:
        """Ten commands, each retried with its key while the other host keeps fencing this one
        (a client's retry of a 409)."""
        done = []
        for i in range(10):
            while True:
                try:
                    result = await host.execute(
                        *ADA, SetEmotion(emotion="happy"), idempotency_key=f"{name}-{i}"
                    )
                except Fenced:
                    continue
                done.append(result["version"])
                break
        return done

    acked = await asyncio.gather(writes(a, "a"), writes(b, "b"))
    recorded = journals[2].read(STREAM, 1)
    assert [r.version for r in recorded] == list(range(1, len(recorded) + 1))
    keys = [r.metadata["idempotency_key"] for r in recorded[1:]]
    assert sorted(keys) == sorted([f"a-{i}" for i in range(10)] + [f"b-{i}" for i in range(10)])
    assert sorted(acked[0] + acked[1]) == list(range(2, 22))  # every ack is its own version

"""EntityHost (hosted placement) without Ray, on the memory journal."""

from __future__ import annotations

import asyncio

from actors.commands import SetEmotion, StartSession, Touch
from actors.config import EntityConfig
from actors.hosting import EntityHost
from events import MemoryJournal
from tests.fakes import Clock
from tests.waiting import until


def host(
    journal: MemoryJournal, max_entities: int = 100, clock: Clock | None = None, **config: float
) -> EntityHost:
    cfg = EntityConfig(journal_url="memory://", **config)  # type: ignore[arg-type]
    return EntityHost(journal, cfg, max_entities, clock or Clock())


async def test_entities_are_independent_and_activated_once() -> None:
    journal = MemoryJournal()
    h = host(journal)
    results = await asyncio.gather(
        *[h.execute("avatar", "t", f"a{i % 3}", SetEmotion(emotion="happy")) for i in range(9)]
    )
    assert sorted(r["version"] for r in results) == [2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert h.stats()["live"] == 3 and h.activations == 3
    assert journal.highest_version("avatar:t:a0") == 4


async def test_sweep_passivates_idle_entities_and_they_come_back() -> None:
    journal = MemoryJournal()
    clock = Clock()
    h = host(journal, clock=clock, passivate_after_s=60)
    await h.execute("avatar", "t", "a", SetEmotion(emotion="sad"))
    watcher = asyncio.create_task(h.wait("avatar", "t", "w", 99, timeout=5))
    await until(lambda: h.is_live("avatar", "t", "w") and h._entities[("avatar", "t", "w")].busy())
    clock.now += 61
    result = await h.sweep()
    assert result["passivated"] == 1  # "w" is watched, "a" is idle
    assert not h.is_live("avatar", "t", "a") and h.is_live("avatar", "t", "w")
    assert journal.load_snapshot("avatar:t:a") is not None
    view = await h.view("avatar", "t", "a")
    assert view["version"] == 2 and view["state"]["emotion"]["emotion"] == "sad"
    watcher.cancel()


async def test_sweep_runs_due_commands() -> None:
    clock = Clock()
    h = host(MemoryJournal(), clock=clock)
    await h.execute("session", "t", "s", StartSession(avatar_id="a", ttl_seconds=60))
    assert (await h.sweep())["due"] == 0
    clock.now += 61
    result = await h.sweep()
    assert result["due"] == 1
    assert (await h.view("session", "t", "s"))["state"]["status"] == "expired"


async def test_an_expired_session_does_not_hold_back_idle_entities_behind_it() -> None:
    """Running a due command uses the session; it must move to the back of the idle scan."""
    clock = Clock()
    h = host(MemoryJournal(), clock=clock, passivate_after_s=300)
    await h.execute("session", "t", "s", StartSession(avatar_id="a", ttl_seconds=100))
    await h.execute("avatar", "t", "b", Touch())  # used after the session
    clock.now += 101
    assert (await h.sweep())["due"] == 1  # the session expires (and is used now)
    clock.now += 250  # b idle 351 s, the session idle 250 s
    assert (await h.sweep())["passivated"] == 1
    assert not h.is_live("avatar", "t", "b") and h.is_live("session", "t", "s")


async def test_least_recently_used_passivate_past_the_bound() -> None:
    journal = MemoryJournal()
    h = host(journal, max_entities=3)
    for i in range(5):
        await h.execute("avatar", "t", f"a{i}", Touch())
    assert h.stats()["live"] == 3 and h.passivations == 2
    assert not h.is_live("avatar", "t", "a0") and h.is_live("avatar", "t", "a4")
    assert (await h.view("avatar", "t", "a0"))["version"] == 1

"""Group commit on a real SQLite journal: appends that coincide share one transaction, each
keeps its own check and outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actors.commands import SetEmotion
from actors.config import EntityConfig
from actors.hosting import EntityHost
from events import NO_STREAM, SqliteJournal, VersionConflict
from events.avatar import EmotionSet
from events.group_commit import GroupCommitter

pytestmark = pytest.mark.timeout(30)


async def test_concurrent_appends_share_commits_and_keep_their_own_outcomes(
    tmp_path: Path,
) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    committer = GroupCommitter(journal)
    journal.append("taken", [EmotionSet(emotion="sad")])
    results = await asyncio.gather(
        *[committer.append(f"s-{i}", [EmotionSet(emotion="happy")], NO_STREAM) for i in range(50)],
        committer.append("taken", [EmotionSet(emotion="happy")], NO_STREAM),
        return_exceptions=True,
    )
    *ok, conflict = results
    assert isinstance(conflict, VersionConflict)
    assert sorted(p for positions in ok for p in positions) == list(range(2, 52))  # type: ignore[union-attr]
    assert committer.appends == 51 and committer.commits < 51  # batched
    assert all(journal.highest_version(f"s-{i}") == 1 for i in range(50))
    assert journal.highest_version("taken") == 1
    journal.close()


async def test_a_quiet_append_is_written_at_once(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    committer = GroupCommitter(journal)
    assert await committer.append("s", [EmotionSet(emotion="happy")]) == [1]
    assert await committer.append("s", [EmotionSet(emotion="sad")], 1) == [2]
    assert (committer.commits, committer.appends) == (2, 2)
    journal.close()


async def test_a_host_commits_the_commands_of_many_entities_together(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    host = EntityHost(journal, EntityConfig(journal_url="unused"))
    await asyncio.gather(
        *[host.execute("avatar", "t", f"a{i}", SetEmotion(emotion="happy")) for i in range(40)]
    )
    stats = host.stats()
    assert stats["appends"] == 40 and stats["commits"] < 40
    assert all(journal.highest_version(f"avatar:t:a{i}") == 2 for i in range(40))
    journal.close()


async def test_a_caller_cancelled_during_its_commit_leaves_its_append_written(
    tmp_path: Path,
) -> None:
    """Cancelling a caller cannot take back an append already handed to the writer: it is
    written, the appends that shared its commit get their own answers, and the writer goes on
    (the cancelled caller's answer is dropped, not raised anywhere)."""
    journal = SqliteJournal(tmp_path / "j.db")
    committer = GroupCommitter(journal)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    first = asyncio.ensure_future(committer.append("s-1", [EmotionSet(emotion="sad")], NO_STREAM))
    second = asyncio.ensure_future(committer.append("s-2", [EmotionSet(emotion="sad")], NO_STREAM))
    await asyncio.sleep(0)  # both handed over; the first commit is in flight
    first.cancel()
    assert await second in ([1], [2])  # its own answer, whichever commit carried it
    with pytest.raises(asyncio.CancelledError):
        await first
    assert journal.highest_version("s-1") == 1  # written all the same
    assert await committer.append("s-3", [EmotionSet(emotion="happy")]) == [3]
    assert errors == []
    journal.close()

"""The soak's checker finds what it is there to find: a lost or doubled command, a gap, a
duplicate or a foreign frame in a subscriber's record, a stuck render job."""

from __future__ import annotations

import pytest

from actors.naming import stream_id
from bench.soak import Command, History, Subscriber, fault_schedule
from bench.soak_check import check, figures
from events import MemoryJournal
from events.avatar import AvatarCreated, EmotionSet

pytestmark = pytest.mark.timeout(30)

AVATAR = "soak-a0"
STREAM = stream_id("avatar", "default", AVATAR)


def _journal_with_commands(keys: list[str]) -> tuple[MemoryJournal, list[str]]:
    """An avatar created, then one EmotionSet per key; returns the journal and event ids."""
    journal = MemoryJournal()
    journal.append(STREAM, [AvatarCreated(avatar_id=AVATAR, tenant="default")])
    for i, key in enumerate(keys):
        event = EmotionSet(emotion="happy", intensity=i / 100)
        journal.append(STREAM, [event], metadata={"idempotency_key": key})
    return journal, [str(r.event.event_id) for r in journal.read(STREAM)]


def _acked(key: str, version: int) -> Command:
    return Command(key, "set_emotion", AVATAR, 1000.0, attempts=1, acked=1000.01, version=version)


def _subscriber(ids: list[str], versions: list[int], first: int = 1) -> Subscriber:
    sub = Subscriber(0, AVATAR, first_snapshot=first)
    sub.frames = [(v, ids[v - 1], 1000.0, 1000.01, 999.0) for v in versions]
    return sub


def test_a_faithful_history_is_correct() -> None:
    journal, ids = _journal_with_commands(["k1", "k2", "k3"])
    history = History(started=999.0)
    history.commands = [_acked("k1", 2), _acked("k2", 3), _acked("k3", 4)]
    history.subscribers = [_subscriber(ids, [2, 3, 4])]
    history.jobs = {
        "job-1": {"status": "done"},
        "job-2": {
            "status": "failed",
            "error": {"code": "render_failed", "message": "the renderer died"},
        },
    }
    verdict = check(history, journal)
    assert verdict.correct, verdict.problems
    assert (verdict.acked, verdict.frames, verdict.jobs_done) == (3, 3, 1)
    rows, _ = figures(history, verdict, {})
    assert dict(rows)["verdict"] == "CORRECT"


def test_lost_and_doubled_commands_are_found() -> None:
    journal, _ = _journal_with_commands(["k1", "k2", "k2"])
    history = History(started=999.0)
    history.commands = [_acked("k1", 2), _acked("k2", 3), _acked("k-lost", 5)]
    verdict = check(history, journal)
    assert (verdict.lost, verdict.duplicated) == (1, 1)
    assert not verdict.correct


def test_an_avatars_first_command_records_its_creation_with_it_once() -> None:
    """A first command records [AvatarCreated, EmotionSet] in one append, under its key: one
    command recorded once, acknowledged at the version of its own event."""
    journal = MemoryJournal()
    created = AvatarCreated(avatar_id=AVATAR, tenant="default")
    journal.append(
        STREAM, [created, EmotionSet(emotion="happy")], metadata={"idempotency_key": "k1"}
    )
    history = History(started=999.0)
    history.commands = [_acked("k1", 2)]
    verdict = check(history, journal)
    assert verdict.correct, verdict.problems
    journal.append(STREAM, [EmotionSet(emotion="sad")], metadata={"idempotency_key": "k1"})
    assert check(history, journal).duplicated == 1  # the same key recorded again: a double


def test_gaps_duplicates_reordering_and_foreign_frames_are_found() -> None:
    journal, ids = _journal_with_commands(["k1", "k2", "k3", "k4"])
    history = History(started=999.0)
    gap = _subscriber(ids, [2, 4, 5])  # v3 never arrived
    dup = _subscriber(ids, [2, 3, 3, 4, 5])
    late = _subscriber(ids, [2, 4, 3, 5])
    foreign = _subscriber(ids, [2, 3, 4, 5])
    foreign.frames[1] = (3, "not-an-event-of-the-journal", 1000.0, 1000.01, 999.0)
    tail = _subscriber(ids, [2, 3])  # stopped short of the journal's end
    history.subscribers = [gap, dup, late, foreign, tail]
    verdict = check(history, journal)
    assert verdict.gaps == 1 + 2
    assert (verdict.frame_dups, verdict.reordered, verdict.mismatched) == (1, 1, 1)
    assert not verdict.correct


def test_a_job_not_ended_or_failed_without_reason_is_found() -> None:
    journal, _ = _journal_with_commands([])
    history = History(started=999.0)
    history.jobs = {"j1": {"status": "running"}, "j2": {"status": "failed", "error": None}}
    verdict = check(history, journal)
    assert (verdict.jobs_stuck, verdict.failed_without_reason) == (1, 1)


def test_the_fault_schedule_kills_a_host_every_minute_and_each_other_fault_in_turn() -> None:
    ten = fault_schedule(600)
    hosts = [t for t, kind in ten if kind == "host"]
    assert hosts == [30.0 + 60 * i for i in range(10)]
    others = [kind for _, kind in ten if kind != "host"]
    assert others[:4] == ["renderer", "ingress", "journal", "speech"] and len(others) == 9
    short = [kind for _, kind in fault_schedule(60)]
    assert short == ["host", "renderer", "speech", "ingress", "journal"]


def test_a_speak_given_up_without_an_explained_error_is_found() -> None:
    journal, _ = _journal_with_commands([])
    history = History(started=999.0)
    explained = Command("s1", "speak", AVATAR, 1000.0, attempts=9)
    explained.last_error = '503 {"error": {"code": "speech_unavailable", "message": "down"}}'
    unexplained = Command("s2", "speak", AVATAR, 1000.0, attempts=9)
    unexplained.last_error = "500 Internal Server Error"
    answered = Command("s3", "speak", AVATAR, 1000.0, attempts=1, acked=1001.0)
    history.commands = [explained, unexplained, answered]
    verdict = check(history, journal)
    assert verdict.speaks_acked == 1
    assert dict(verdict.speaks_failed) == {"speech_unavailable": 1, "no reason": 1}
    assert verdict.failed_without_reason == 1 and not verdict.correct

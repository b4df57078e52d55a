"""Event ids: UUID version 7, unique, in the order they were made."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any
from unittest import mock
from uuid import UUID

import pytest

from events import ids
from events.avatar import EmotionSet
from events.ids import new_event_id

pytestmark = pytest.mark.timeout(30)


def test_ids_are_version_7_with_the_rfc_variant_and_the_time_in_ms() -> None:
    before = time.time_ns() // 1_000_000
    made = new_event_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == "specified in RFC 4122"
    assert before <= made.int >> 80 <= after + 1


def test_ids_made_one_after_another_sort_in_that_order_and_never_repeat() -> None:
    made = [new_event_id() for _ in range(20_000)]  # many share a millisecond
    assert len(set(made)) == len(made)
    assert [u.bytes for u in made] == sorted(u.bytes for u in made)
    assert [str(u) for u in made] == sorted(str(u) for u in made)  # as text too (SQLite)


def test_a_millisecond_with_more_ids_than_the_counter_holds_borrows_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # back to the present afterwards
    monkeypatch.setattr(ids._sequence, "last_ms", ids._sequence.last_ms)
    ms = time.time_ns() // 1_000_000 + 10_000_000  # a millisecond no id was made in yet
    with mock.patch.object(ids.time, "time_ns", return_value=ms * 1_000_000):
        made = [new_event_id() for _ in range(5000)]
    assert [u.bytes for u in made] == sorted(u.bytes for u in made)
    assert {u.int >> 80 for u in made} == {ms, ms + 1}


def test_a_clock_that_steps_back_does_not_make_an_earlier_id() -> None:
    first = new_event_id()
    with mock.patch.object(ids.time, "time_ns", return_value=1_000_000):  # 1970
        later = new_event_id()
    assert later.bytes > first.bytes


def test_threads_making_ids_at_once_never_collide() -> None:
    made: list[UUID] = []

    def make() -> None:
        made.extend(new_event_id() for _ in range(5000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 20_000


def test_new_events_get_such_ids() -> None:
    a, b = EmotionSet(emotion="happy"), EmotionSet(emotion="sad")
    assert a.event_id.version == 7 and a.event_id.bytes < b.event_id.bytes


def _random_bits_in_child(out: Any) -> None:
    out.send([u.int & (2**62 - 1) for u in (new_event_id() for _ in range(100))])


def test_a_forked_child_does_not_draw_the_random_bits_its_parent_read() -> None:
    new_event_id()  # the parent has read randomness it has not used yet
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_random_bits_in_child, args=(send,))
    child.start()
    theirs = receive.recv()
    child.join(10)
    ours = [u.int & (2**62 - 1) for u in (new_event_id() for _ in range(100))]
    assert len(set(theirs) | set(ours)) == 200


def test_ids_keep_coming_past_one_read_of_randomness() -> None:
    made = [new_event_id() for _ in range(3 * ids._POOL_BYTES // 8)]
    assert len({u.int & (2**62 - 1) for u in made}) == len(made)

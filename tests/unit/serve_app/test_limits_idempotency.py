"""Rate limits (windows, buckets, the shared counter) and the idempotency records."""

from __future__ import annotations

import asyncio
import base64

from events import MemoryJournal
from events.idempotency import RequestCompleted
from serve_app.idempotency import STALE_AFTER_S, begin, finish, stream_of
from serve_app.limits import LimitCounter, RateLimiter, bucket_of


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_buckets() -> None:
    assert bucket_of("GET", ["ada", "state"]) is None
    assert bucket_of("PATCH", ["ada", "state"]) == "command"
    assert bucket_of("POST", ["render", "sequence"]) == "render"
    assert bucket_of("POST", ["ada", "snapshot"]) == "render"
    assert bucket_of("POST", ["session", "s1", "replay"]) == "render"
    assert bucket_of("POST", ["lipsync", "preview"]) == "speech"
    assert bucket_of("POST", ["ada", "speak"]) == "speech"
    assert bucket_of("POST", ["ada", "speak", "interrupt"]) == "command"


def test_a_window_admits_its_limit_then_says_how_long_to_wait() -> None:
    clock = Clock(1000.25)
    limiter = RateLimiter({"command": 3}, {"command": 1.0}, clock=clock)
    assert [limiter.admit("k1", "command") for _ in range(3)] == [None, None, None]
    wait = limiter.admit("k1", "command")
    assert wait is not None and abs(wait - 0.75) < 1e-6
    assert limiter.admit("k2", "command") is None  # per key
    clock.now = 1001.0
    assert limiter.admit("k1", "command") is None  # the next window


def test_replicas_share_their_counts_through_the_counter() -> None:
    clock = Clock(1000.0)
    counter = LimitCounter(clock)

    class Handle:  # the actor's call shape, in process
        class add:  # noqa: N801
            @staticmethod
            async def remote(deltas: dict, windows: dict) -> dict:  # type: ignore[type-arg]
                return counter.add(deltas, windows)

    async def run() -> None:
        limits, windows = {"render": 4}, {"render": 60.0}
        a = RateLimiter(limits, windows, Handle(), clock)
        b = RateLimiter(limits, windows, Handle(), clock)
        assert a.admit("k", "render") is None and a.admit("k", "render") is None
        assert b.admit("k", "render") is None and b.admit("k", "render") is None
        await asyncio.sleep(0.6)  # both synced at least once
        assert a.admit("k", "render") is not None
        assert b.admit("k", "render") is not None

    asyncio.run(run())


def test_a_key_runs_once_then_replays_and_is_tied_to_its_route() -> None:
    journal = MemoryJournal()
    stream = stream_of("acme", "k-1")
    assert stream != stream_of("other", "k-1")
    first = begin(journal, stream, "POST /presets?")
    assert first.outcome == "run"
    assert begin(journal, stream, "POST /presets?").outcome == "busy"
    assert begin(journal, stream, "PUT /config?").outcome == "mismatch"
    png = b"\x89PNG\r\n\x1a\n\xff\x00"  # binary bodies too (a rendered frame)
    done = RequestCompleted(
        status=201, headers=[("etag", '"1"')], body=base64.b64encode(png).decode()
    )
    finish(journal, stream, first.version, done)
    again = begin(journal, stream, "POST /presets?")
    assert again.outcome == "replay" and again.response is not None
    assert base64.b64decode(again.response.body) == png and again.response.status == 201


def test_an_abandoned_or_stale_request_may_run_again() -> None:
    journal = MemoryJournal()
    stream = stream_of("acme", "k-2")
    first = begin(journal, stream, "POST /x?")
    finish(journal, stream, first.version, None)  # a 5xx
    second = begin(journal, stream, "POST /x?")
    assert second.outcome == "run"
    later = begin(journal, stream, "POST /x?", now=journal.clock() + STALE_AFTER_S + 1)
    assert later.outcome == "run"  # the second never ended: taken over
    finish(journal, stream, second.version, None)  # too late: the newer owner's record stands
    assert begin(journal, stream, "POST /x?").outcome == "busy"

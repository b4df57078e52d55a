"""Coalescing the short calls a process makes to one actor into one call (a Ray call, or a
frame on the actor's direct channel, ``actors.channel``).

A Ray actor call costs about half a millisecond of CPU on each side (arguments, task
submission, the reply), far more than an entity's own work on a state read or a command
(tens of microseconds, plus the journal's commit, which the host's group commit already
shares). Under load an ingress replica sends many calls to the same host within one turn of
its event loop; :class:`CallBatcher` gathers the calls of one method made during a turn and
sends them at the start of the next as one ``call_many``, which runs them concurrently on the
actor and returns each one's own outcome. Nothing waits for a batch to fill: a lone call
leaves on the next turn, so an idle service answers as fast as before. While a batch is out,
the next waits for it (:data:`MAX_IN_FLIGHT`, at most :data:`MAX_WAIT_S`): under load, the
calls that arrive during one batch's round trip leave together as the next, a batch sized by
the load itself, as the host's group commit sizes its transactions.

One batcher per (actor handle, method): reads never wait for the commits of the commands
they would have shared a batch with, and a long poll (``wait``) is never batched. When a
batch's reply is a future (a channel's), the callback that hands its callers their outcomes
also sends the next batch: no task in between, since each wakeup is a turn of a busy loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Outcome = tuple[bool, Any]
"""``(True, value)`` or ``(False, exception)``: one call's result inside a batch's reply."""

Send = Callable[[list[tuple[Any, ...]]], Awaitable[list[Outcome]]]
"""Carries a batch: a future (a channel's reply), or any awaitable (a Ray call, a coroutine)."""

BATCHED_METHODS = frozenset({"execute", "view"})
"""Short calls worth coalescing; everything else (long polls, stats) goes alone."""

MAX_BATCH = 64

MAX_IN_FLIGHT: dict[str, int] = {"execute": 1, "view": 1}
"""Batches of a method on their way to one actor at once (unbounded when absent). One: the
calls made while a batch is out leave together when it comes back, so under load a batch
carries what arrived during the last one's round trip (one Ray call, and for commands one
group commit, for all of them); an idle service still sends each call at once."""

MAX_WAIT_S = 0.02
"""How long calls wait for a batch that does not come back (an activation reading a long
stream, a journal that stalls) before they leave without it."""


@dataclass
class BatchCounts:
    """Calls sent and the batches (Ray calls) that carried them; batchers may share one."""

    calls: int = 0
    batches: int = 0


class CallBatcher:
    """Gathers the argument tuples submitted during one event-loop turn; ``send`` carries a
    batch to the actor and returns the outcomes in order."""

    def __init__(
        self,
        send: Send,
        max_batch: int = MAX_BATCH,
        counts: BatchCounts | None = None,
        max_in_flight: int | None = None,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        """``max_in_flight``: batches on their way at once; a call made while that many are
        out waits for one to come back (``max_wait_s`` at most) and leaves with everything
        that waited with it."""
        self._send = send
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.max_wait_s = max_wait_s
        self._overdue: asyncio.TimerHandle | None = None
        self.counts = counts or BatchCounts()
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._flush_scheduled = False
        self._sending: set[asyncio.Future[Any]] = set()  # the loop holds tasks weakly

    def submit(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """The call's future: its value, or its own exception (or the batch's, when the batch
        could not be delivered: the actor died, say)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((args, future))
        if len(self._pending) >= self.max_batch:
            self._flush(full=True)
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self, full: bool = False) -> None:
        """Send what waits, unless ``max_in_flight`` batches are out: then the next one to come
        back sends it, or ``max_wait_s`` from now (a full batch goes at once)."""
        self._flush_scheduled = False
        if not full and self.max_in_flight and len(self._sending) >= self.max_in_flight:
            if self._overdue is None:
                loop = asyncio.get_running_loop()
                self._overdue = loop.call_later(self.max_wait_s, self._flush, True)
            return
        if self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None
        batch = [(args, future) for args, future in self._pending if not future.done()]
        self._pending = []  # a call whose caller gave up while it waited is not sent
        if not batch:
            return
        self.counts.batches += 1
        self.counts.calls += len(batch)
        try:
            sent = asyncio.ensure_future(self._send([args for args, _ in batch]))  # noqa: RUF006 - held in _sending
        except Exception as e:  # not even sent: each caller sees why
            _fail(batch, e)
            return
        self._sending.add(sent)
        sent.add_done_callback(functools.partial(self._delivered, batch))

    def _delivered(
        self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]], sent: asyncio.Future[Any]
    ) -> None:
        """A batch came back: each caller gets its outcome, and what waited meanwhile leaves
        now, in the same callback (no task to wake first: each wakeup is a turn of a busy
        loop)."""
        self._sending.discard(sent)
        try:
            if sent.cancelled():
                for _, future in batch:
                    future.cancel()
                return
            error = sent.exception()
            if error is None:
                outcomes = sent.result()
                if len(outcomes) != len(batch):  # never leave a caller waiting for ever
                    n = len(outcomes)
                    error = RuntimeError(f"{n} outcomes for a batch of {len(batch)} calls")
            if error is not None:  # the whole batch failed (the actor died...)
                _fail(batch, error)
                return
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # its caller gave up (cancelled)
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        finally:
            if self._pending and not self._flush_scheduled:
                self._flush()


def _fail(batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


async def run_many(
    method: Callable[..., Awaitable[Any]], calls: list[tuple[Any, ...]]
) -> list[Outcome]:
    """The actor's side of a batch: every call at once, each with its own outcome."""
    results = await asyncio.gather(*(method(*args) for args in calls), return_exceptions=True)
    return [(not isinstance(r, BaseException), r) for r in results]

"""Group commit: appends that arrive while a commit is in flight go together in the next one.

An entity host holds thousands of entities; each command's append used to be its own durable
transaction (one fsync each). Here the first append of a quiet moment is written at once, and
every append that arrives while it is being written waits for the next write, which carries all
of them in one :meth:`~events.journal.Journal.append_batch` (one transaction, one fsync). The
batch grows with the load by itself; nobody waits for a timer. Each append keeps its own
expected-version check and its own outcome, and is acknowledged only after its commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from events.base import Event
from events.journal import AppendRequest, Journal
from events.types import ANY, Expected


class GroupCommitter:
    """Batches the appends of one event loop to one journal. Not thread-safe: one per loop."""

    def __init__(self, journal: Journal, max_batch: int = 256) -> None:
        self.journal = journal
        self.max_batch = max_batch
        self._pending: list[tuple[AppendRequest, asyncio.Future[list[int]]]] = []
        self._writer: asyncio.Task[None] | None = None
        # One thread writes: its journal connection stays open and warm, and a batch is handed
        # over without the context copy of asyncio.to_thread. The thread ends with the committer.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        self.commits = 0  # transactions written
        self.appends = 0  # appends they carried

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: Expected = ANY,
        metadata: Mapping[str, Any] | None = None,
        *,
        recorded_at: float | None = None,
    ) -> list[int]:
        """Like :meth:`Journal.append`, committed with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[int]] = loop.create_future()
        request = AppendRequest(stream_id, events, expected_version, metadata, recorded_at)
        self._pending.append((request, done))
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        # A caller cancelled here cancels ``done`` only: its append, already handed over, is
        # written all the same, and the writer skips the answer nobody waits for. (No shield:
        # its extra future and callbacks were a measurable part of a command's cost.)
        return await done

    async def _write(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    outcomes: list[Any] = await asyncio.get_running_loop().run_in_executor(
                        self._thread, self.journal.append_batch, [request for request, _ in batch]
                    )
                except BaseException as e:  # a bug, or the loop shutting down
                    outcomes = [e] * len(batch)
                self.commits += 1
                self.appends += len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            self._writer = None

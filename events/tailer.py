"""One tail of the journal's global log per process, waking whoever waits on particular streams.

Waiters open a :class:`Watch` on stream ids, read those streams from their own cursor, then
``await watch.wait()``: it returns the ids of the watched streams that got an event since the
last wait. The :class:`JournalTailer` reads the global log's heads (positions and stream ids,
nothing decoded) in commit order through :meth:`Journal.subscribe_heads_async` (a backend may
make that push-driven; the others poll ``read_heads``), once for the whole process however many
waiters there are, and wakes the watches of each event's stream.

No lost wake-ups: a watch is registered only once the tail's starting position is known, and a
waiter registers a stream *before* reading it, so any event committed after the registration is
dispatched to it. An event the waiter's own read already saw may wake it once more; waiters read
from their own cursor, so that costs one read, never a duplicate.

The tail starts with the first watch, at the end of the log (it has no history to replay), and
stops when no watch has been open for ``idle_stop_s``. It belongs to one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from events.errors import JournalError
from events.journal import Journal

log = logging.getLogger(__name__)


class Watch:
    """Interest in some streams; :meth:`wait` returns those that changed."""

    def __init__(self, tailer: JournalTailer) -> None:
        self._tailer = tailer
        self._streams: set[str] = set()
        self._changed: set[str] = set()
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(self._streams)

    def add(self, stream_id: str) -> None:
        """Watch ``stream_id`` too (before reading it: see the module's docstring)."""
        if self._closed:
            raise RuntimeError("this watch is closed")
        if stream_id not in self._streams:
            self._streams.add(stream_id)
            self._tailer._register(self, stream_id)

    def discard(self, stream_id: str) -> None:
        if stream_id in self._streams:
            self._streams.discard(stream_id)
            self._changed.discard(stream_id)
            self._tailer._unregister(self, stream_id)

    async def wait(self, timeout: float | None = None) -> set[str]:
        """The watched streams that got events since the last call; empty after ``timeout``."""
        if not self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        changed, self._changed = self._changed, set()
        self._wake.clear()
        return changed

    def _notify(self, stream_id: str) -> None:
        self._changed.add(stream_id)
        self._wake.set()

    def close(self) -> None:
        if self._closed:
            return
        for stream_id in list(self._streams):
            self.discard(stream_id)
        self._closed = True


class JournalTailer:
    """Tails ``journal``'s global log for the watches of this process."""

    def __init__(
        self,
        journal: Journal,
        *,
        poll_interval: float = 0.05,
        batch_size: int = 500,
        idle_stop_s: float = 10.0,
        retry_after_s: float = 1.0,
    ) -> None:
        self.journal = journal
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.idle_stop_s = idle_stop_s
        self.retry_after_s = retry_after_s
        self.position = 0
        """The global position of the last record dispatched."""
        self._watches: dict[str, set[Watch]] = {}
        self._users = 0
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[int] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @contextlib.asynccontextmanager
    async def watch(self, stream_ids: Iterable[str] = ()) -> AsyncIterator[Watch]:
        """A watch on ``stream_ids`` (more may be added), closed on exit.

        Raises :class:`JournalError` when the tail cannot start (the journal is unreachable).
        """
        self._users += 1  # before any await: an idle stop must not run under a starting watch
        try:
            await self._ensure_running()
            w = Watch(self)
            try:
                for stream_id in stream_ids:
                    w.add(stream_id)
                yield w
            finally:
                w.close()
        finally:
            self._users -= 1
            if self._users == 0:
                self._schedule_idle_stop()

    async def aclose(self) -> None:
        """Stop tailing now (watches still open stop being woken)."""
        self._stop()

    # ------------------------------------------------------------------ internals

    async def _ensure_running(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if not self.running or self._started is None:
            loop = asyncio.get_running_loop()
            self._started = loop.create_future()
            self._task = loop.create_task(self._run(self._started))
        await asyncio.shield(self._started)

    async def _run(self, started: asyncio.Future[int]) -> None:
        try:
            self.position = await asyncio.to_thread(self.journal.last_position)
        except JournalError as e:
            started.set_exception(e)
            self._task = self._started = None
            return
        started.set_result(self.position)
        while True:
            try:
                async for position, stream_id in self.journal.subscribe_heads_async(
                    self.position, poll_interval=self.poll_interval, batch_size=self.batch_size
                ):  # positions and stream ids only: the waiters read what they watch
                    self.position = position
                    for w in list(self._watches.get(stream_id, ())):
                        w._notify(stream_id)
            except JournalError as e:  # a busy or unreachable journal: resume where it stopped
                log.warning("tailing the journal failed at %d: %s; retrying", self.position, e)
                await asyncio.sleep(self.retry_after_s)

    def _register(self, w: Watch, stream_id: str) -> None:
        self._watches.setdefault(stream_id, set()).add(w)

    def _unregister(self, w: Watch, stream_id: str) -> None:
        watches = self._watches.get(stream_id)
        if watches is not None:
            watches.discard(w)
            if not watches:
                del self._watches[stream_id]

    def _schedule_idle_stop(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - watches only close inside a loop
            return
        self._idle_timer = loop.call_later(self.idle_stop_s, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._idle_timer = None
        if self._users == 0:
            self._stop()

    def _stop(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._task is not None:
            self._task.cancel()
        self._task = self._started = None

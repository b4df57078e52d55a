"""``SyncClient``: the same calls, blocking, for scripts and notebooks.

It runs an :class:`AvatarClient` on an event loop of its own, in a background thread, and
answers each call when the coroutine is done: ``SyncClient().avatar("ada").speak("Hi")``.
An event stream becomes a plain iterator (``for event in c.avatar("ada").events(1): ...``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterable, Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

from client.client import AvatarClient

T = TypeVar("T")

_PLAIN = (str, bytes, int, float, bool, type(None), dict, list, tuple)


class SyncClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, **kw: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="avatar-client", daemon=True
        )
        self._thread.start()
        self.client = AvatarClient(base_url, api_key, **kw)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine of the async client on the client's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        return _wrap(self, getattr(self.client, name))

    def close(self) -> None:
        if self._loop.is_running():
            self.run(self.client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Blocking:
    """A part of the async client (a handle, a route group) whose calls block."""

    def __init__(self, owner: SyncClient, target: Any) -> None:
        self._owner = owner
        self._target = target

    def __getattr__(self, name: str) -> Any:
        return _wrap(self._owner, getattr(self._target, name))


def _wrap(owner: SyncClient, value: Any) -> Any:
    if inspect.iscoroutine(value):
        return owner.run(value)
    if isinstance(value, AsyncIterable):
        return _iterate(owner, value)
    if callable(value) and not isinstance(value, type):

        def call(*args: Any, **kwargs: Any) -> Any:
            return _wrap(owner, value(*args, **kwargs))

        call.__doc__ = value.__doc__
        return call
    if isinstance(value, _PLAIN) or hasattr(value, "model_dump"):
        return value
    return _Blocking(owner, value)


def _iterate(owner: SyncClient, stream: AsyncIterable[T]) -> Iterator[T]:
    it = aiter(stream)
    try:
        while True:
            try:
                yield owner.run(_next(it))
            except StopAsyncIteration:
                return
    finally:
        close = getattr(it, "aclose", None)
        if close is not None and owner._loop.is_running():
            owner.run(close())


async def _next(it: Any) -> Any:
    return await anext(it)

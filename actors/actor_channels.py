"""A directory's direct channels (:mod:`actors.channel`) to its actors, one per actor name.

A channel is opened on a batch's first need of it, through the actor's handle (a Ray call
gives its address and token), and serves the event loop that opened it: a process may run
several loops one after another (tests do), and a connection cannot move between them. An
actor without a channel, or whose channel cannot be reached, gets ``None``: its batches go as
Ray calls. A failed opening or a lost channel is opened again on the next need.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ray.exceptions import RayTaskError

from actors.channel import ChannelClient

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0

Opening = asyncio.Task[ChannelClient | None]


def _stale(opening: Opening) -> bool:
    if not opening.done():
        return False
    if opening.cancelled() or opening.exception() is not None:
        return True
    channel = opening.result()
    return channel is not None and channel.lost


def _close_when_open(opening: Opening) -> None:
    if not opening.cancelled() and opening.exception() is None:
        channel = opening.result()
        if channel is not None:
            channel.close()


class ActorChannels:
    def __init__(self) -> None:
        # per actor: the loop its channel serves, and the channel being opened or open
        self._channels: dict[str, tuple[asyncio.AbstractEventLoop, Opening]] = {}

    async def get(self, name: str, handle: Any) -> ChannelClient | None:
        """The channel to actor ``name`` (opened through ``handle`` on first use), or ``None``:
        call it through Ray. A dead actor raises, as any call to it would."""
        loop = asyncio.get_running_loop()
        known = self._channels.get(name)
        if known is None or known[0] is not loop or _stale(known[1]):
            known = self._channels[name] = (loop, loop.create_task(self._open(name, handle)))
        # shielded: a caller that gives up does not cancel the opening others wait for
        return await asyncio.shield(known[1])

    def ready(self, name: str) -> ChannelClient | None:
        """The channel to actor ``name`` if it is open and serves this loop, else ``None``."""
        known = self._channels.get(name)
        if known is None or not known[1].done() or _stale(known[1]):
            return None
        loop, opening = known
        return opening.result() if loop is asyncio.get_running_loop() else None

    def close(self, name: str) -> None:
        """Close the channel to actor ``name``, if there is one (once open, if opening)."""
        known = self._channels.pop(name, None)
        if known is None:
            return
        loop, opening = known
        if loop.is_closed():
            return
        if opening.done():
            _close_when_open(opening)
        else:  # being opened, with callers waiting for it: closed once it is open
            opening.add_done_callback(_close_when_open)

    @staticmethod
    async def _open(name: str, handle: Any) -> ChannelClient | None:
        try:
            host, port, token = await handle.channel.remote()
        except (AttributeError, RayTaskError) as e:  # an actor without one, or it failed to open
            log.warning("%s: no channel (%s): Ray calls instead", name, e)
            return None
        try:
            return await asyncio.wait_for(
                ChannelClient.connect(host, port, token), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as e:
            log.warning(
                "%s: its channel at %s:%d cannot be reached (%s): Ray calls instead",
                name,
                host,
                port,
                e,
            )
            return None

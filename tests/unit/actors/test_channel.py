"""The direct channel to an entity host, over real sockets, without Ray: its frames, its token,
a lost connection, and the hosted directory sending its batches through it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ray.exceptions import RayTaskError

from actors.actor_channels import ActorChannels
from actors.batching import run_many
from actors.channel import MAX_FRAME, ChannelClient, ChannelLost, ChannelServer, FrameReader, _frame
from actors.commands import SetEmotion
from actors.config import EntityConfig
from actors.directory import HostedDirectory
from actors.errors import VersionMismatch
from actors.hosting import EntityHost
from actors.remote import _call_many
from events import MemoryJournal

pytestmark = pytest.mark.timeout(30)


class Handler:
    """Doubles numbers; a negative one is refused; ``hold`` makes a call wait for ``release``."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = asyncio.Event()

    async def double(self, x: Any) -> Any:
        if x == "hold":
            self.held.set()
            await self.release.wait()
            return "released"
        if x == "unpicklable":
            return lambda: None
        if x < 0:
            raise VersionMismatch(expected=x, actual=0)
        return 2 * x

    async def __call__(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        if method != "double":
            raise ValueError(f"{method!r} is not a batched method")
        return await run_many(self.double, calls)


def test_frames_are_read_whole_however_the_stream_is_cut() -> None:
    frames = [_frame((1, "double", [(2,)])), _frame(("x" * 300, None)), _frame([])]
    stream = b"".join(frames)
    for cut in range(1, len(stream)):  # two reads, cut at every byte
        reader = FrameReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == [
            (1, "double", [(2,)]),
            ("x" * 300, None),
            [],
        ]
    reader = FrameReader()
    assert [x for byte in stream for x in reader.feed(bytes([byte]))] == [  # a byte at a time
        (1, "double", [(2,)]),
        ("x" * 300, None),
        [],
    ]


def test_a_frame_longer_than_allowed_is_refused_before_it_is_read() -> None:
    with pytest.raises(ValueError, match="at most"):
        FrameReader().feed((MAX_FRAME + 1).to_bytes(4, "big") + b"x")


async def test_a_request_sent_in_pieces_is_answered(
    server: tuple[ChannelServer, Handler],
) -> None:
    channel, _ = server
    host, port, token = channel.address()
    reader, writer = await asyncio.open_connection(host, port)
    request = token + _frame((7, "double", [(21,), (-1,)]))
    for i in range(0, len(request), 5):  # 5 bytes a write, each flushed on its own
        writer.write(request[i : i + 5])
        await writer.drain()
        await asyncio.sleep(0)
    replies = FrameReader()
    got: list[Any] = []
    while not got:
        data = await asyncio.wait_for(reader.read(4096), 10)
        assert data, "the actor closed the connection unanswered"
        got = replies.feed(data)
    [(request_id, ok, outcomes)] = got
    assert (request_id, ok, outcomes[0]) == (7, True, (True, 42))
    assert outcomes[1][0] is False and isinstance(outcomes[1][1], VersionMismatch)
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[tuple[ChannelServer, Handler]]:
    handler = Handler()
    channel = ChannelServer(handler)
    await channel.start("127.0.0.1")
    yield channel, handler
    handler.release.set()
    await channel.close()


async def test_a_batch_comes_back_with_each_calls_own_outcome(
    server: tuple[ChannelServer, Handler],
) -> None:
    client = await ChannelClient.connect(*server[0].address())
    outcomes = await client.call("double", [(1,), (-3,), (5,)])
    assert outcomes[0] == (True, 2) and outcomes[2] == (True, 10)
    ok, error = outcomes[1]
    assert not ok and isinstance(error, VersionMismatch)  # the entity's error, with its details
    assert error.details == {"expected": -3, "actual": 0}
    assert server[0].requests == 1
    client.close()


async def test_requests_on_one_connection_do_not_wait_for_each_other(
    server: tuple[ChannelServer, Handler],
) -> None:
    channel, handler = server
    client = await ChannelClient.connect(*channel.address())
    slow = asyncio.ensure_future(client.call("double", [("hold",)]))
    await handler.held.wait()
    assert await client.call("double", [(4,)]) == [(True, 8)]  # answered while the other waits
    assert not slow.done()
    handler.release.set()
    assert await slow == [(True, "released")]
    client.close()


async def test_a_refused_request_or_an_unpicklable_reply_fails_that_request_only(
    server: tuple[ChannelServer, Handler],
) -> None:
    client = await ChannelClient.connect(*server[0].address())
    with pytest.raises(ValueError, match="not a batched method"):
        await client.call("stats", [()])
    with pytest.raises(RuntimeError, match="unserialisable reply"):
        await client.call("double", [("unpicklable",)])
    assert await client.call("double", [(1,)]) == [(True, 2)]  # the connection still serves
    client.close()


async def test_a_vanished_peer_is_noticed_in_seconds_not_minutes(
    server: tuple[ChannelServer, Handler],
) -> None:
    client = await ChannelClient.connect(*server[0].address())
    assert client._transport is not None
    sock = client._transport.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux: sent bytes unacknowledged for 10 s
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 10_000
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 5
    client.close()


async def test_a_connection_without_the_token_is_closed_unanswered(
    server: tuple[ChannelServer, Handler],
) -> None:
    host, port, token = server[0].address()
    client = await ChannelClient.connect(host, port, bytes(len(token)))
    with pytest.raises(ChannelLost):
        await client.call("double", [(1,)])
    assert client.lost
    assert server[0].requests == 0


async def test_a_lost_host_fails_the_calls_waiting_on_it_and_every_later_one(
    server: tuple[ChannelServer, Handler],
) -> None:
    channel, handler = server
    client = await ChannelClient.connect(*channel.address())
    waiting = asyncio.ensure_future(client.call("double", [("hold",)]))
    await handler.held.wait()
    await channel.close()  # the host's process died: its sockets close
    with pytest.raises(ChannelLost):
        await waiting
    with pytest.raises(ChannelLost):
        await client.call("double", [(1,)])


# ------------------------------------------------------------------ the hosted directory


class _Remote:
    def __init__(self, reply: Any) -> None:
        self.reply = reply

    async def remote(self, *args: Any) -> Any:
        return self.reply(*args)


class _HostHandle:
    """A host actor's handle: ``channel()`` as Ray would answer it; Ray's own ``call_many``
    must not be used while the channel works."""

    def __init__(self, server: ChannelServer) -> None:
        self.channel = _Remote(server.address)
        self.call_many = _Remote(self._ray_call)

    def _ray_call(self, *args: Any) -> Any:
        raise AssertionError("a batch went as a Ray call")


class _Directory(HostedDirectory):
    def __init__(self, servers: list[ChannelServer]) -> None:
        super().__init__(EntityConfig(journal_url="memory://"), hosts=1, max_entities_per_host=10)
        self.servers = servers  # the host's incarnations, the newest last
        self.handles = 0

    def _host(self, index: int) -> Any:
        handle = self._handles.get(self.host_name(index))
        if handle is None:
            self.handles += 1
            handle = self._handles[self.host_name(index)] = _HostHandle(self.servers[-1])
        return handle


class _HeldHost:
    """An entity host whose ``execute`` can be held before it runs (to lose a connection
    while a command waits on it)."""

    def __init__(self, host: EntityHost) -> None:
        self.host = host
        self.view = host.view
        self.hold = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def execute(self, *args: Any) -> Any:
        if self.hold:
            self.held.set()
            await self.release.wait()
        return await self.host.execute(*args)

    async def __call__(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        return await _call_many(self, method, calls)


async def test_the_hosted_directory_sends_its_batches_over_the_channel_and_survives_its_loss() -> (
    None
):
    journal = MemoryJournal()
    host = _HeldHost(EntityHost(journal, EntityConfig(journal_url="memory://")))
    first = ChannelServer(host)
    await first.start("127.0.0.1")
    directory = _Directory([first])
    set_happy = SetEmotion(emotion="happy", intensity=0.5)

    result = await directory.call("avatar", "t", "a1", "execute", set_happy, None, "key-1", None)
    version = result["version"]
    assert version >= 1
    assert (await directory.call("avatar", "t", "a1", "view"))["version"] == version
    assert first.requests == 2

    # The connection breaks while a command waits at the host: the directory retries it on a
    # new connection with its key, and the entity records it once.
    host.hold = True
    command = asyncio.ensure_future(
        directory.call("avatar", "t", "a1", "execute", set_happy, None, "key-2", None)
    )
    await host.held.wait()
    second = ChannelServer(host)
    await second.start("127.0.0.1")
    directory.servers.append(second)
    await first.close()
    host.hold = False  # the retry runs, or waits for the held first attempt's outcome
    host.release.set()
    assert (await command)["version"] == version + 1
    assert directory.handles == 2  # the lost channel's handle was forgotten
    assert second.requests >= 1
    keys = [r.metadata["idempotency_key"] for r in journal.read("avatar:t:a1")]
    assert keys.count("key-2") == 1  # the retry was not recorded again
    await second.close()


async def test_with_the_ray_transport_batches_are_ray_calls() -> None:
    class _RayHandle:
        def __init__(self) -> None:
            self.calls: list[Any] = []
            self.call_many = _Remote(self._call)
            self.channel = _Remote(self._no_channel)

        def _no_channel(self) -> Any:
            raise AssertionError("a channel was asked for")

        def _call(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
            self.calls.append((method, calls))
            return [(True, {"version": 0}) for _ in calls]

    handle = _RayHandle()

    class _Ray(HostedDirectory):
        def _host(self, index: int) -> Any:
            return handle

    config = EntityConfig(journal_url="memory://", entity_transport="ray")
    directory = _Ray(config, hosts=1, max_entities_per_host=10)
    assert await directory.call("avatar", "t", "a1", "view") == {"version": 0}
    assert handle.calls == [("view", [("avatar", "t", "a1")])]


async def test_a_host_whose_channel_cannot_be_had_is_called_through_ray() -> None:
    class _NoChannel:
        """A host that failed to open its channel (its ``channel()`` raised), or one that
        cannot be reached at the address it gives."""

        def __init__(self, error: Exception | None) -> None:
            self.calls: list[Any] = []
            self.call_many = _Remote(self._call)
            self.channel = _Remote(self._channel)
            self.error = error

        def _channel(self) -> Any:
            if self.error is not None:
                raise self.error
            return ("127.0.0.1", 1, b"x" * 32)  # nothing listens on port 1

        def _call(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
            self.calls.append(method)
            return [(True, {"version": 7}) for _ in calls]

    failed = RayTaskError("channel", "Traceback ...", OSError("cannot bind"))
    for handle in (_NoChannel(failed), _NoChannel(None)):

        class _Host(HostedDirectory):
            def _host(self, index: int, handle: Any = handle) -> Any:
                return handle

        directory = _Host(EntityConfig(journal_url="memory://"), hosts=1, max_entities_per_host=1)
        assert await directory.call("avatar", "t", "a1", "view") == {"version": 7}
        assert await directory.call("avatar", "t", "a1", "view") == {"version": 7}
        assert handle.calls == ["view", "view"]


async def test_a_directorys_channel_to_an_actor_is_opened_once_reused_and_reopened_when_lost(
    server: tuple[ChannelServer, Handler],
) -> None:
    channel, _ = server
    asked: list[str] = []

    def address() -> tuple[str, int, bytes]:
        asked.append("channel")
        return channel.address()

    handle = type("Handle", (), {"channel": _Remote(address)})()
    channels = ActorChannels()
    assert channels.ready("host") is None  # nothing opened yet
    first, again = await asyncio.gather(channels.get("host", handle), channels.get("host", handle))
    assert first is not None and first is again and asked == ["channel"]  # one opening, shared
    assert channels.ready("host") is first
    assert await first.call("double", [(4,)]) == [(True, 8)]

    channels.close("host")
    assert first.lost and channels.ready("host") is None
    second = await channels.get("host", handle)
    assert second is not None and second is not first and asked == ["channel", "channel"]

    await channel.close()  # the actor's side goes away: the channel is lost, then reopened
    while not second.lost:
        await asyncio.sleep(0.01)
    assert channels.ready("host") is None
    await channel.start("127.0.0.1")
    third = await channels.get("host", handle)
    assert third is not None and not third.lost and len(asked) == 3
    assert await third.call("double", [(5,)]) == [(True, 10)]
    channels.close("host")

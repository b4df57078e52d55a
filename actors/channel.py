"""A direct channel to an entity actor or host: batches of calls over one TCP connection.

A Ray actor call costs ~1.3-1.6 ms of wall time and about half a millisecond of CPU on each
side on the machines this runs on (task submission, the worker's task thread, the hop to the
actor's event loop and back, the reply through the core worker). That is most of a state
read's latency and a large share of its CPU. Ray Serve meets the same cost the same way: in its
throughput-optimised mode, deployment handles talk to replicas over gRPC rather than through
Ray actor calls. Here Ray keeps what it is good at (placing, naming, restarting and killing the
actors; every other call), and the two hot calls, ``execute`` and ``view`` batches
(:mod:`actors.batching`), travel over a socket the actor opens on its node:

- The actor listens on its node's address on a port of its choosing and tells callers where,
  with a random token, through an ordinary Ray call (:meth:`ChannelServer.address`). A
  connection must present that token first: only a process that can call the actor through
  Ray can use its channel (the same trust as Ray's own calls, which this channel stands for).
- Frames are a 4-byte length and a pickle (the objects Ray would have pickled): a request is
  ``(request id, method, calls)``, a reply ``(request id, ok, outcomes or error)``. Requests on
  one connection run concurrently; replies come back in whatever order they finish.
- A lost connection (the actor died, its node went away) fails every call waiting on it with
  :class:`ChannelLost`, which the directory retries like a dead actor (commands carry
  idempotency keys: a retry never records twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import pickle
import secrets
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[str, list[tuple[Any, ...]]], Awaitable[list[Any]]]
"""``(method, calls) -> outcomes``: the actor's ``call_many``."""

TOKEN_BYTES = 32
HANDSHAKE_TIMEOUT_S = 5.0
MAX_FRAME = 64 * 1024 * 1024
"""A frame past this is refused (a batch of 64 short calls is a few KiB)."""

_LENGTH = struct.Struct("!I")
READ_SIZE = 256 * 1024
"""How much the actor's side reads at once (a batch's frame is a few KiB)."""


KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_PROBES = 3
UNACKED_TIMEOUT_MS = 10_000


def watch_peer(transport: asyncio.BaseTransport) -> None:
    """Notice a peer that vanished without closing (a node powered off, a partition) in
    ~10-15 s rather than TCP's default quarter of an hour: keepalive probes while nothing is
    in flight, and a bound on how long sent bytes may stay unacknowledged (Linux options;
    skipped where the platform lacks them). Ray notices a lost node in ~3 s and fails its own
    calls; the calls on a channel need their own deadline."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
        ("TCP_USER_TIMEOUT", UNACKED_TIMEOUT_MS),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class ChannelLost(ConnectionError):
    """The connection to the actor broke: the calls waiting on it may or may not have run."""


def _frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """The objects of the frames in a byte stream, however its reads cut it: the one reader of
    both sides (the caller feeds it from a protocol callback, the actor from a stream)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        """Take ``data``; return the objects of the frames it completes, in order. Raises
        ``ValueError`` for a frame longer than :data:`MAX_FRAME`, or what unpickling raised
        (either way the stream cannot be trusted past it)."""
        buffer = self._buffer
        buffer += data
        out = []
        while len(buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer)
            if length > MAX_FRAME:
                raise ValueError(f"a frame of {length} bytes (at most {MAX_FRAME})")
            end = _LENGTH.size + length
            if len(buffer) < end:
                break
            out.append(pickle.loads(buffer[_LENGTH.size : end]))
            del buffer[:end]
        return out


class ChannelServer:
    """The actor's side: accepts connections that present the token, runs each request with
    ``handler`` and writes its reply. Lives on the event loop that started it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.token = secrets.token_bytes(TOKEN_BYTES)
        self._server: asyncio.Server | None = None
        self._host = ""
        self._port = 0
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly
        self.requests = 0

    async def start(self, host: str) -> None:
        """Listen on ``host`` (the node's address), on a port the OS picks."""
        self._server = await asyncio.start_server(self._accept, host, 0)
        self._host = host
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("entity channel listening on %s:%d", host, self._port)

    def address(self) -> tuple[str, int, bytes]:
        """Where to connect and the token to present."""
        if self._server is None:
            raise RuntimeError("the channel was not started")
        return self._host, self._port, self.token

    async def close(self) -> None:
        """Stop listening and drop every connection (their callers see the channel lost)."""
        if self._server is not None:
            self._server.close()
        serving = list(self._connections.values())
        for writer in list(self._connections):
            writer.close()
        await asyncio.gather(*serving, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # known from the start: a close() during the handshake ends this connection too
        self._connections[writer] = asyncio.current_task()  # type: ignore[assignment]
        try:
            if self._server is not None and self._server.is_serving():  # else accepted as it closed
                await self._serve(reader, writer)
        finally:
            self._connections.pop(writer, None)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            token = await asyncio.wait_for(reader.readexactly(TOKEN_BYTES), HANDSHAKE_TIMEOUT_S)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return
        if not hmac.compare_digest(token, self.token):
            log.warning("entity channel: a connection with a wrong token, closed")
            return
        watch_peer(writer.transport)  # a caller that vanished lets go of its connection
        frames = FrameReader()
        try:
            while data := await reader.read(READ_SIZE):
                for request_id, method, calls in frames.feed(data):
                    self.requests += 1
                    task = asyncio.get_running_loop().create_task(
                        self._answer(writer, request_id, method, calls)
                    )
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        except ConnectionError:
            pass  # the caller went away
        except Exception:
            log.exception("entity channel: a broken frame; connection closed")

    async def _answer(
        self, writer: asyncio.StreamWriter, request_id: int, method: str, calls: Any
    ) -> None:
        try:
            reply: tuple[int, bool, Any] = (request_id, True, await self.handler(method, calls))
        except Exception as e:  # the whole request failed (a method that is not batched...)
            reply = (request_id, False, e)
        try:
            frame = _frame(reply)
        except Exception as e:  # a result that does not pickle: its caller learns why
            frame = _frame((request_id, False, RuntimeError(f"unserialisable reply: {e!r}")))
        if writer.is_closing():
            return
        writer.write(frame)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


class ChannelClient(asyncio.Protocol):
    """The caller's side: one connection to one actor, shared by every batch sent to it.

    A protocol rather than a stream reader: a reply is read and its caller's future resolved in
    the same callback that receives its bytes. Under load every turn of the caller's event loop
    is long (it parses the HTTP requests of every client), and each task wakeup between the
    socket and the caller costs one more of them.
    """

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._frames = FrameReader()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._lost: ChannelLost | None = None

    @classmethod
    async def connect(cls, host: str, port: int, token: bytes) -> ChannelClient:
        _, client = await asyncio.get_running_loop().create_connection(cls, host, port)
        assert client._transport is not None
        client._transport.write(token)
        return client

    @property
    def lost(self) -> bool:
        return self._lost is not None

    def call(self, method: str, calls: list[tuple[Any, ...]]) -> asyncio.Future[Any]:
        """Send one batch; a future of its outcomes, or of :class:`ChannelLost`."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._lost is not None or self._transport is None:
            reply.set_exception(self._lost or ChannelLost("the channel is not connected"))
            return reply
        self._next_id += 1
        self._waiting[self._next_id] = reply
        self._transport.write(_frame((self._next_id, method, calls)))
        return reply

    def close(self) -> None:
        self._fail(ChannelLost("the channel was closed"))
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        watch_peer(transport)

    def data_received(self, data: bytes) -> None:
        try:
            replies = self._frames.feed(data)
        except Exception as e:
            self._broken(e)
            return
        for request_id, ok, value in replies:
            reply = self._waiting.pop(request_id, None)
            if reply is None or reply.done():
                continue  # its caller gave up
            if ok:
                reply.set_result(value)
            else:
                reply.set_exception(value)

    def connection_lost(self, exc: Exception | None) -> None:
        why = type(exc).__name__ if exc else "closed"
        self._fail(ChannelLost(f"the entity actor closed its channel ({why})"))

    def _broken(self, error: Exception) -> None:
        log.error("entity channel: a broken reply (%r); connection dropped", error)
        self._fail(ChannelLost(f"a broken reply from the entity actor: {error!r}"))
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, error: ChannelLost) -> None:
        if self._lost is None:
            self._lost = error
        waiting, self._waiting = self._waiting, {}
        for reply in waiting.values():
            if not reply.done():
                reply.set_exception(error)

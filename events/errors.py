"""The error tree of the event core.

::

    EventsError
    ├── CodecError            an event or snapshot cannot be encoded or decoded
    │                         (unknown type, unknown schema version, corrupt bytes)
    └── JournalError
        ├── VersionConflict   the stream is not at the expected version; nothing was written
        ├── EventRejected     the batch itself is bad (not retryable): duplicate event id in
        │                     another stream, bad stream id, empty batch
        └── StorageError      the storage failed (locked, I/O, unreachable): retryable

Backends translate their driver's exceptions into these at the boundary (``raise X(...) from e``).
"""

from __future__ import annotations


class EventsError(Exception):
    """Base class of every error raised by :mod:`events`."""


class CodecError(EventsError):
    """An event or snapshot could not be encoded or decoded. Never silently ignored."""


class JournalError(EventsError):
    """Base class of journal failures."""

    retryable: bool = False


class VersionConflict(JournalError):
    """The stream's version differs from the caller's expectation; nothing was written."""

    def __init__(self, stream_id: str, expected: object, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventRejected(JournalError):
    """The batch was refused for what it is (not because of storage); retrying will not help."""


class StorageError(JournalError):
    """The storage failed; the outcome of a write is unknown or it did not happen. Retryable."""

    retryable = True

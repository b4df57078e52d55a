"""The event core: event types, codec, journal backends, snapshots, fold and replay.

Imports nothing else of this project; everything above builds on it.
"""

from events import (
    avatar,
    default_voice,
    idempotency,
    jobs,
    keys,
    picture,
    presets,
    render_config,
    session,
)
from events.base import Event, EventRegistry, registry, upcaster
from events.codec import EventCodec, default_codec
from events.errors import (
    CodecError,
    EventRejected,
    EventsError,
    JournalError,
    StorageError,
    VersionConflict,
)
from events.factory import open_journal
from events.fold import Folder, FoldError, State
from events.journal import AppendRequest, Journal
from events.memory import MemoryJournal
from events.postgres import PostgresJournal
from events.records import RecordedEvent, SnapshotRecord
from events.replay import load_state, save_snapshot
from events.sqlite import SqliteJournal
from events.types import ANY, NO_STREAM, Expected, ExpectedVersion

__all__ = [
    "ANY",
    "NO_STREAM",
    "AppendRequest",
    "CodecError",
    "Event",
    "EventCodec",
    "EventRegistry",
    "EventRejected",
    "EventsError",
    "Expected",
    "ExpectedVersion",
    "FoldError",
    "Folder",
    "Journal",
    "JournalError",
    "MemoryJournal",
    "PostgresJournal",
    "RecordedEvent",
    "SnapshotRecord",
    "SqliteJournal",
    "State",
    "StorageError",
    "VersionConflict",
    "avatar",
    "catalog",
    "default_codec",
    "default_voice",
    "idempotency",
    "jobs",
    "keys",
    "load_state",
    "open_journal",
    "picture",
    "presets",
    "registry",
    "render_config",
    "save_snapshot",
    "session",
    "upcaster",
]

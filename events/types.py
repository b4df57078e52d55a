"""Shared types of the event core: expected versions, stream ids, JSON aliases."""

from __future__ import annotations

import enum
import re
from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, Any]
Metadata: TypeAlias = dict[str, Any]


class ExpectedVersion(enum.Enum):
    """Special expectations for :meth:`Journal.append` besides an exact version number."""

    ANY = "any"
    """Append whatever the stream's version is."""
    NO_STREAM = "no_stream"
    """The stream must not exist yet (it has no event, not even a deleted one)."""


ANY = ExpectedVersion.ANY
NO_STREAM = ExpectedVersion.NO_STREAM

Expected: TypeAlias = int | ExpectedVersion

_STREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,254}$")


def check_stream_id(stream_id: str) -> str:
    """Return ``stream_id`` if it is well formed, else raise ``ValueError``."""
    if not isinstance(stream_id, str) or not _STREAM_ID.match(stream_id):
        raise ValueError(f"bad stream id {stream_id!r}")
    return stream_id


def expected_matches(expected: Expected, actual: int) -> bool:
    """Whether a stream at version ``actual`` satisfies ``expected``."""
    if expected is ExpectedVersion.ANY:
        return True
    if expected is ExpectedVersion.NO_STREAM:
        return actual == 0
    return expected == actual

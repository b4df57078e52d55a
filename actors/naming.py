"""Ids, stream ids and Ray actor names. Every name carries the tenant."""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["avatar", "session"]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID = re.compile(ID_PATTERN)

DEFAULT_TENANT = "default"
NAMESPACE = "avatar-service"


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid avatar/session/tenant id, else raise ``ValueError``."""
    if not _ID.match(value):
        raise ValueError(
            f"bad {what} {value!r}: 1-64 characters, letters, digits, '_', '.', '-',"
            " starting with a letter or digit"
        )
    return value


def stream_id(kind: Kind, tenant: str, entity_id: str) -> str:
    """The journal stream of one entity, e.g. ``avatar:default:ada``."""
    return f"{kind}:{tenant}:{entity_id}"


def actor_name(kind: Kind, tenant: str, entity_id: str) -> str:
    """The Ray actor name of a dedicated entity actor (same text as its stream id)."""
    return stream_id(kind, tenant, entity_id)


def presets_stream_id(tenant: str) -> str:
    """The tenant's preset catalog stream, e.g. ``catalog:default:presets``."""
    return f"catalog:{tenant}:presets"


def config_stream_id(tenant: str) -> str:
    """The tenant's service configuration stream, e.g. ``config:default:service``."""
    return f"config:{tenant}:service"


def default_voice_stream_id(tenant: str) -> str:
    """The tenant's default voice stream, e.g. ``voice:default:default``."""
    return f"voice:{tenant}:default"


def job_stream_id(tenant: str, job_id: str) -> str:
    """A render job's stream, e.g. ``job:default:job-0123...``."""
    return f"job:{tenant}:{job_id}"


def session_jobs_stream_id(tenant: str, session_id: str) -> str:
    """The index of the render jobs made for one session, e.g. ``session-jobs:default:s-1``."""
    return f"session-jobs:{tenant}:{session_id}"


def open_jobs_stream_id(tenant: str) -> str:
    """The index of the tenant's render jobs not finished yet, e.g. ``open-jobs:default``."""
    return f"open-jobs:{tenant}"

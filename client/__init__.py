"""Python client of the Avatar Service: ``from client import AvatarClient``.

Async on aiohttp (:class:`AvatarClient`), with a thin blocking wrapper (:class:`SyncClient`).
Request and response models are the service's own (``serve_app.schemas`` and the render and
speech request models), so the client validates a request as the service would before sending.
"""

from client.client import DEFAULT_URL, AvatarClient
from client.errors import (
    ApiError,
    AvatarError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    JobFailed,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from client.settings import ClientSettings
from client.streams import AvatarEventStream
from client.sync import SyncClient
from serve_app.schemas.events import RecordedEvent
from serve_app.schemas.jobs import JobView

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "AvatarClient",
    "AvatarError",
    "AvatarEventStream",
    "BadRequest",
    "ClientSettings",
    "Conflict",
    "ConnectionFailed",
    "JobFailed",
    "JobView",
    "NotFound",
    "RateLimited",
    "RecordedEvent",
    "SyncClient",
    "Unauthorized",
    "Unavailable",
]

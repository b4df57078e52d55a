"""Responses of idempotent writes, one stream per (tenant, key): ``idempotency:<t>:<digest>``.

- ``RequestStarted``: a request with this key is being carried out (its method and path).
- ``RequestCompleted``: its response, replayed to any retry.
- ``RequestAbandoned``: it failed on our side (5xx, crash); a retry may carry it out again.

Each is appended with the version its writer read, so two concurrent requests with one key
never both start.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from events.base import Event


class RequestStarted(Event):
    type: Literal["RequestStarted"] = "RequestStarted"
    request: str = Field(description="Method, path and query of the request.")


class RequestCompleted(Event):
    type: Literal["RequestCompleted"] = "RequestCompleted"
    status: int
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: str = Field("", description="The response body, base64 (it may be binary).")


class RequestAbandoned(Event):
    type: Literal["RequestAbandoned"] = "RequestAbandoned"

"""HTTP helpers: ETags from versions, ``If-Match`` and ``Idempotency-Key`` headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from serve_app.errors import ApiError
from serve_app.schemas import API_PREFIX

#: The largest version, offset or count a query takes (a JavaScript-safe integer; the
#: journals store 64-bit ones).
MAX_INT = 2**53

__all__ = [
    "API_PREFIX",
    "MAX_INT",
    "IdempotencyKey",
    "IfMatch",
    "etag",
    "parse_if_match",
    "set_version",
]


def etag(version: int) -> str:
    return f'"{version}"'


def set_version(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` (or ``W/"3"`` or ``3``) -> 3; ``*`` or absent -> None."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiError(
            400, "bad_if_match", f'If-Match must be a version ETag like "3", got {value!r}'
        )
    return int(text)


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='Expected version as an ETag, e.g. "3"; 409 if not.'),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A retried request with the same key returns the first response.",
    ),
]

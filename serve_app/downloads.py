"""Streaming an asset's file: content type, ETag (the sha256), caching, conditional and range
requests, HEAD.

Starlette's :class:`FileResponse` streams from disk (never the whole file in memory) and
answers ``Range`` (206, or 416 when unsatisfiable) and ``HEAD``; ``If-None-Match`` is answered
here, as it must be before a body is chosen.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import FileResponse

from assets import AssetInfo

CACHE_CONTROL = "private, max-age=31536000, immutable"
"""An asset id always names the same bytes; ``private``: assets belong to one tenant."""
_CHUNK = 1 << 20


def etag_of(info: AssetInfo) -> str:
    return f'"{info.sha256}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def asset_response(request: Request, path: Path, info: AssetInfo) -> Response:
    etag = etag_of(info)
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Checksum-Sha256": info.sha256,
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    response = FileResponse(
        path,
        media_type=info.mime,
        filename=info.name,
        headers=headers,
        content_disposition_type="attachment" if info.kind == "other" else "inline",
    )
    response.chunk_size = _CHUNK  # fewer, larger messages through the Serve proxy
    return response

"""Receiving an upload: a multipart ``file`` field or a raw body, streamed into the asset store.

Bytes go from the ASGI receive channel straight into an :class:`~assets.Upload` (a temporary
file, hashed on the way); nothing is buffered whole. The size limit is checked against
``Content-Length`` before reading when the client sends one, and counted while streaming
otherwise; past it the partial file is removed. The multipart parser is ``python-multipart``
(the one Starlette uses), driven chunk by chunk so the file part never touches Starlette's
spooled form handling.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from assets import AssetInfo, AssetKind, AssetStore, AssetTooLarge, UnsupportedMedia, Upload
from assets.sniff import KINDS
from serve_app.errors import ApiError

MULTIPART_OVERHEAD = 64 * 1024
"""Room for boundaries, part headers and small fields beyond the file's own limit."""
_MAX_FIELD = 1024
_DRAIN_BEYOND = 64 * 1024**2
"""After refusing a streamed upload, read (and drop) at most this much more of the body, so
that clients still sending see the 413 rather than a reset connection."""


@dataclass
class UploadRequest:
    """What a client asked for besides the bytes."""

    name: str | None = None
    kind: AssetKind | None = None
    mime: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _kind(value: str | None) -> AssetKind | None:
    if value in (None, ""):
        return None
    for k in KINDS:
        if k == value:
            return k  # type: ignore[return-value] # k is one of AssetKind's values
    raise ApiError(422, "validation_error", f"kind must be one of {', '.join(KINDS)}")


def content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "bad_request", "Content-Length is not a number")
    return int(raw)


async def receive_upload(
    request: Request,
    store: AssetStore,
    tenant: str,
    *,
    max_bytes: int,
    name: str | None,
    kind: str | None,
) -> AssetInfo:
    """Stream the request's file into ``store``; the stored asset's record."""
    ctype = request.headers.get("content-type", "")
    multipart = ctype.lower().startswith("multipart/form-data")
    if ctype.lower().startswith("application/x-www-form-urlencoded"):
        raise UnsupportedMedia("send the file as multipart/form-data or as a raw body")
    length = content_length(request)
    if length is not None and length > max_bytes + (MULTIPART_OVERHEAD if multipart else 0):
        raise AssetTooLarge(max_bytes)
    ask = UploadRequest(name=name, kind=_kind(kind), mime=None if multipart else ctype)
    upload = store.begin(tenant, max_bytes=max_bytes)
    with upload:
        try:
            if multipart:
                await _multipart(request, upload, ask, ctype)
            else:
                async for chunk in request.stream():
                    upload.write(chunk)
        except AssetTooLarge:
            await _drain(request)
            raise
        except ClientDisconnect as e:
            raise ApiError(400, "upload_interrupted", "the client went away mid-upload") from e
        if ask.kind is None:
            ask.kind = _kind(ask.fields.get("kind"))
        return await asyncio.to_thread(
            upload.commit, name=ask.name or ask.fields.get("name"), kind=ask.kind, mime=ask.mime
        )


async def _drain(request: Request) -> None:
    left = _DRAIN_BEYOND
    try:
        async for chunk in request.stream():
            left -= len(chunk)
            if left <= 0:
                return
    except (ClientDisconnect, RuntimeError):  # RuntimeError: the body had already ended
        return


async def _multipart(request: Request, upload: Upload, ask: UploadRequest, ctype: str) -> None:
    _, params = parse_options_header(ctype)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_request", "multipart/form-data without a boundary")
    parts = _Parts(upload, ask)
    parser = MultipartParser(boundary, parts.callbacks())
    async for chunk in request.stream():
        parser.write(chunk)
    parser.finalize()
    if not parts.saw_file:
        raise ApiError(422, "validation_error", "the multipart field 'file' is required")


class _Parts:
    """Callbacks of the multipart parser: the ``file`` part into the upload, small fields kept."""

    def __init__(self, upload: Upload, ask: UploadRequest) -> None:
        self.upload = upload
        self.ask = ask
        self.saw_file = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._part: str | None = None
        self._is_file = False
        self._text = bytearray()

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers, self._field, self._value = {}, b"", b""
        self._part, self._is_file, self._text = None, False, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, disp = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part = disp.get(b"name", b"").decode("utf-8", "replace")
        if self._part == "file":
            if self.saw_file:
                raise ApiError(422, "validation_error", "one 'file' field per upload")
            self.saw_file = self._is_file = True
            filename = disp.get(b"filename")
            if self.ask.name is None and filename:
                # clients (aiohttp, some browsers) percent-encode it (RFC 7578 4.2)
                self.ask.name = unquote(filename.decode("utf-8", "replace"))
            self.ask.mime = self._headers.get(b"content-type", b"").decode("latin-1")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.upload.write(memoryview(data)[start:end])
        elif len(self._text) + end - start <= _MAX_FIELD:
            self._text += data[start:end]
        else:
            raise ApiError(422, "validation_error", f"form field {self._part!r} is too long")

    def _end(self) -> None:
        if not self._is_file and self._part:
            self.ask.fields[self._part] = self._text.decode("utf-8", "replace").strip()

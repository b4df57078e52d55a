"""Errors as JSON: ``{"code", "message", "detail"}`` with the right status, mapped in one place.

``detail`` repeats the message (or lists validation problems), so FastAPI clients that read
``detail`` keep working.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _StarletteJSON
from starlette.exceptions import HTTPException as StarletteHTTPException

from actors.errors import EntityError
from assets.errors import AssetError
from events.errors import StorageError

log = logging.getLogger(__name__)


class JSONResponse(_StarletteJSON):
    """JSON with non-ASCII characters escaped: text that has no UTF-8 form (a lone surrogate
    such as ``"\\ud852"``, which a JSON request may carry and a message may echo) still makes a
    valid answer instead of failing while the response is encoded."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode()


class ApiError(Exception):
    """An error raised by a route: status, stable code, message, optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


class Failure(Exception):
    """A request refused or failed for a declared reason: a stable ``code`` and a message, no
    HTTP status (the edge looks it up in :data:`STATUS_BY_CODE`). Workers in other processes
    (the Renderer, Speech) send it back as data (:meth:`to_json`); the ingress raises it again
    with :meth:`raise_for`, and one handler answers it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from code and message when pickled (Ray sends escaped errors back)."""
        return (type(self), (self.code, self.message))

    def to_json(self) -> dict[str, Any]:
        """The failure as data across a handle. ``status`` is the table's, for callers that
        still read it from the data."""
        return {"status": status_of(self.code), "code": self.code, "message": self.message}

    @staticmethod
    def raise_for(out: dict[str, Any]) -> None:
        """Raise the failure a worker answered with (``{"error": {...}}``), if any."""
        err = out.get("error")
        if err is not None:
            raise Failure(err["code"], err["message"])


def error_body(code: str, message: str, detail: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "detail": message if detail is None else detail,
        **extra,
    }


def validation_error(errors: Sequence[Any]) -> ApiError:
    """A 422 from pydantic's error list: the first problem as the message, all as ``detail``."""
    problems = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return ApiError(422, "validation_error", message, detail=problems)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"{what} {ident!r} not found")


#: The one table from error codes to HTTP statuses. Inner layers (entities, the asset store,
#: the journal, the render and speech workers) raise errors with codes and know nothing of
#: HTTP; the handlers below look the status up here. Codes not listed are a 500.
STATUS_BY_CODE: dict[str, int] = {
    # entities (actors.errors, actors.catalog)
    "command_rejected": 400,
    "not_found": 404,
    "conflict": 409,
    "version_conflict": 409,
    "unavailable": 503,
    "overloaded": 503,
    "preset_not_found": 404,
    "preset_exists": 409,
    # the asset store (assets.errors)
    "asset_error": 500,
    "unsafe_name": 400,
    "asset_not_found": 404,
    "too_large": 413,
    "unsupported_media_type": 415,
    "invalid_asset": 422,
    "storage_error": 500,
    # quotas (serve_app.quotas): a count is a wait (429), storage is full (507)
    "render_quota": 429,
    "live_quota": 429,
    "storage_quota": 507,
    # the journal (events.errors.StorageError): the client should retry
    "storage_unavailable": 503,
    # renders (serve_app.rendering: Failure, and failed jobs' JobError)
    "validation_error": 422,
    "avatar_not_found": 404,
    "session_not_found": 404,
    "job_not_found": 404,
    "session_not_started": 409,
    "speech_failed": 422,
    "render_failed": 500,
    "render_abandoned": 500,
    # speech (serve_app.speaking.work: Failure)
    "text_too_long": 413,
    "empty_text": 422,
    "unknown_voice": 422,
    "invalid_speech_input": 422,
    "audio_too_large": 413,
    "invalid_audio": 422,
    "speech_engine_unavailable": 503,
    "synthesis_failed": 500,
    # live streams (serve_app.live: refusals sent back as data)
    "live_capacity": 503,
    "invalid_sdp": 422,
}
RETRY_AFTER_S = 1


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 500)


def _retry_headers(status: int, headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """Every 503 says when to try again."""
    if status != 503 or (headers and "Retry-After" in headers):
        return headers
    return {**(headers or {}), "Retry-After": str(RETRY_AFTER_S)}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        headers = _retry_headers(exc.status, exc.headers)
        body = error_body(exc.code, exc.message, **exc.details)
        return JSONResponse(body, exc.status, headers=headers)

    @app.exception_handler(Failure)
    async def _failure(request: Request, exc: Failure) -> JSONResponse:
        status = status_of(exc.code)
        body = error_body(exc.code, exc.message)
        return JSONResponse(body, status, headers=_retry_headers(status))

    @app.exception_handler(EntityError)
    async def _entity(request: Request, exc: EntityError) -> JSONResponse:
        status = status_of(exc.code)
        body = error_body(exc.code, exc.message, **exc.details)
        return JSONResponse(body, status, headers=_retry_headers(status))

    @app.exception_handler(AssetError)
    async def _asset(request: Request, exc: AssetError) -> JSONResponse:
        status = status_of(exc.code)
        if status in (500, 503):
            # the details (paths, the index's host and user) go to the log, not to clients
            log.error("asset storage failed on %s %s: %s", request.method, request.url.path, exc)
            message = "asset storage is unavailable; try again"
            body = error_body(exc.code, message, retryable=True)
            return JSONResponse(body, status, headers=_retry_headers(status))
        return JSONResponse(error_body(exc.code, str(exc)), status)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        # a journal that cannot be reached (server down, disk full, locked): retry later; the
        # details (paths, hosts) go to the log only
        log.error("journal failed on %s %s: %s", request.method, request.url.path, exc)
        code = "storage_unavailable"
        body = error_body(code, "the journal is unavailable; try again", retryable=True)
        return JSONResponse(body, status_of(code), headers=_retry_headers(status_of(code)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = validation_error(exc.errors())
        return JSONResponse(error_body(err.code, err.message, **err.details), err.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error"), 500)

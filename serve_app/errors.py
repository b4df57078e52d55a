"""Errors as JSON: ``{"code", "message", "detail"}`` with the right status, mapped in one place.

``detail`` repeats the message (or lists validation problems), so FastAPI clients that read
``detail`` keep working.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from actors.errors import EntityError
from assets.errors import AssetError

log = logging.getLogger(__name__)


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
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(EntityError)
    async def _entity(request: Request, exc: EntityError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, **exc.details), exc.status)

    @app.exception_handler(AssetError)
    async def _asset(request: Request, exc: AssetError) -> JSONResponse:
        if exc.status >= 500:
            # the details (paths, the index's host and user) go to the log, not to clients
            log.error("asset storage failed on %s %s: %s", request.method, request.url.path, exc)
            message = "asset storage is unavailable; try again"
            return JSONResponse(error_body(exc.code, message, retryable=True), exc.status)
        return JSONResponse(error_body(exc.code, str(exc)), exc.status)

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

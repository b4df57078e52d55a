"""The client's errors.

AvatarError
├── ApiError               the service answered with an error: status, code, message, detail
│   ├── BadRequest         400, 422 (code validation_error ...)
│   ├── Unauthorized       401, 403
│   ├── NotFound           404 (and WebSocket close 4404)
│   ├── Conflict           409 (a version conflict, a closed session)
│   ├── RateLimited        429 (retried first, with Retry-After)
│   └── Unavailable        500, 502, 503, 504 (retried first)
├── JobFailed              a render job ended in failure (its error as an ApiError's fields)
└── ConnectionFailed       the service could not be reached (after the retries)
"""

from __future__ import annotations

from typing import Any


class AvatarError(Exception):
    """Everything this client raises."""


class ApiError(AvatarError):
    """An error answer of the service: ``{"code", "message", "detail", ...}`` and its status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: Any = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = message if detail is None else detail
        self.body = body or {}
        self.retry_after = retry_after
        self.from_service = True
        """False when the answer was not the service's error JSON (a proxy's page)."""

    @classmethod
    def from_response(cls, status: int, body: Any, retry_after: float | None = None) -> ApiError:
        """The error of this status and JSON body (a body that is not ours still gives one)."""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = body["error"]  # {"error": {...}} (the edge's shape) or the flat one
        from_service = isinstance(body, dict) and "code" in body
        if not isinstance(body, dict) or "code" not in body:
            text = body if isinstance(body, str) else ""
            body = {
                "code": _DEFAULT_CODES.get(status, "error"),
                "message": text or f"HTTP {status}",
            }
        kind = _BY_STATUS.get(status, Unavailable if status >= 500 else ApiError)
        err = kind(
            status,
            str(body["code"]),
            str(body.get("message", "")),
            body.get("detail"),
            body,
            retry_after,
        )
        err.from_service = from_service
        return err


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class RateLimited(ApiError):
    pass


class Unavailable(ApiError):
    pass


class JobFailed(AvatarError):
    """A render job failed: ``job`` is its last view; ``status``, ``code`` and ``message`` are
    its error's."""

    def __init__(self, job: Any) -> None:
        err = job.error
        self.job = job
        self.status = err.status if err else 500
        self.code = err.code if err else "job_failed"
        self.message = err.message if err else "the job failed"
        super().__init__(f"job {job.job_id} failed: {self.code}: {self.message}")


class ConnectionFailed(AvatarError):
    """The service could not be reached, or the connection broke, after every retry."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    422: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}
_DEFAULT_CODES = {
    404: "not_found",
    429: "too_many_requests",
    502: "bad_gateway",
    503: "unavailable",
}

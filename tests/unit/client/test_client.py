"""The Python client's pieces that need no service: errors from the service's JSON, auth on
HTTP and WebSocket URLs, backoff, the CLI's event lines, and that it stays light to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from client import ApiError, BadRequest, Conflict, NotFound, RateLimited, Unavailable
from client.cli import event_line
from client.settings import ClientSettings
from client.transport import Transport, _retried
from events.jobs import JobError, JobState
from serve_app.rendering.jobs import job_view
from serve_app.schemas.events import RecordedEvent
from serve_app.schemas.jobs import JobView


def test_import_client_loads_neither_ray_nor_fastapi() -> None:
    code = (
        "import sys, client, client.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'fastapi', 'starlette'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequest),
        (422, BadRequest),
        (404, NotFound),
        (409, Conflict),
        (429, RateLimited),
        (503, Unavailable),
        (500, Unavailable),
        (418, ApiError),
    ],
)
def test_errors_carry_the_services_code_message_and_detail(
    status: int, kind: type[ApiError]
) -> None:
    problems = [{"loc": ["body", "emotion"], "msg": "bad", "type": "literal_error"}]
    flat = {"code": "validation_error", "message": "emotion: bad", "detail": problems}
    for body in (flat, {"error": flat}):  # the routes' shape and the edge's
        err = ApiError.from_response(status, body, retry_after=1.5)
        assert type(err) is kind
        assert (err.status, err.code, err.message, err.detail) == (
            status,
            "validation_error",
            "emotion: bad",
            problems,
        )
        assert err.retry_after == 1.5 and "validation_error" in str(err)


def test_an_answer_that_is_not_ours_still_makes_an_error() -> None:
    err = ApiError.from_response(502, "<html>bad gateway</html>")
    assert isinstance(err, Unavailable) and err.code == "bad_gateway"
    assert err.message == "<html>bad gateway</html>" and err.detail == err.message
    assert ApiError.from_response(404, None).code == "not_found"
    # a plain page is a proxy's (retried when 5xx); the service's own 500 JSON is a bug (not)
    assert not ApiError.from_response(500, "Internal Server Error").from_service
    assert ApiError.from_response(500, {"code": "internal_error", "message": "x"}).from_service
    assert _retried(ApiError.from_response(500, "Internal Server Error"))
    assert not _retried(ApiError.from_response(500, {"code": "internal_error", "message": "x"}))


def test_a_key_goes_as_a_bearer_header_and_only_a_token_in_a_websocket_url() -> None:
    t = Transport("http://svc:8000/", "avk_123", ClientSettings())
    assert t.headers()["Authorization"] == "Bearer avk_123"
    assert t.ws_url("/api/v1/avatars/ada/stream", {"from_version": 3}) == (
        "ws://svc:8000/api/v1/avatars/ada/stream?from_version=3"
    )
    token = Transport("http://svc:8000/", "avt_abc.def", ClientSettings())
    assert token.ws_url("/x") == "ws://svc:8000/x?token=avt_abc.def"
    anonymous = Transport("https://svc", None, ClientSettings())
    assert "Authorization" not in anonymous.headers()
    assert anonymous.ws_url("/x") == "wss://svc/x"


def test_backoff_doubles_up_to_its_cap() -> None:
    s = ClientSettings(backoff_s=0.25, max_backoff_s=1.0)
    assert [s.backoff(n) for n in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_job_view_is_the_shared_model() -> None:
    job = JobState(
        job_id="job-" + "a" * 32,
        kind="replay",
        status="failed",
        attempts=2,
        error=JobError(status=500, code="render_failed", message="boom"),
    )
    view = job_view(job)
    assert "url" not in view and "worker" not in view and "payload" not in view
    parsed = JobView.model_validate(view)
    assert parsed.finished and parsed.error is not None and parsed.error.code == "render_failed"


def test_event_lines() -> None:
    event = RecordedEvent(
        stream_id="avatar:default:ada",
        version=7,
        event_id="e",
        type="SpeechStarted",
        recorded_at="2026-01-01T00:00:00+00:00",
        data={"text": "Hello", "track": {"big": 1}, "duration_ms": 900},
    )
    plain = event_line(event, colour=False)
    assert plain.split() == ["7", "SpeechStarted", 'text="Hello"', "duration_ms=900"]
    assert "\x1b[32m" in event_line(event, colour=True)

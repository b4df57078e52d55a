"""One table at the edge: inner errors carry codes; a journal StorageError is a 503 with
Retry-After, whatever the route."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from actors.errors import Conflict, NotFound, Overloaded, Unavailable
from assets.errors import AssetNotFound, AssetTooLarge
from events.errors import StorageError
from serve_app.errors import STATUS_BY_CODE, ApiError, Failure, install_error_handlers
from serve_app.rendering.work import RenderFailure
from serve_app.speaking.work import SpeechFailure


def _app(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    async def fail() -> None:
        raise exc

    return app


def _get(app: FastAPI) -> tuple[int, dict[str, str], dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "raw_path": b"/x",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("t", 80),
        "client": ("t", 1),
        "http_version": "1.1",
    }
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    return start["status"], headers, body


def test_a_journal_storage_error_is_a_503_with_retry_after_and_no_detail() -> None:
    status, headers, body = _get(_app(StorageError("sqlite failed at /secret/path")))
    assert status == 503 and headers["retry-after"] == "1"
    assert body["code"] == "storage_unavailable" and body["retryable"] is True
    assert "/secret/path" not in json.dumps(body)


def test_inner_errors_get_their_status_from_the_table() -> None:
    for exc, status in [
        (NotFound("gone"), 404),
        (Conflict("closed"), 409),
        (Unavailable("actor down"), 503),
        (Overloaded("too many commands waiting"), 503),  # shed: retry after a pause
        (AssetNotFound("a"), 404),
        (AssetTooLarge("big"), 413),
    ]:
        got, headers, body = _get(_app(exc))
        assert got == status == STATUS_BY_CODE[body["code"]], exc
        assert ("retry-after" in headers) == (status == 503)


def test_a_message_with_text_that_has_no_utf8_form_is_still_an_answer() -> None:
    status, _, body = _get(_app(ApiError(422, "speech_failed", "cannot say '\ud871'")))
    assert status == 422 and body["message"] == "cannot say '\ud871'"


def test_render_and_speech_failures_get_their_status_from_the_table() -> None:
    for exc, status in [
        (RenderFailure("session_not_found", "no"), 404),
        (RenderFailure("session_not_started", "not yet"), 409),
        (SpeechFailure("text_too_long", "long"), 413),
        (SpeechFailure("unknown_voice", "who"), 422),
        (SpeechFailure("speech_engine_unavailable", "no espeak"), 503),
    ]:
        got, headers, body = _get(_app(exc))
        assert (got, body["code"], body["message"]) == (status, exc.code, exc.message), exc
        assert ("retry-after" in headers) == (status == 503)


def test_a_failure_sent_back_as_data_is_raised_again_with_its_code() -> None:
    sent = {"error": SpeechFailure("invalid_audio", "not base64").to_json()}
    with pytest.raises(Failure) as info:
        Failure.raise_for(sent)
    assert (info.value.code, info.value.message) == ("invalid_audio", "not base64")
    assert sent["error"]["status"] == 422  # what callers that still read it get: the table's
    Failure.raise_for({"result": 1})  # no error: nothing raised


def test_a_failure_survives_pickling_with_its_class_and_code() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(RenderFailure("session_not_started", "not yet")))
    assert type(again) is RenderFailure and (again.code, again.message) == (
        "session_not_started",
        "not yet",
    )


def test_every_code_the_workers_raise_is_in_the_table() -> None:
    """A code missing from the table would answer 500: scan the workers' failures."""
    import serve_app

    root = Path(str(serve_app.__file__)).parent
    sources = [*(root / "rendering").glob("*.py"), *(root / "speaking").glob("*.py")]
    raised = set()
    for path in [*sources, root / "renderer.py"]:
        raised |= set(
            re.findall(
                r'(?:Failure\(\s*|_fail\(\s*job_id, attempt, |fail\(|job_error\(\s*)"(\w+)"',
                path.read_text(),
            )
        )
    expected = {"session_not_found", "speech_failed", "text_too_long", "render_failed"}
    assert expected | {"render_abandoned", "unavailable"} <= raised
    assert raised - set(STATUS_BY_CODE) == set()

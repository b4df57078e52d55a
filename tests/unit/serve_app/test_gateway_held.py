"""The replica's one Gateway is held by the app that serves the request (no module-level slot):
routes and middlewares find it from their connection or scope."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from serve_app.app import create_app
from serve_app.gateway import gateway_of

pytestmark = pytest.mark.timeout(30)


def _request(app: Any) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "app": app})


def test_each_app_holds_its_own_gateway() -> None:
    first, second = object(), object()  # stand-ins: only their identity is checked
    app_a, app_b = create_app(first), create_app(second)  # type: ignore[arg-type]
    assert gateway_of(_request(app_a)) is first and gateway_of(_request(app_b)) is second
    assert gateway_of({"type": "http", "app": app_b}) is second  # a middleware's scope


def test_an_app_without_a_gateway_says_so() -> None:
    with pytest.raises(RuntimeError, match="holds no Gateway"):
        gateway_of(_request(create_app()))
    with pytest.raises(RuntimeError, match="holds no Gateway"):
        gateway_of({"type": "http"})

"""The app's routes are tried in order (the hot ones first): none may hide another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from ray.serve._private.thirdparty.get_asgi_route_name import get_asgi_route_name

from serve_app.app import create_app

pytestmark = pytest.mark.timeout(60)

APP = create_app()


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """(full path, methods) of every route, in the order they are tried."""
    for route in routes:
        included = getattr(getattr(route, "original_router", None), "routes", None)
        if included is not None:  # FastAPI >= 0.137 nests include_router's routes
            yield from _routes(included, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path, sorted(getattr(route, "methods", None) or ["WEBSOCKET"])


ROUTES = list(_routes(APP.routes))


def test_the_avatar_routes_come_first_after_health() -> None:
    paths = [path for path, _ in ROUTES]
    first_avatar = paths.index("/api/v1/avatars/{avatar_id}/state")
    assert first_avatar < 25, paths[:first_avatar]  # was 73rd: every request paid for the scan


@pytest.mark.parametrize(("path", "methods"), ROUTES, ids=[f"{m[0]} {p}" for p, m in ROUTES])
def test_every_route_resolves_to_itself(path: str, methods: list[str]) -> None:
    # the route a request for this route's own path reaches first (how Serve names it, the
    # order FastAPI tries them in): an earlier /{avatar_id}/<word> would take a literal path
    concrete = re.sub(r"\{[^}]+\}", "some-id", path)
    for method in methods:
        kind = "websocket" if method == "WEBSOCKET" else "http"
        scope = {"type": kind, "method": method, "path": concrete, "root_path": "", "headers": []}
        assert get_asgi_route_name(APP, scope) == path, (method, concrete)

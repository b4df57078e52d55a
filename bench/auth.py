"""What authentication costs a request: the edge middleware with and without keys.

In process (no Ray, no network), so the figure is the middleware's own work, not noise from a
loaded machine: each variant sends the same GET through an ASGI stack many times and times
each call. Variants: the bare app; auth ``none`` (today's default, no key); an API key
(``Authorization: Bearer``, the key ring's dict lookup and the rate limiter's count); a scoped
token (HMAC check and scope match); and the whole FastAPI app (CORS, latency, idempotency and
auth middlewares, routing, a small JSON route) without and with a key. The issue's target is
<= 0.3 ms p50 added by authentication.

Run: ``python -m bench.auth [--no-record]``. Appends to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import percentile, report
from events import open_journal
from serve_app.app import create_app
from serve_app.auth.edge import AuthMiddleware
from serve_app.auth.keys import KeyRing, issue_key
from serve_app.auth.tokens import TokenClaims, make_token
from serve_app.limits import RateLimiter
from serve_app.settings import Settings

N = 20_000


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
    }


async def _time(app: Any, scope: dict[str, Any], n: int = N) -> list[float]:
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):  # warm up
        await app(dict(scope), receive, send)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await app(dict(scope), receive, send)
        times.append(time.perf_counter() - t)
    assert set(statuses) == {200}, set(statuses)
    return times


def _stub(settings: Settings, journal: Any, secret: bytes) -> Any:
    """What the middleware reads of the replica's Gateway (no Ray here)."""
    ring = KeyRing(journal, settings.key_refresh_s)
    ring.refresh()
    limiter = RateLimiter(
        {"command": 10**9, "render": 10**9, "speech": 10**9},
        {"command": 1.0, "render": 60.0, "speech": 60.0},
    )
    return SimpleNamespace(
        settings=settings,
        keys=ring,
        limiter=limiter,
        tenant=settings.tenant,
        token_secret=lambda: secret,
        for_tenant=lambda t: None,
    )


async def run() -> list[tuple[str, str]]:
    data = Path(tempfile.mkdtemp(prefix="bench-auth-"))
    journal = open_journal(f"sqlite:///{data}/journal.sqlite")
    _, key = issue_key(journal, "acme")
    secret = b"s" * 32
    token = make_token(
        secret, TokenClaims(tenant="acme", expires_at=time.time() + 3600, sessions=("s1",))
    )
    bearer = [(b"authorization", f"Bearer {key}".encode())]
    open_s = Settings(data_dir=data, auth="none")
    keyed_s = Settings(data_dir=data, auth="keys")
    path = "/api/v1/avatars/session/s1/events"
    results: dict[str, list[float]] = {}

    def holding(settings: Settings) -> Any:
        """What the middleware finds in ``scope["app"]``: an app holding the stub gateway."""
        return SimpleNamespace(state=SimpleNamespace(gateway=_stub(settings, journal, secret)))

    results["bare"] = await _time(_ok, _scope(path, []))
    open_app, keyed_app = holding(open_s), holding(keyed_s)
    results["none"] = await _time(AuthMiddleware(_ok), {**_scope(path, []), "app": open_app})
    results["key"] = await _time(AuthMiddleware(_ok), {**_scope(path, bearer), "app": keyed_app})
    token_h = [(b"authorization", f"Bearer {token}".encode())]
    scope = {**_scope(path, token_h), "app": keyed_app}
    results["token"] = await _time(AuthMiddleware(_ok), scope)

    visemes = "/api/v1/avatars/visemes"
    app = create_app(_stub(open_s, journal, secret))
    results["app none"] = await _time(app, _scope(visemes, []), N // 4)
    app = create_app(_stub(keyed_s, journal, secret))
    results["app key"] = await _time(app, _scope(visemes, bearer), N // 4)
    journal.close()

    def p50(name: str) -> float:
        return percentile(results[name], 50) * 1e6

    rows = [
        (
            f"{name}: p50 / p99 µs per request",
            f"{p50(name):.1f} / {percentile(results[name], 99) * 1e6:.1f}",
        )
        for name in results
    ]
    rows += [
        ("added by auth with a key (key - none), p50 µs", f"{p50('key') - p50('none'):.1f}"),
        ("added by auth with a token (token - none), p50 µs", f"{p50('token') - p50('none'):.1f}"),
        (
            "whole app, key vs no keys, p50 µs added (target <= 300)",
            f"{p50('app key') - p50('app none'):.1f}",
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    rows = asyncio.run(run())
    report(
        "Authentication overhead (bench/auth.py)",
        rows,
        f"In process, {N:,} GETs per middleware variant ({N // 4:,} through the whole app); "
        "no Ray, no network.",
        save=not args.no_record,
    )


if __name__ == "__main__":
    main()

"""CORS from the settings: Starlette's middleware, built on the first request (the settings
reach the ingress replica after the app object is made).

No origins by default (browsers on other origins are refused); ``*`` allows any origin but
never with credentials (refused by the settings); preflights answer the methods and headers
the API uses; responses that depend on the origin say ``Vary: Origin``.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from serve_app.gateway import gateway_of

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
HEADERS = ["Authorization", "X-API-Key", "Content-Type", "If-Match", "Idempotency-Key"]
EXPOSED = ["ETag", "Retry-After", "Location", "X-Avatar-Version", "WWW-Authenticate"]


class Cors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            settings = gateway_of(scope).settings
            if not settings.cors_origins:
                self._inner = self.app
            else:
                self._inner = CORSMiddleware(
                    self.app,
                    allow_origins=settings.cors_origins,
                    allow_credentials=settings.cors_credentials,
                    allow_methods=METHODS,
                    allow_headers=HEADERS,
                    expose_headers=EXPOSED,
                    max_age=600,
                )
        await self._inner(scope, receive, send)

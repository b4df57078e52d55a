"""``AvatarClient``: the async client of the Avatar Service, one attribute per route group."""

from __future__ import annotations

import os
from dataclasses import replace
from types import TracebackType
from typing import Any

import aiohttp

from client.avatars import AvatarHandle
from client.jobs import Jobs
from client.library import Assets, Config, Models, Presets
from client.media import Render, Speech
from client.sessions import SessionHandle, Sessions
from client.settings import ClientSettings
from client.transport import Transport
from serve_app.schemas import API_PREFIX

DEFAULT_URL = "http://127.0.0.1:8000"

JSON = dict[str, Any]


class AvatarClient:
    """``async with AvatarClient("http://127.0.0.1:8000", api_key=...) as c:``

    - ``c.avatar("ada")``: state, emotions, animations, ``speak``, ``render``, ``events()``;
    - ``c.sessions.open(...)``, ``c.session(id)``: markers, transcript, ``replay()``, live;
    - ``c.speech``, ``c.render``, ``c.jobs`` (``wait``), ``c.assets``, ``c.models``,
      ``c.presets``, ``c.config``; ``c.status()``, ``c.health()``, ``c.performance()``.

    ``base_url`` defaults to ``$AVATAR_URL`` or the local service; ``api_key`` to
    ``$AVATAR_API_KEY`` (sent as ``Authorization: Bearer``; a scoped token also as ``?token=``
    on WebSockets).
    Settings (timeouts, retries, idempotency keys) are :class:`ClientSettings` or its fields
    as keywords.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        settings: ClientSettings | None = None,
        session: aiohttp.ClientSession | None = None,
        **setting_fields: Any,
    ) -> None:
        base_url = base_url or os.environ.get("AVATAR_URL") or DEFAULT_URL
        api_key = api_key if api_key is not None else os.environ.get("AVATAR_API_KEY") or None
        chosen = replace(settings or ClientSettings(), **setting_fields)
        self.transport = Transport(base_url, api_key, chosen, session)
        t = self.transport
        self.jobs = Jobs(t)
        self.sessions = Sessions(t)
        self.speech = Speech(t)
        self.render = Render(t, self.jobs)
        self.assets = Assets(t)
        self.models = Models(t)
        self.presets = Presets(t)
        self.config = Config(t)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def settings(self) -> ClientSettings:
        return self.transport.settings

    def avatar(self, avatar_id: str) -> AvatarHandle:
        return AvatarHandle(self.transport, avatar_id)

    def session(self, session_id: str) -> SessionHandle:
        return SessionHandle(self.transport, session_id)

    async def health(self) -> JSON:
        return await self._get("/health")

    async def version(self) -> JSON:
        return await self._get("/version")

    async def status(self) -> JSON:
        """Journal reachability and counts, live actors, renderer replicas."""
        return await self._get(f"{API_PREFIX}/status")

    async def performance(self) -> JSON:
        return await self._get(f"{API_PREFIX}/performance")

    async def _get(self, path: str) -> JSON:
        out: JSON = (await self.transport.request("GET", path)).json()
        return out

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> AvatarClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

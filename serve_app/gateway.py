"""What routes use to reach the domain: entity actors (through the directory) and the journal.

Reads of history (event pages, state at a version, WebSocket catch-up) go straight to the
journal, so they never queue behind an entity's commands; commands and current state go to the
entity's actor, the single writer of its stream.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
import time
import uuid
from typing import Any, cast

from pydantic import BaseModel
from ray.serve.handle import DeploymentHandle
from starlette.requests import HTTPConnection
from starlette.types import Scope

from actors.commands import Touch
from actors.directory import make_directory
from actors.naming import Kind, stream_id
from actors.remote import shared_journal
from assets import AssetStore
from events.avatar import avatar_folder
from events.fold import Folder
from events.journal import Journal
from events.records import RecordedEvent
from events.replay import load_state
from events.session import session_folder
from events.tailer import JournalTailer
from serve_app.auth.keys import KeyRing, token_secret
from serve_app.catalog import Catalogs
from serve_app.errors import ApiError, not_found
from serve_app.limits import RateLimiter, SharedCounter
from serve_app.rendering.driver import JobDriver
from serve_app.rendering.jobs import JobStore
from serve_app.rendering.outputs import shared_asset_store
from serve_app.settings import Settings

_PROCESS = uuid.uuid4().hex[:12]
_commands = itertools.count(1)
"""Keys of commands sent without one (the directory may retry them): this process's random
prefix and a counter, unique without a call to the OS per command."""

FOLDERS: dict[Kind, Folder[Any]] = {"avatar": avatar_folder, "session": session_folder}


class Gateway:
    """One per ingress replica; :meth:`for_tenant` gives the view a request uses (the tenant
    comes from its key), sharing the journal, directory, asset store and tail."""

    def __init__(
        self, settings: Settings, deployments: dict[str, DeploymentHandle[Any]] | None = None
    ) -> None:
        self.settings = settings
        self.deployments: dict[str, DeploymentHandle[Any]] = dict(deployments or {})
        self.tenant = settings.tenant
        self.journal: Journal = shared_journal(settings.journal_url)
        self.directory = make_directory(
            settings.entity_config(),
            settings.placement,
            settings.host_count,
            settings.max_entities_per_host,
        )
        self.assets: AssetStore = shared_asset_store(settings)
        self.tailer = JournalTailer(self.journal)
        """This process's one tail of the global log: waiters on streams (jobs) wake on it."""
        self.jobs = JobStore(self.journal, self.tenant)
        self.render_jobs = JobDriver(self.jobs, self.deployments.get("renderer"))
        self.catalogs = Catalogs.of(self.journal, self.tenant)
        self.started_at = time.time()
        self.keys = KeyRing(self.journal, settings.key_refresh_s)
        self.limiter = RateLimiter(
            {
                "command": settings.rate_commands_per_s,
                "render": settings.rate_renders_per_min,
                "speech": settings.rate_speech_per_min,
            },
            {"command": 1.0, "render": 60.0, "speech": 60.0},
            shared=SharedCounter(),
        )
        self._views: dict[str, Gateway] = {self.tenant: self}  # shared by every view
        self._views_lock = threading.Lock()
        self._secret: bytes | None = None

    def for_tenant(self, tenant: str) -> Gateway:
        """This gateway as ``tenant`` sees it (one view per tenant, kept: the view holds the
        tenant's catalogs, job store and job driver)."""
        view = self._views.get(tenant)
        if view is not None:
            return view
        with self._views_lock:
            view = self._views.get(tenant)
            if view is None:
                view = copy.copy(self)
                view.tenant = tenant
                view.jobs = JobStore(self.journal, tenant)
                view.render_jobs = JobDriver(view.jobs, self.deployments.get("renderer"))
                view.catalogs = Catalogs.of(self.journal, tenant)
                self._views[tenant] = view
            return view

    def views(self) -> list[Gateway]:
        return list(self._views.values())

    def token_secret(self) -> bytes:
        """The HMAC key of scoped tokens: the setting, else the journal's (made once)."""
        if self._secret is None:
            configured = self.settings.token_secret
            self._secret = configured.encode() if configured else token_secret(self.journal)
        return self._secret

    def stream(self, kind: Kind, entity_id: str) -> str:
        return stream_id(kind, self.tenant, entity_id)

    # ------------------------------------------------------------------ commands and state

    async def command(
        self,
        kind: Kind,
        entity_id: str,
        command: BaseModel,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Execute ``command``; returns the CommandResult fields plus ``state``.

        Without a client key, one is made up so that the directory may retry safely.
        """
        key = idempotency_key or f"auto-{_PROCESS}-{next(_commands)}"
        return await self.directory.call(  # type: ignore[no-any-return]
            kind, self.tenant, entity_id, "execute", command, if_match, key, metadata
        )

    async def avatar(self, avatar_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """The one read of an avatar: its entity's current view (``version`` 0 and the initial
        state for an avatar never recorded; a read records nothing). With ``idempotency_key``,
        also ``recalled``: the result of the command recorded under that key, if any."""
        view: dict[str, Any] = await self.directory.call(
            "avatar", self.tenant, avatar_id, "view", idempotency_key
        )
        return view

    async def create_avatar(self, avatar_id: str) -> dict[str, Any]:
        """Record the avatar if it never was (``AvatarCreated``; nothing when it exists): a
        write, for routes that must point at a recorded avatar (a new session)."""
        return await self.command("avatar", avatar_id, Touch())

    async def session(self, session_id: str) -> dict[str, Any]:
        """Current view of a session; 404 when it never existed (no actor is created for that)."""
        await self.require_session(session_id)
        return await self.directory.call(  # type: ignore[no-any-return]
            "session", self.tenant, session_id, "view"
        )

    async def require_session(self, session_id: str) -> None:
        exists = await asyncio.to_thread(
            self.journal.highest_version, self.stream("session", session_id)
        )
        if not exists:
            raise not_found("session", session_id)

    async def wait(
        self, kind: Kind, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]:
        return await self.directory.call(  # type: ignore[no-any-return]
            kind, self.tenant, entity_id, "wait", after_version, timeout
        )

    # ------------------------------------------------------------------ history

    async def events(
        self,
        kind: Kind,
        entity_id: str,
        from_version: int,
        limit: int,
        to_version: int | None = None,
    ) -> list[RecordedEvent]:
        return await asyncio.to_thread(
            self.journal.read, self.stream(kind, entity_id), from_version, to_version, limit
        )

    async def highest_version(self, kind: Kind, entity_id: str) -> int:
        return await asyncio.to_thread(self.journal.highest_version, self.stream(kind, entity_id))

    async def state_at(self, kind: Kind, entity_id: str, version: int) -> dict[str, Any]:
        highest = await self.highest_version(kind, entity_id)
        if version > highest:
            raise ApiError(
                404,
                "version_not_found",
                f"{kind} {entity_id!r} has no version {version} (highest {highest})",
                highest_version=highest,
            )
        state = await asyncio.to_thread(
            load_state, self.journal, self.stream(kind, entity_id), FOLDERS[kind], version=version
        )
        return {"version": state.version, "state": state.model_dump(mode="json")}


def gateway_of(conn: HTTPConnection | Scope) -> Gateway:
    """The replica's one Gateway, held by the app that serves the request (``app.state``, set by
    :func:`serve_app.app.create_app`); from a route's connection or a middleware's scope."""
    app = conn.app if isinstance(conn, HTTPConnection) else conn.get("app")
    found = getattr(getattr(app, "state", None), "gateway", None)
    if found is None:
        raise RuntimeError("the app serving this request holds no Gateway (see create_app)")
    return cast("Gateway", found)

"""Quotas: what one API key may hold at once, and what one tenant may store.

- **Render jobs** queued or running, per key (``quota_render_jobs``): counted in the journal,
  in the tenant's open-jobs index, which records the key of each job; a listing is appended at
  the version the count was made at (``serve_app.rendering.jobs._Index.list_job``), so two
  ingress replicas never go over together.
- **Live streams** per key (``quota_live_streams``): counted by the live registry actor, which
  reserves the slot before the offer goes to a Live replica (``actors.live``).
- **Stored bytes** per tenant (``quota_storage_bytes``): the sum of the sizes of its assets in
  the asset index (uploads, rendered videos, speech audio). Work whose output is stored (a
  render) is refused up front when the tenant is at its quota, and every write is checked again
  in the asset index's write transaction.

Over a count: 429 with ``Retry-After``; over the storage quota: 507 (a single upload over the
upload limit stays a 413). Counts apply to requests made with a key (as the rate limits do);
storage applies to every tenant, the ``default`` one included. The defaults are far above what
one user does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import HTTPConnection

from assets import StorageQuotaExceeded
from events.jobs import JobKind
from serve_app.auth.edge import principal_of
from serve_app.errors import ApiError, status_of
from serve_app.gateway import Gateway
from serve_app.rendering.jobs import JobQuotaExceeded, JobState

RETRY_AFTER_S = 5
"""What a 429 for a quota asks clients to wait: until one of their jobs or streams ends."""

STORAGE_FULL: dict[int | str, dict[str, Any]] = {
    507: {"description": "The tenant's storage quota is full (error JSON): delete assets."}
}
"""The OpenAPI entry of routes whose output is stored."""


def over_quota(code: str, message: str, **details: Any) -> ApiError:
    status = status_of(code)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 429 else None
    return ApiError(status, code, message, headers=headers, **details)


async def require_room(gw: Gateway) -> None:
    """507 when the request's tenant already stores all its quota allows."""
    if await asyncio.to_thread(gw.assets.over_quota, gw.tenant):
        e = StorageQuotaExceeded(gw.settings.quota_storage_bytes)
        raise over_quota(e.code, str(e), quota_bytes=e.quota)


async def create_render_job(
    gw: Gateway,
    conn: HTTPConnection,
    kind: JobKind,
    payload: dict[str, Any],
    *,
    session_id: str | None = None,
    avatar_id: str | None = None,
) -> JobState:
    """A new render job, within the tenant's storage and the key's concurrent-job quota."""
    await require_room(gw)
    key_id = principal_of(conn).key_id
    try:
        return await gw.render_jobs.create(
            kind,
            payload,
            session_id=session_id,
            avatar_id=avatar_id,
            owner=key_id,
            max_open=None if key_id is None else gw.settings.quota_render_jobs,
        )
    except JobQuotaExceeded as e:
        raise over_quota(e.code, str(e), limit=e.limit) from None

"""``/admin/keys``: issue, list and revoke API keys, guarded by the admin key
(``AVATAR_ADMIN_KEY``; unset: these routes answer 401)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from actors.naming import ID_PATTERN
from events.keys import KeyRecord
from serve_app.auth.keys import issue_key, list_keys, revoke_key
from serve_app.errors import ApiError
from serve_app.gateway import Gateway, gateway_of

router = APIRouter(prefix="/admin", tags=["admin"])

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def admin_gateway(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> Gateway:
    gw = gateway_of(request)
    expected = gw.settings.admin_key
    given = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
    if not expected or not given or not hmac.compare_digest(_digest(given), _digest(expected)):
        raise ApiError(401, "unauthorized", "the admin key is required", headers=_CHALLENGE)
    return gw


AdminDep = Annotated[Gateway, Depends(admin_gateway)]


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(pattern=ID_PATTERN)
    name: str = Field("", max_length=100)


def _shown(record: KeyRecord) -> dict[str, Any]:
    return record.model_dump(exclude={"digest"})


@router.post("/keys", status_code=201, summary="Issue an API key (shown once)")
async def create_key(body: NewKey, gw: AdminDep) -> dict[str, Any]:
    record, key = await asyncio.to_thread(issue_key, gw.journal, body.tenant, body.name)
    await gw.keys.recheck(0)
    return {**_shown(record), "key": key}


@router.get("/keys", summary="List keys (id, prefix, tenant; never the key)")
async def get_keys(
    gw: AdminDep, tenant: str | None = Query(None, pattern=ID_PATTERN)
) -> dict[str, Any]:
    keys = await asyncio.to_thread(list_keys, gw.journal, tenant)
    return {"keys": [_shown(k) for k in keys]}


@router.delete("/keys/{key_id}", summary="Revoke a key (and the tokens made with it)")
async def delete_key(key_id: str, gw: AdminDep) -> dict[str, Any]:
    record = await asyncio.to_thread(revoke_key, gw.journal, key_id)
    if record is None:
        raise ApiError(404, "key_not_found", f"key {key_id!r} not found")
    await gw.keys.recheck(0)
    return _shown(record)

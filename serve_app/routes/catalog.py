"""Presets (a tenant-wide, event-sourced catalog) and customisation of an avatar's looks.

``POST /customize`` merges the traits given over a base: the preset's traits when ``preset_id``
is given, else the avatar's current traits (the defaults without an avatar). With ``avatar_id``
the result is recorded as a ``Customized`` event; without it nothing is recorded and the merged
traits come back as a preview (render them with ``POST /render`` and ``"traits"``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response

from actors.commands import Customize
from actors.naming import ID_PATTERN
from actors.traits import merge_traits
from events.avatar import Traits
from events.presets import Preset
from serve_app.gateway import Gateway
from serve_app.http import API_PREFIX, IdempotencyKey, IfMatch, parse_if_match, set_version
from serve_app.routes.deps import GatewayDep
from serve_app.schemas.catalog import (
    CustomizeRequest,
    CustomizeView,
    PresetCreate,
    PresetList,
    PresetPatch,
    PresetView,
)

router = APIRouter(tags=["presets"])

PresetId = Annotated[str, Path(pattern=ID_PATTERN, description="A preset's id.")]


def _view(gw: Gateway, preset: Preset) -> PresetView:
    return PresetView(
        **preset.model_dump(), builtin=gw.catalogs.presets.is_builtin(preset.preset_id)
    )


@router.get("/presets", response_model=PresetList, summary="List the presets")
async def list_presets(gw: GatewayDep) -> PresetList:
    found, version = await asyncio.to_thread(gw.catalogs.presets.listing)
    views = [_view(gw, p) for p in found.values()]
    return PresetList(presets=views, count=len(views), version=version)


@router.get("/presets/{preset_id}", response_model=PresetView, summary="One preset")
async def get_preset(preset_id: PresetId, gw: GatewayDep) -> PresetView:
    return _view(gw, await asyncio.to_thread(gw.catalogs.presets.get, preset_id))


@router.post(
    "/presets",
    response_model=PresetView,
    status_code=201,
    summary="Create a preset (traits omitted take the defaults)",
)
async def create_preset(body: PresetCreate, gw: GatewayDep, response: Response) -> PresetView:
    traits = merge_traits(Traits(), body.traits)
    preset = await asyncio.to_thread(
        gw.catalogs.presets.create,
        body.preset_id,
        body.name or body.preset_id,
        body.description,
        traits,
    )
    response.headers["Location"] = f"{API_PREFIX}/presets/{preset.preset_id}"
    return _view(gw, preset)


@router.patch(
    "/presets/{preset_id}",
    response_model=PresetView,
    summary="Change a preset's name, description or some traits",
)
async def patch_preset(preset_id: PresetId, body: PresetPatch, gw: GatewayDep) -> PresetView:
    presets = gw.catalogs.presets
    preset = await asyncio.to_thread(
        lambda: presets.update(
            preset_id, name=body.name, description=body.description, traits=body.traits
        )
    )
    return _view(gw, preset)


@router.delete(
    "/presets/{preset_id}",
    status_code=204,
    summary="Delete a preset (built-ins too; recorded, so it stays deleted)",
)
async def delete_preset(preset_id: PresetId, gw: GatewayDep) -> Response:
    await asyncio.to_thread(gw.catalogs.presets.delete, preset_id)
    return Response(status_code=204)


@router.post(
    "/customize",
    response_model=CustomizeView,
    summary="Set an avatar's traits (over a preset's or its own), or preview them",
)
async def customize(
    body: CustomizeRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> CustomizeView:
    preset = None
    if body.preset_id is not None:
        preset = await asyncio.to_thread(gw.catalogs.presets.get, body.preset_id)
    if body.avatar_id is None:
        base = Traits() if preset is None else preset.traits
        return CustomizeView(
            avatar_id=None,
            preset_id=body.preset_id,
            traits=merge_traits(base, body.traits),
            recorded=False,
            version=None,
        )
    result = await gw.command(
        "avatar",
        body.avatar_id,
        Customize(
            changes=body.traits,
            base=None if preset is None else preset.traits,
            preset_id=body.preset_id if preset is not None else None,
        ),
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    state = result["state"]
    return CustomizeView(
        avatar_id=body.avatar_id,
        preset_id=state.get("preset_id"),
        traits=Traits.model_validate(state["traits"]),
        recorded=True,
        version=result["version"],
    )

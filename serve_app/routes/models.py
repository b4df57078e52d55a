"""Model routes: the built-in face rigs and the tenant's uploaded glTF/GLB/FBX models; selecting
one for an avatar (the ``SelectModel`` command, recorded as ``ModelSelected``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from actors.commands import SelectModel
from assets import BUILTIN_MODELS, AssetInfo, AssetNotFound, UnsafeName
from serve_app.errors import ApiError
from serve_app.gateway import Gateway
from serve_app.http import IdempotencyKey, IfMatch, parse_if_match, set_version
from serve_app.rendering.outputs import content_url
from serve_app.routes.deps import GatewayDep
from serve_app.schemas.models import ModelList, ModelView, SelectedModel, SelectModelRequest

router = APIRouter(prefix="/models", tags=["models"])

_PAGE = 500


def uploaded_view(info: AssetInfo) -> ModelView:
    model: dict[str, Any] = info.meta.get("model", {})
    return ModelView(
        model_id=info.asset_id,
        name=info.name,
        source="uploaded",
        format=info.format or None,
        asset_id=info.asset_id,
        url=content_url(info.asset_id),
        size=info.size,
        sha256=info.sha256,
        morph_targets=model.get("morph_targets"),
        arkit=model.get("arkit"),
        arkit_blendshapes=model.get("arkit_blendshapes"),
        visemes=model.get("visemes"),
        oculus_visemes=model.get("oculus_visemes"),
        animations=model.get("animations"),
    )


def _uploaded(gw: Gateway) -> list[AssetInfo]:
    found: list[AssetInfo] = []
    while True:
        page = gw.assets.page(gw.tenant, kind="model", offset=len(found), limit=_PAGE)
        found += page.items
        if not page.items or len(found) >= page.total:
            return found


@router.get(
    "",
    response_model=ModelList,
    summary="Built-in face rigs and the tenant's uploaded models (with their morph targets)",
)
async def list_models(gw: GatewayDep) -> ModelList:
    builtin = [ModelView.model_validate(m.to_json()) for m in BUILTIN_MODELS.values()]
    uploaded = [uploaded_view(i) for i in await asyncio.to_thread(_uploaded, gw)]
    models = builtin + uploaded
    return ModelList(models=models, total=len(models))


async def _require_model(gw: Gateway, model_id: str) -> None:
    if model_id in BUILTIN_MODELS:
        return
    try:
        info = await asyncio.to_thread(gw.assets.get, gw.tenant, model_id)
    except (AssetNotFound, UnsafeName):
        info = None
    if info is None or info.kind != "model":
        raise ApiError(404, "model_not_found", f"model {model_id!r} not found")


@router.post(
    "/select",
    response_model=SelectedModel,
    summary="Select a model for an avatar (records ModelSelected)",
    responses={
        404: {"description": "Unknown model (error JSON)."},
        409: {"description": "If-Match did not match the avatar's version."},
        422: {"description": "Invalid body (error JSON)."},
    },
)
async def select_model(
    body: SelectModelRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> SelectedModel:
    await _require_model(gw, body.model_id)
    result = await gw.command(
        "avatar",
        body.avatar_id,
        SelectModel(model_id=body.model_id),
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    return SelectedModel(
        avatar_id=body.avatar_id,
        model_id=body.model_id,
        version=result["version"],
        state=result["state"],
    )

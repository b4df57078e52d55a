"""Asset routes: list, upload, search, metadata, download (by id or name), delete.

Every call is scoped to the gateway's tenant. Downloads stream from disk with the asset's
content type, ``ETag`` (its sha256), ``Cache-Control``, conditional (304) and range (206/416)
support; a name that could reach outside the asset root is a 400, an unknown one a 404.
Storage errors are mapped to statuses in one place (``serve_app/errors.py``).

Literal paths (``/assets/search``, ``/assets/download``, ``/assets/upload``) are declared
before ``/assets/{asset_id}``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from assets import AssetInfo, AssetKind, check_download_name
from serve_app.downloads import asset_response
from serve_app.http import MAX_INT
from serve_app.rendering.outputs import content_url
from serve_app.routes.deps import GatewayDep
from serve_app.schemas.assets import AssetList, AssetView, SearchResult
from serve_app.uploads import receive_upload

router = APIRouter(prefix="/assets", tags=["assets"])


def view(info: AssetInfo) -> AssetView:
    return AssetView(
        asset_id=info.asset_id,
        name=info.name,
        kind=info.kind,
        mime=info.mime,
        format=info.format,
        size=info.size,
        sha256=info.sha256,
        created_at=info.created_at,
        url=content_url(info.asset_id),
        meta=info.meta,
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        304: "Not modified (If-None-Match matched the ETag).",
        400: "Unsafe name or malformed request (error JSON).",
        404: "No such asset for this tenant (error JSON).",
        413: "Larger than the upload limit; nothing was kept (error JSON).",
        415: "The content is not the declared type or kind (error JSON).",
        416: "Range not satisfiable.",
        422: "Invalid parameters or an unusable model (error JSON).",
        507: "The tenant's storage quota is full; nothing was kept (error JSON).",
    }
    return {c: {"description": text[c]} for c in codes}


_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The content, streamed, with its type, ETag and Cache-Control.",
        "content": {"application/octet-stream": {}, "image/png": {}, "model/gltf-binary": {}},
    },
    206: {"description": "Partial content (Range)."},
}

Kind = Annotated[AssetKind | None, Query(description="Only assets of this kind.")]


@router.get(
    "",
    response_model=AssetList,
    summary="List the tenant's assets, newest first (paged, filter by kind)",
    responses=_errors(422),
)
async def list_assets(
    gw: GatewayDep,
    kind: Kind = None,
    offset: int = Query(0, ge=0, le=MAX_INT),
    limit: int = Query(50, ge=1, le=500),
) -> AssetList:
    page = await asyncio.to_thread(gw.assets.page, gw.tenant, kind=kind, offset=offset, limit=limit)
    end = offset + len(page.items)
    return AssetList(
        items=[view(i) for i in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
        next_offset=end if end < page.total else None,
    )


@router.post(
    "/upload",
    response_model=AssetView,
    status_code=201,
    summary="Upload an asset (multipart field 'file', or a raw body with Content-Type)",
    description="Streamed to disk with its sha256 computed on the way; at most "
    "`max_upload_bytes` (500 MiB). The type is sniffed from the bytes and must agree with the "
    "declared Content-Type and kind. glTF/GLB models get their morph targets read.",
    responses=_errors(400, 413, 415, 422, 507),
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "kind": {"type": "string"},
                            "name": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def upload_asset(
    request: Request,
    gw: GatewayDep,
    name: str | None = Query(None, max_length=1000, description="Name (default: the filename)."),
    kind: Kind = None,
) -> AssetView:
    info = await receive_upload(
        request,
        gw.assets,
        gw.tenant,
        max_bytes=gw.settings.max_upload_bytes,
        name=name,
        kind=kind,
    )
    return view(info)


@router.get(
    "/search",
    response_model=SearchResult,
    summary="Find assets whose name, format or type contains q",
    responses=_errors(422),
)
async def search_assets(
    gw: GatewayDep,
    q: str = Query(min_length=1, max_length=200),
    kind: Kind = None,
    limit: int = Query(50, ge=1, le=500),
) -> SearchResult:
    found = await asyncio.to_thread(gw.assets.search, gw.tenant, q, kind=kind, limit=limit)
    return SearchResult(query=q, items=[view(i) for i in found])


@router.get(
    "/download",
    summary="Download the newest asset with this name",
    response_class=Response,
    responses={**_FILE, **_errors(304, 400, 404, 416)},
)
@router.head(
    "/download",
    summary="Download the newest asset with this name",
    response_class=Response,
    responses={**_FILE, **_errors(304, 400, 404, 416)},
)
async def download_by_name(
    request: Request, gw: GatewayDep, name: str = Query(max_length=1000)
) -> Response:
    check_download_name(name)
    info = await asyncio.to_thread(gw.assets.find, gw.tenant, name)
    path, info = await asyncio.to_thread(gw.assets.open_path, gw.tenant, info.asset_id)
    return asset_response(request, path, info)


@router.get(
    "/{asset_id}",
    response_model=AssetView,
    summary="An asset's metadata (size, checksum, type, model facts)",
    responses=_errors(400, 404),
)
async def get_asset(asset_id: str, gw: GatewayDep) -> AssetView:
    return view(await asyncio.to_thread(gw.assets.get, gw.tenant, asset_id))


@router.get(
    "/{asset_id}/content",
    summary="Download an asset's content (Range, If-None-Match, HEAD)",
    response_class=Response,
    responses={**_FILE, **_errors(304, 400, 404, 416)},
)
@router.head(
    "/{asset_id}/content",
    summary="Download an asset's content (Range, If-None-Match, HEAD)",
    response_class=Response,
    responses={**_FILE, **_errors(304, 400, 404, 416)},
)
async def download_asset(asset_id: str, request: Request, gw: GatewayDep) -> Response:
    path, info = await asyncio.to_thread(gw.assets.open_path, gw.tenant, asset_id)
    return asset_response(request, path, info)


@router.delete(
    "/{asset_id}",
    status_code=204,
    summary="Delete an asset (its bytes go when no other asset shares them)",
    responses=_errors(400, 404),
)
async def delete_asset(asset_id: str, gw: GatewayDep) -> Response:
    await asyncio.to_thread(gw.assets.delete, gw.tenant, asset_id)
    return Response(status_code=204)

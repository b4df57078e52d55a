"""The service's render configuration: ``GET``/``PUT /config``, kept as events.

The render routes use it for every field a request omits (size, shading, quality,
anti-aliasing, fps). ``PUT`` takes any subset of the fields; the others keep their values.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from events.render_config import ConfigState
from serve_app.http import set_version
from serve_app.routes.deps import GatewayDep
from serve_app.schemas.config import ConfigUpdate, ConfigView

router = APIRouter(tags=["config"])


def _view(state: ConfigState, response: Response) -> ConfigView:
    set_version(response, state.version)
    c = state.config
    return ConfigView(
        **c.model_dump(),
        resolution=c.resolution,
        version=state.version,
        updated_at=state.updated_at,
    )


@router.get("/config", response_model=ConfigView, summary="The render configuration")
async def get_config(gw: GatewayDep, response: Response) -> ConfigView:
    return _view(await asyncio.to_thread(gw.catalogs.config.get), response)


@router.put(
    "/config",
    response_model=ConfigView,
    summary="Change the render configuration (fields omitted keep their values)",
)
async def put_config(body: ConfigUpdate, gw: GatewayDep, response: Response) -> ConfigView:
    changes = body.model_dump(exclude_none=True)
    return _view(await asyncio.to_thread(gw.catalogs.config.update, changes), response)

"""Render routes: still frames, sequences to video, snapshots, session replays as jobs.

The ingress validates, reads what the renderer needs (an avatar's current state), and calls the
Renderer deployment through its handle; replicas do the drawing and encoding. Long renders
(session replays, ``"background": true`` sequences) are jobs: 202 with a job id, then
``GET /jobs/{id}`` or the ``/jobs/{id}/stream`` WebSocket for progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from ray.serve.handle import DeploymentHandle

from actors.commands import TakeSnapshot
from assets import AssetNotFound, UnsafeName
from events.errors import JournalError
from serve_app.catalog import render_config
from serve_app.downloads import asset_response
from serve_app.errors import ApiError, Failure, not_found
from serve_app.gateway import Gateway
from serve_app.http import API_PREFIX, set_version
from serve_app.quotas import STORAGE_FULL, create_render_job, require_room
from serve_app.rendering.budget import reference_seconds
from serve_app.rendering.jobs import JobState, job_view
from serve_app.rendering.models import (
    FrameRequest,
    ReplayRequest,
    SequenceRequest,
    with_config,
)
from serve_app.rendering.outputs import AssetOutputs, open_output_store
from serve_app.routes.deps import AvatarId, GatewayDep, SessionId, get_gateway

log = logging.getLogger(__name__)

router = APIRouter(tags=["render"])

_RESCUE_CHECK_S = 5.0
"""How often a job stream with no news checks whether the job's workers are gone."""


def _outputs(gw: Gateway) -> AssetOutputs:
    """Renders land in the asset store, as the request's tenant's assets."""
    return open_output_store(gw.settings, tenant=gw.tenant)


def _renderer(gw: Gateway) -> DeploymentHandle[Any]:
    handle = gw.deployments.get("renderer")
    if handle is None:
        raise ApiError(503, "unavailable", "no renderer deployment in this application")
    return handle


async def _existing_avatar(gw: Gateway, avatar_id: str) -> dict[str, Any]:
    """The current view of an avatar that exists; 404 otherwise (renders never record one)."""
    view = await gw.avatar(avatar_id)
    if view["version"] == 0:
        raise not_found("avatar", avatar_id)
    return view


async def _render_frame(gw: Gateway, req: FrameRequest) -> Response:
    req = with_config(req, await render_config(gw))
    state = None
    version = None
    if req.avatar_id is not None:
        view = await _existing_avatar(gw, req.avatar_id)
        state, version = view["state"], view["version"]
    out = await _renderer(gw).frame.remote(req.model_dump(mode="json"), state, gw.tenant)
    Failure.raise_for(out)
    headers = {"Cache-Control": "no-store"}
    if version is not None:
        headers["X-Avatar-Version"] = str(version)
    if req.response == "url":
        stored = await asyncio.to_thread(
            _outputs(gw).put_bytes,
            out["content"],
            name=f"{req.avatar_id or 'frame'}.{req.format}",
            kind="image",
            mime=out["mime"],
        )
        body = {
            **stored.to_json(),
            "avatar_id": req.avatar_id,
            "format": req.format,
            "width": req.width,
            "height": req.height,
            "version": version,
        }
        return JSONResponse(body, headers=headers)
    return Response(out["content"], media_type=out["mime"], headers=headers)


_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/json": {}},
        "description": "The image, or its asset URL and checksum with response='url'.",
    }
}


@router.post(
    "/render",
    summary="Render one frame (an avatar's current state, or given parameters)",
    responses=_IMAGE_RESPONSES,
)
async def render_frame(body: FrameRequest, gw: GatewayDep) -> Response:
    return await _render_frame(gw, body)


@router.post(
    "/render/sequence",
    summary="Render a timeline (speech, emotions, animations) or an avatar's events to video",
    status_code=200,
    responses={202: {"description": "Accepted as a job (background=true)."}, **STORAGE_FULL},
)
async def render_sequence(body: SequenceRequest, gw: GatewayDep, request: Request) -> Response:
    body = with_config(body, await render_config(gw))
    initial = None
    if body.avatar_id is not None:
        view = await _existing_avatar(gw, body.avatar_id)
        initial = view["state"]
    if body.background:
        job = await create_render_job(
            gw,
            request,
            "sequence",
            {"request": body.model_dump(mode="json"), "initial": initial},
            avatar_id=body.avatar_id,
        )
        return _accepted(job)
    _check_sync_budget(body, gw.settings.render_sync_max_s)
    await require_room(gw)
    rendering = _renderer(gw).sequence.remote(body.model_dump(mode="json"), initial, gw.tenant)
    try:
        out = await asyncio.wait_for(rendering, gw.settings.render_timeout_s)
    except TimeoutError as e:
        rendering.cancel()  # type: ignore[no-untyped-call]  # the replica stops drawing
        raise ApiError(
            503, "render_timeout", "the render took too long; use background=true"
        ) from e
    Failure.raise_for(out)
    if body.response == "video":
        return await _output_file(gw, request, out["asset_id"])
    return JSONResponse(out)


def _check_sync_budget(body: SequenceRequest, limit_s: float) -> None:
    """422 at once for a synchronous render that would draw for minutes (see budget.py)."""
    cost = reference_seconds(body)
    if cost is not None and cost > limit_s:
        raise ApiError(
            422,
            "render_too_long",
            f"this video is about {cost:,.0f} s of 512x512 30 fps video to draw, over the "
            f'{limit_s:,.0f} s a synchronous render may ask for: send "background": true',
            reference_s=round(cost, 1),
            limit_s=limit_s,
        )


@router.get(
    "/render/outputs/{output_id}",
    summary="Download a rendered file (alias of /assets/{asset_id}/content)",
    responses={404: {"description": "No such output for this tenant."}},
)
@router.head(
    "/render/outputs/{output_id}",
    summary="Download a rendered file (alias of /assets/{asset_id}/content)",
    responses={404: {"description": "No such output for this tenant."}},
)
async def render_output(output_id: str, gw: GatewayDep, request: Request) -> Response:
    return await _output_file(gw, request, output_id)


async def _output_file(gw: Gateway, request: Request, asset_id: str) -> Response:
    store = _outputs(gw).store
    try:
        path, info = await asyncio.to_thread(store.open_path, gw.tenant, asset_id)
    except (AssetNotFound, UnsafeName) as e:
        raise not_found("output", asset_id) from e
    return asset_response(request, path, info)


@router.post(
    "/session/{session_id}/replay",
    status_code=202,
    summary="Rebuild a session's video from its event log (a render job)",
    responses=STORAGE_FULL,
)
async def replay_session(
    session_id: SessionId,
    gw: GatewayDep,
    request: Request,
    body: Annotated[ReplayRequest | None, Body()] = None,
) -> JSONResponse:
    await gw.require_session(session_id)
    opts = with_config(body or ReplayRequest(), await render_config(gw))
    job = await create_render_job(
        gw,
        request,
        "replay",
        {"session_id": session_id, "options": opts.model_dump(mode="json")},
        session_id=session_id,
    )
    return _accepted(job)


@router.get(
    "/session/{session_id}/jobs",
    summary="The render jobs made for a session (replays), oldest first",
)
async def session_jobs(session_id: SessionId, gw: GatewayDep) -> dict[str, Any]:
    await gw.require_session(session_id)
    jobs = await asyncio.to_thread(gw.jobs.for_session, session_id)
    return {"session_id": session_id, "jobs": [job_view(j) for j in jobs]}


def _accepted(job: JobState) -> JSONResponse:
    job_id = job.job_id
    return JSONResponse(
        {
            **job_view(job),
            "url": f"{API_PREFIX}/jobs/{job_id}",
            "stream": f"{API_PREFIX}/jobs/{job_id}/stream",
        },
        status_code=202,
        headers={"Location": f"{API_PREFIX}/jobs/{job_id}"},
    )


@router.get("/jobs/{job_id}", summary="A render job: status, progress, result")
async def get_job(job_id: str, gw: GatewayDep) -> dict[str, Any]:
    job = await asyncio.to_thread(gw.jobs.get, job_id)
    if job is None:
        raise not_found("job", job_id)
    if await gw.render_jobs.rescue(job):  # its workers died: it runs again
        job = await asyncio.to_thread(gw.jobs.get, job_id) or job
    return job_view(job)


@router.websocket("/jobs/{job_id}/stream")
async def job_stream(ws: WebSocket, job_id: str) -> None:
    """``{"type": "progress", ...job}`` frames as the job advances (not persisted), then a last
    ``{"type": "done"|"failed", ...job}`` frame; closes 1000 (4404 for an unknown job, 1011 when
    the journal is unreachable).

    Wakes on the job's new events (the process's journal tail), not on a timer; a quiet job is
    checked for dead workers every few seconds.
    """
    await ws.accept()
    gw = get_gateway(ws)
    try:
        job = await asyncio.to_thread(gw.jobs.get, job_id)
        if job is None:
            await ws.close(4404, "job not found")
            return
        last: str | None = None
        async with gw.tailer.watch([gw.jobs.stream(job_id)]) as watch:
            while True:
                job = await asyncio.to_thread(gw.jobs.get, job_id) or job  # after the watch
                view = job_view(job)
                text = json.dumps(view, sort_keys=True)
                if text != last:
                    last = text
                    kind = job.status if job.finished else "progress"
                    await ws.send_text(json.dumps({"type": kind, **view}))
                if job.finished:
                    break
                if await gw.render_jobs.rescue(job):
                    continue
                await watch.wait(_RESCUE_CHECK_S)
        await ws.close(1000)
    except WebSocketDisconnect:
        return
    except JournalError:
        log.exception("job stream %s: journal unavailable", job_id)
        with contextlib.suppress(Exception):
            await ws.close(1011, "journal unavailable")


@router.post(
    "/{avatar_id}/render",
    summary="Render one frame of this avatar",
    responses=_IMAGE_RESPONSES,
)
async def render_avatar(
    avatar_id: AvatarId,
    gw: GatewayDep,
    body: Annotated[FrameRequest | None, Body()] = None,
) -> Response:
    req = (body or FrameRequest()).model_copy(update={"avatar_id": avatar_id})
    return await _render_frame(gw, req)


@router.get(
    "/{avatar_id}/snapshot",
    summary="PNG of the avatar's current state",
    responses={200: {"content": {"image/png": {}}}},
)
async def get_snapshot(
    avatar_id: AvatarId,
    gw: GatewayDep,
    width: int | None = Query(None, ge=64, le=4096, description="Default: the config's."),
    height: int | None = Query(None, ge=64, le=4096, description="Default: the config's."),
) -> Response:
    return await _render_frame(gw, _snapshot_request(avatar_id, width, height))


@router.post(
    "/{avatar_id}/snapshot",
    summary="Store a PNG of the current state as an asset and record SnapshotTaken",
)
async def take_snapshot(
    avatar_id: AvatarId,
    gw: GatewayDep,
    response: Response,
    width: int | None = Query(None, ge=64, le=4096, description="Default: the config's."),
    height: int | None = Query(None, ge=64, le=4096, description="Default: the config's."),
) -> dict[str, Any]:
    view = await _existing_avatar(gw, avatar_id)
    req = with_config(_snapshot_request(avatar_id, width, height), await render_config(gw))
    out = await _renderer(gw).frame.remote(req.model_dump(mode="json"), view["state"], gw.tenant)
    Failure.raise_for(out)
    stored = await asyncio.to_thread(
        _outputs(gw).put_bytes,
        out["content"],
        name=f"{avatar_id}-v{view['version']}.png",
        kind="image",
        mime="image/png",
    )
    cmd = TakeSnapshot(asset_id=stored.asset_id, width=req.width, height=req.height)
    result = await gw.command("avatar", avatar_id, cmd)
    set_version(response, result["version"])
    return {
        **stored.to_json(),
        "avatar_id": avatar_id,
        "width": req.width,
        "height": req.height,
        "state_version": view["version"],
        "version": result["version"],
    }


def _snapshot_request(avatar_id: str, width: int | None, height: int | None) -> FrameRequest:
    """A PNG of the avatar; the sizes not given come from the configuration later."""
    size = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    return FrameRequest.model_validate({"avatar_id": avatar_id, "format": "png", **size})

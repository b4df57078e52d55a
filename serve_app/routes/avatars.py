"""Avatar routes: emotions, state, animations, events (seed-compatible, under /api/v1/avatars)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from actors.commands import PatchEmotion, PatchState, SetEmotion, TriggerAnimation
from events.avatar import (
    ANIMATIONS,
    EMOTIONS,
)
from serve_app.http import MAX_INT, IdempotencyKey, IfMatch, parse_if_match, set_version
from serve_app.routes.deps import AvatarId, GatewayDep
from serve_app.schemas.avatars import (
    AnimationRequest,
    AnimationView,
    EmotionPatch,
    EmotionRequest,
    EmotionView,
    EventPage,
    StatePatchRequest,
    StateView,
)

router = APIRouter(tags=["avatars"])


def _emotion_view(avatar_id: str, version: int, state: dict[str, Any]) -> EmotionView:
    e = state["emotion"]
    return EmotionView(
        avatar_id=avatar_id,
        emotion=e["emotion"],
        intensity=e["intensity"],
        transition_ms=e["transition_ms"],
        version=version,
    )


@router.get("/emotions/catalog", summary="Emotions and animations the avatars know")
async def catalog() -> dict[str, list[str]]:
    return {"emotions": list(EMOTIONS), "animations": list(ANIMATIONS)}


@router.post("/emotions", response_model=EmotionView, summary="Set an avatar's emotion")
async def set_emotion(
    body: EmotionRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> EmotionView:
    cmd = SetEmotion(
        emotion=body.emotion, intensity=body.intensity, transition_ms=body.transition_ms
    )
    result = await gw.command(
        "avatar",
        body.avatar_id,
        cmd,
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    return EmotionView(
        avatar_id=body.avatar_id,
        emotion=cmd.emotion,
        intensity=cmd.intensity,
        transition_ms=cmd.transition_ms,
        version=result["version"],
    )


@router.get("/{avatar_id}/emotions", response_model=EmotionView, summary="Current emotion")
async def get_emotion(avatar_id: AvatarId, gw: GatewayDep, response: Response) -> EmotionView:
    view = await gw.avatar(avatar_id)
    set_version(response, view["version"])
    return _emotion_view(avatar_id, view["version"], view["state"])


@router.patch("/{avatar_id}/emotions", response_model=EmotionView, summary="Change the emotion")
async def patch_emotion(
    avatar_id: AvatarId,
    body: EmotionPatch,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> EmotionView:
    cmd = PatchEmotion(**body.model_dump(exclude_none=True))
    result = await gw.command(
        "avatar", avatar_id, cmd, if_match=parse_if_match(if_match), idempotency_key=idempotency_key
    )
    set_version(response, result["version"])
    return _emotion_view(avatar_id, result["version"], result["state"])


@router.get(
    "/{avatar_id}/state",
    response_model=StateView,
    summary="Current state, or the state as of ?version=N",
)
async def get_state(
    avatar_id: AvatarId,
    gw: GatewayDep,
    response: Response,
    version: int | None = Query(None, ge=1, le=MAX_INT, description="State as of this version."),
) -> StateView:
    if version is None:
        view = await gw.avatar(avatar_id)
    else:
        view = await gw.state_at("avatar", avatar_id, version)
    set_version(response, view["version"])
    return StateView(avatar_id=avatar_id, version=view["version"], state=view["state"])


@router.patch("/{avatar_id}/state", response_model=StateView, summary="Patch face state fields")
async def patch_state(
    avatar_id: AvatarId,
    body: StatePatchRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> StateView:
    result = await gw.command(
        "avatar",
        avatar_id,
        PatchState(state=body.state),
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    return StateView(avatar_id=avatar_id, version=result["version"], state=result["state"])


@router.post(
    "/{avatar_id}/animations",
    response_model=AnimationView,
    summary="Trigger an animation (nod, shake, tilt, look_around, ...)",
)
async def trigger_animation(
    avatar_id: AvatarId,
    body: AnimationRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> AnimationView:
    cmd = TriggerAnimation(
        name=body.name, loop=body.loop, duration_ms=body.duration_ms, intensity=body.intensity
    )
    result = await gw.command(
        "avatar", avatar_id, cmd, if_match=parse_if_match(if_match), idempotency_key=idempotency_key
    )
    set_version(response, result["version"])
    return AnimationView(
        avatar_id=avatar_id,
        animation=cmd.name,
        loop=cmd.loop,
        duration_ms=cmd.duration_ms,
        intensity=cmd.intensity,
        version=result["version"],
    )


@router.get("/{avatar_id}/events", response_model=EventPage, summary="The avatar's event log")
async def avatar_events(
    avatar_id: AvatarId,
    gw: GatewayDep,
    from_version: int = Query(1, ge=1, le=MAX_INT),
    limit: int = Query(100, ge=1, le=1000),
) -> EventPage:
    return await event_page(gw, "avatar", avatar_id, from_version, limit)


async def event_page(
    gw: GatewayDep, kind: Any, entity_id: str, from_version: int, limit: int
) -> EventPage:
    records = await gw.events(kind, entity_id, from_version, limit)
    highest = await gw.highest_version(kind, entity_id)
    last = records[-1].version if records else None
    return EventPage(
        stream_id=gw.stream(kind, entity_id),
        events=[r.to_json() for r in records],
        highest_version=highest,
        next_from_version=last + 1 if last is not None and last < highest else None,
    )

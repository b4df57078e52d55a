"""Live routes: a session's live WebRTC stream (offer/answer, status, end).

``POST /session/{id}/live`` takes the browser's SDP offer and answers with the service's SDP;
the stream (one video track, one audio track) is held by a Live replica
(``serve_app/live``). ``DELETE`` ends it (idempotent: 200 whether or not one was live) and
``GET`` reports it. Closing or expiring the session ends its stream too.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from ray.exceptions import RayActorError
from ray.serve.handle import DeploymentHandle

from actors.remote import live_registry
from assets import look_of
from events.picture import MAX_FPS, MAX_SIZE, MIN_FPS, MIN_SIZE, Quality, Shading
from serve_app.auth.edge import principal_of
from serve_app.catalog import render_config
from serve_app.errors import ApiError, Failure
from serve_app.gateway import Gateway
from serve_app.live.deployment import live_key
from serve_app.quotas import over_quota
from serve_app.routes.deps import GatewayDep, SessionId

router = APIRouter(tags=["live"])

_OFFER_ATTEMPTS = 3


class LiveOffer(BaseModel):
    """A WebRTC offer (``RTCSessionDescription`` JSON) and optional picture settings."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=1, max_length=100_000, description="The offer's SDP text.")
    type: Literal["offer"] = Field(description='Always "offer".')
    width: int | None = Field(None, ge=MIN_SIZE, le=MAX_SIZE, description="64..4096 (512).")
    height: int | None = Field(None, ge=MIN_SIZE, le=MAX_SIZE, description="64..4096 (512).")
    fps: int | None = Field(None, ge=MIN_FPS, le=MAX_FPS, description="30..60 (AVATAR_LIVE_FPS).")
    quality: Quality | None = Field(None, description="Drawing quality (the configured one).")
    shading: Shading | None = Field(None, description="flat | toon | pbr (the model's look).")


class LiveAnswer(BaseModel):
    sdp: str
    type: Literal["answer"] = "answer"
    session_id: str
    status: dict[str, Any]


class LiveStatus(BaseModel):
    session_id: str
    live: bool = Field(description="A stream is running now.")
    state: str = Field(
        description="new | connecting | connected | disconnected | failed | closed; "
        "'none' when the session never had one."
    )
    status: dict[str, Any] = Field(
        default_factory=dict,
        description="fps, measured_fps, frames_sent, audio_frames_sent, codecs, "
        "first_frame_ms, connected_at, end_reason, ... (updated about every second)",
    )


_registry_handle: Any = None


async def _registry(method: str, *args: Any) -> Any:
    """Call the live registry (its handle is kept; fetched again if the actor was replaced)."""
    global _registry_handle  # noqa: PLW0603 - one handle per ingress process
    for attempt in range(2):
        if _registry_handle is None:
            _registry_handle = live_registry()
        try:
            return await getattr(_registry_handle, method).remote(*args)
        except RayActorError:
            _registry_handle = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def _live(gw: Gateway) -> DeploymentHandle[Any]:
    handle = gw.deployments.get("live")
    if handle is None:
        raise ApiError(503, "unavailable", "no Live deployment in this application")
    return handle


async def _active_session(gw: Gateway, session_id: str) -> dict[str, Any]:
    view = await gw.session(session_id)  # 404 when it never existed
    state = view["state"]
    if state["status"] != "active":
        raise ApiError(409, "session_closed", f"session {session_id!r} is {state['status']}")
    return view


def _check_offer(sdp: str) -> None:
    """The shape of an SDP offer, checked before a replica is bothered (422)."""
    text = sdp.lstrip()
    if not text.startswith("v=0") or "\nm=" not in text:
        raise ApiError(422, "invalid_sdp", "sdp is not an SDP offer (v=0 and m= lines)")
    if "\nm=video" not in text:
        raise ApiError(422, "invalid_sdp", "the offer has no video section: offer to receive video")


@router.post(
    "/session/{session_id}/live",
    response_model=LiveAnswer,
    summary="Start the session's live video: WebRTC offer in, SDP answer out",
    description="One video track (the avatar drawn from its live state, 512x512 at "
    "AVATAR_LIVE_FPS by default) and one audio track (its speech, silence between utterances). "
    "A new offer replaces the session's running stream. 404 unknown session, 409 closed or "
    "expired session, 422 malformed SDP, 503 no capacity.",
)
async def start_live(
    session_id: SessionId, body: LiveOffer, gw: GatewayDep, request: Request
) -> LiveAnswer:
    _check_offer(body.sdp)
    session = await _active_session(gw, session_id)
    avatar_id = session["state"]["avatar_id"]
    avatar = await gw.avatar(avatar_id)
    config = await render_config(gw)
    s = gw.settings
    options = {
        "width": body.width or s.live_width,
        "height": body.height or s.live_height,
        "fps": body.fps or s.live_fps,
        "shading": body.shading
        or look_of(avatar["state"].get("model_id")).shading
        or config.shading,
        "quality": body.quality or config.quality,
        "antialiasing": config.antialiasing,
    }
    key = live_key(gw.tenant, session_id)
    owner = principal_of(request).key_id
    await _reserve(gw, key, owner)
    try:
        if await _registry("holder", key) is not None:  # a reload: the new offer wins
            await _registry("stop", key)
        out = await _offer(gw, session_id, avatar, session, body.sdp, options, owner)
    except BaseException:
        await _registry("unreserve", key)
        raise
    if out.get("error") is not None:
        await _registry("unreserve", key)
    Failure.raise_for(out)
    return LiveAnswer(sdp=out["sdp"], session_id=session_id, status=out["status"])


async def _reserve(gw: Gateway, key: str, owner: str | None) -> None:
    """Hold one of the API key's live stream slots (429 when it has none left)."""
    limit = gw.settings.quota_live_streams
    if owner is not None and not await _registry("reserve", key, owner, limit):
        raise over_quota(
            "live_quota",
            f"this API key holds {limit} live streams, its limit; end one first",
            limit=limit,
        )


async def _offer(
    gw: Gateway,
    session_id: str,
    avatar: dict[str, Any],
    session: dict[str, Any],
    sdp: str,
    options: dict[str, Any],
    owner: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(_OFFER_ATTEMPTS):  # a full replica refuses; Serve may pick another
        out = await _live(gw).offer.remote(
            session_id,
            session["state"]["avatar_id"],
            avatar["state"],
            avatar["version"],
            session["version"],
            sdp,
            options,
            gw.tenant,
            owner,
        )
        err = out.get("error")
        if err is None or err["code"] != "live_capacity":
            break
    return out


async def _status(gw: Gateway, session_id: str) -> LiveStatus:
    status = await _registry("status", live_key(gw.tenant, session_id))
    if status is None:
        return LiveStatus(session_id=session_id, live=False, state="none")
    return LiveStatus(
        session_id=session_id, live=bool(status.pop("live")), state=status["state"], status=status
    )


@router.get(
    "/session/{session_id}/live",
    response_model=LiveStatus,
    summary="The session's live stream: connection state, fps, frames sent",
)
async def live_status(session_id: SessionId, gw: GatewayDep) -> LiveStatus:
    await gw.require_session(session_id)
    return await _status(gw, session_id)


@router.delete(
    "/session/{session_id}/live",
    response_model=LiveStatus,
    summary="End the session's live stream (again: 200, nothing to end)",
)
async def stop_live(session_id: SessionId, gw: GatewayDep) -> LiveStatus:
    await gw.require_session(session_id)
    await _registry("stop", live_key(gw.tenant, session_id))
    return await _status(gw, session_id)

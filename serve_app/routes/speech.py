"""Speech routes: lip-sync, phonemes, visemes, voices, the default and per-avatar voice, speak.

Synthesis and analysis run in the Speech deployment (``gw.deployments["speech"]``); the ingress
validates, picks the voice (request, then the avatar's, then the service default, then en-us)
and records events through the avatar's actor.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from ray.serve.handle import DeploymentHandle

from actors.catalog import DefaultVoice
from actors.commands import AttachVoice, DetachVoice, InterruptSpeech, StartSpeech
from events.avatar import Voice
from events.speech import LipSyncTrack
from media.speech import FORMATS, viseme_sets
from serve_app.catalog import catalogs
from serve_app.errors import ApiError
from serve_app.gateway import Gateway
from serve_app.http import IdempotencyKey, IfMatch, parse_if_match, set_version
from serve_app.routes.deps import AvatarId, GatewayDep
from serve_app.speaking.models import (
    LipSyncRequest,
    PhonemesRequest,
    PreviewRequest,
    SpeakRequest,
    TimingRequest,
    VoiceAttachRequest,
    VoiceChoice,
)
from serve_app.speaking.work import check_text

router = APIRouter(tags=["speech"])

_AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/l16")


def _speech(gw: Gateway) -> DeploymentHandle[Any]:
    handle = gw.deployments.get("speech")
    if handle is None:
        raise ApiError(503, "unavailable", "no speech deployment in this application")
    return handle


async def _call(gw: Gateway, method: str, *args: Any) -> Any:
    out: dict[str, Any] = await getattr(_speech(gw), method).remote(*args)
    err = out.get("error")
    if err is not None:
        raise ApiError(err["status"], err["code"], err["message"])
    return out["result"]


def _default_voice(gw: Gateway) -> DefaultVoice:
    return catalogs(gw).voice


async def _service_voice(gw: Gateway) -> Voice | None:
    return (await asyncio.to_thread(_default_voice(gw).get)).voice


def _voice_json(voice: Voice | None) -> dict[str, Any] | None:
    return None if voice is None else voice.model_dump()


# ---------------------------------------------------------------------------- lip-sync


_LIPSYNC_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LipSyncRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "audio": {"type": "string", "format": "binary"},
                        "transcript": {"type": "string"},
                        "voice": {"type": "string"},
                        "format": {"type": "string"},
                        "sample_rate": {"type": "integer"},
                    },
                    "required": ["audio"],
                }
            },
            "audio/wav": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/lipsync",
    summary="Speech audio and a lip-sync track from text, or a track from client audio",
    description="JSON: `text` (synthesised with espeak-ng: real audio, returned as an asset URL "
    "or base64) or `audio_base64` (+ optional `transcript`). Multipart: an `audio` file field. "
    "Raw `audio/wav` body: query parameters `transcript`, `voice`, `format`, `sample_rate`. "
    "`format` picks the export (default `oculus`: TalkingHead's speakAudio fields, ms).",
    openapi_extra=_LIPSYNC_BODY,
)
async def lipsync(request: Request, gw: GatewayDep) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await _lipsync_upload(gw, *await _multipart_audio(request, gw))
    if ctype in _AUDIO_TYPES or ctype == "application/octet-stream":
        fields = dict(request.query_params)
        return await _lipsync_upload(gw, await _bounded_body(request, gw), fields)
    if ctype not in ("application/json", ""):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send JSON, multipart/form-data or audio/wav, not {ctype}",
        )
    req = _validate(LipSyncRequest, await _json(request))
    if req.text is not None:
        check_text(req.text)
    voice = req.over(await _service_voice(gw))
    result: dict[str, Any] = await _call(
        gw, "lipsync", req.model_dump(mode="json"), voice.model_dump()
    )
    return result


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as e:
        raise ApiError(422, "invalid_json", f"the body is not JSON: {e}") from e


def _validate(model: type[Any], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first['msg']}" if where else first["msg"]
        problems = [
            {"loc": list(x.get("loc", ())), "msg": x.get("msg", ""), "type": x.get("type", "")}
            for x in e.errors()
        ]
        raise ApiError(422, "validation_error", message, detail=problems) from e


async def _bounded_body(request: Request, gw: Gateway) -> bytes:
    limit = gw.settings.lipsync_max_audio_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "audio_too_large", f"audio over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "audio_too_large", f"audio over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart_audio(request: Request, gw: Gateway) -> tuple[bytes, dict[str, str]]:
    limit = gw.settings.lipsync_max_audio_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 1_000_000:
        raise ApiError(413, "audio_too_large", f"audio over {limit} bytes")
    form = await request.form(max_part_size=limit)
    try:
        upload = form.get("audio") or form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "validation_error", "audio: a file field 'audio' is required")
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
    return data, fields


async def _lipsync_upload(gw: Gateway, data: bytes, fields: dict[str, str]) -> dict[str, Any]:
    known = {"transcript", "voice", "voice_id", "format", "sample_rate", "rate"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(422, "validation_error", f"unknown fields {unknown}")
    req = _validate(
        LipSyncRequest,
        {
            "audio_base64": "",
            **{
                k: fields[k]
                for k in ("transcript", "voice", "format", "sample_rate")
                if k in fields
            },
        },
    )
    voice = req.over(await _service_voice(gw))
    result: dict[str, Any] = await _call(
        gw, "lipsync_upload", data, req.sample_rate, req.transcript, voice.model_dump(), req.format
    )
    return result


@router.post(
    "/lipsync/preview",
    summary="Visemes estimated from text alone (no audio; fast)",
)
async def lipsync_preview(body: PreviewRequest, gw: GatewayDep) -> dict[str, Any]:
    check_text(body.text)
    if body.voice is None:
        service = await _service_voice(gw)
        if service is not None:
            body = body.model_copy(update={"voice": service.voice_id})
    result: dict[str, Any] = await _call(gw, "preview", body.model_dump(mode="json"))
    return result


@router.post("/phonemes", summary="Phones and words of a text with timings (from TTS or estimated)")
async def phonemes(body: PhonemesRequest, gw: GatewayDep) -> dict[str, Any]:
    check_text(body.text)
    result: dict[str, Any] = await _call(gw, "phonemes", body.model_dump(mode="json"))
    return result


@router.post(
    "/phonemes/timing",
    summary="Spread given phones over an audio duration (by phone class, not uniformly)",
)
async def phoneme_timing(body: TimingRequest, gw: GatewayDep) -> dict[str, Any]:
    result: dict[str, Any] = await _call(gw, "timing", body.model_dump(mode="json"))
    return result


@router.get("/visemes", summary="Viseme sets and the phone-to-viseme mappings of every format")
async def visemes() -> dict[str, Any]:
    return {"formats": list(FORMATS), **viseme_sets()}


@router.get("/voices", summary="Installed voices (language, gender) and variants")
async def voices(gw: GatewayDep) -> dict[str, Any]:
    result: dict[str, Any] = await _call(gw, "voices")
    service = await _service_voice(gw)
    return {**result, "service_default": _voice_json(service)}


# ---------------------------------------------------------------------------- voices


async def _checked_voice(gw: Gateway, body: VoiceChoice, base: Voice | None) -> Voice:
    """``body`` over ``base``, with the voice name checked against the installed voices."""
    voice = body.over(base)
    await _call(gw, "describe_voice", voice.voice_id)  # 422 naming GET /voices when unknown
    return voice


async def _voice_status(gw: Gateway, voice: Voice | None) -> dict[str, Any]:
    effective = voice or Voice(voice_id="en-us")
    return {
        "attached": voice is not None,
        "voice": _voice_json(voice),
        "effective": effective.model_dump(),
        "resolved": await _call(gw, "describe_voice", effective.voice_id),
    }


@router.post("/voice/attach", summary="Set the service's default voice (recorded as an event)")
async def attach_default_voice(body: VoiceAttachRequest, gw: GatewayDep) -> dict[str, Any]:
    voice = await _checked_voice(gw, body, None)
    state = await asyncio.to_thread(_default_voice(gw).attach, voice)
    return {**await _voice_status(gw, state.voice), "version": state.version}


@router.delete("/voice/detach", summary="Remove the service's default voice (back to en-us)")
async def detach_default_voice(gw: GatewayDep) -> dict[str, Any]:
    state = await asyncio.to_thread(_default_voice(gw).detach)
    return {**await _voice_status(gw, state.voice), "version": state.version}


@router.get("/voice/status", summary="The service's default voice")
async def default_voice_status(gw: GatewayDep) -> dict[str, Any]:
    state = await asyncio.to_thread(_default_voice(gw).get)
    return {**await _voice_status(gw, state.voice), "version": state.version}


async def _avatar_view(gw: Gateway, avatar_id: str) -> dict[str, Any]:
    view: dict[str, Any] = await gw.directory.call("avatar", gw.tenant, avatar_id, "view")
    return view


async def _avatar_voice_status(
    gw: Gateway, avatar_id: str, version: int, state: dict[str, Any]
) -> dict[str, Any]:
    own = None if state.get("voice") is None else Voice.model_validate(state["voice"])
    status = await _voice_status(gw, own or await _service_voice(gw))
    return {
        "avatar_id": avatar_id,
        "version": version,
        **status,
        "attached": own is not None,
        "voice": _voice_json(own),
    }


@router.post("/{avatar_id}/voice/attach", summary="Give an avatar its voice (VoiceAttached)")
async def attach_voice(
    avatar_id: AvatarId,
    body: VoiceAttachRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    voice = await _checked_voice(gw, body, None)
    result = await gw.command(
        "avatar",
        avatar_id,
        AttachVoice(voice=voice),
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    return await _avatar_voice_status(gw, avatar_id, result["version"], result["state"])


@router.delete(
    "/{avatar_id}/voice/detach",
    summary="Remove an avatar's voice (VoiceDetached); it speaks with the default again",
)
async def detach_voice(
    avatar_id: AvatarId, gw: GatewayDep, response: Response, if_match: IfMatch = None
) -> dict[str, Any]:
    result = await gw.command("avatar", avatar_id, DetachVoice(), if_match=parse_if_match(if_match))
    set_version(response, result["version"])
    return await _avatar_voice_status(gw, avatar_id, result["version"], result["state"])


@router.get("/{avatar_id}/voice/status", summary="An avatar's voice and the one it speaks with")
async def voice_status(avatar_id: AvatarId, gw: GatewayDep, response: Response) -> dict[str, Any]:
    view = await gw.avatar(avatar_id)
    set_version(response, view["version"])
    return await _avatar_voice_status(gw, avatar_id, view["version"], view["state"])


# ---------------------------------------------------------------------------- speak


@router.post(
    "/{avatar_id}/speak",
    summary="Make an avatar speak: synthesise, store the audio, record SpeechStarted",
    description="The event (with the lip-sync track) reaches WebSocket subscribers of the "
    "avatar and of its sessions. Voice: the request's, else the avatar's, else the service "
    "default, else en-us.",
)
async def speak(
    avatar_id: AvatarId,
    body: SpeakRequest,
    gw: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    check_text(body.text)
    view = await _avatar_view(gw, avatar_id)
    own = view["state"].get("voice") if view["version"] else None
    base = Voice.model_validate(own) if own else await _service_voice(gw)
    voice = body.over(base)
    utterance_id = (
        "u-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if idempotency_key
        else f"u-{uuid.uuid4().hex[:24]}"
    )
    spoken: dict[str, Any] = await _call(
        gw,
        "speak",
        body.text,
        voice.model_dump(),
        body.ssml,
        body.format,
        f"{avatar_id}-{utterance_id}",
    )
    track = LipSyncTrack.model_validate(spoken["track"])
    command = StartSpeech(
        utterance_id=utterance_id,
        text=body.text,
        voice_id=voice.voice_id,
        audio_asset_id=spoken["audio"]["asset_id"],
        duration_ms=track.duration_ms,
        track=track,
    )
    result = await gw.command(
        "avatar",
        avatar_id,
        command,
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    set_version(response, result["version"])
    started = next((e for e in result["events"] if e["type"] == "SpeechStarted"), None)
    return {
        "avatar_id": avatar_id,
        "utterance_id": started["data"]["utterance_id"] if started else utterance_id,
        "version": result["version"],
        "replayed": result.get("replayed", False),
        "text": body.text,
        "voice": voice.model_dump(),
        "resolved_voice": spoken["voice"],
        "audio": spoken["audio"],
        **{k: spoken[k] for k in ("duration", "duration_ms", "format", "phonemes", "words")},
        "visemes": spoken["visemes"],
    }


@router.post(
    "/{avatar_id}/speak/interrupt",
    summary="Stop the current utterance at the playhead (SpeechInterrupted); 409 if silent",
)
async def interrupt(
    avatar_id: AvatarId, gw: GatewayDep, response: Response, if_match: IfMatch = None
) -> dict[str, Any]:
    result = await gw.command(
        "avatar", avatar_id, InterruptSpeech(), if_match=parse_if_match(if_match)
    )
    set_version(response, result["version"])
    [event] = [e for e in result["events"] if e["type"] == "SpeechInterrupted"]
    return {
        "avatar_id": avatar_id,
        "version": result["version"],
        "utterance_id": event["data"]["utterance_id"],
        "at_ms": event["data"]["at_ms"],
    }

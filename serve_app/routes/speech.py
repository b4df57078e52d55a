"""Speech routes: lip-sync (text or client audio), previews, phonemes, visemes, voices.

Synthesis and analysis run in the Speech deployment (``gw.deployments["speech"]``); the ingress
validates and picks the voice (the request's, else the service default, else en-us).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from media.speech import FORMATS, viseme_sets
from serve_app.errors import ApiError, validation_error
from serve_app.gateway import Gateway
from serve_app.routes.deps import GatewayDep
from serve_app.speaking.client import service_voice, speech_call, voice_json
from serve_app.speaking.models import (
    LipSyncRequest,
    PhonemesRequest,
    PreviewRequest,
    TimingRequest,
)
from serve_app.speaking.work import check_text

router = APIRouter(tags=["speech"])

_AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/l16")


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
    voice = req.over(await service_voice(gw))
    result: dict[str, Any] = await speech_call(
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
        raise validation_error(e.errors()) from e


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
    form = await request.form()  # file parts spool to disk; their size is checked before reading
    try:
        upload = form.get("audio") or form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "validation_error", "audio: a file field 'audio' is required")
        if upload.size is not None and upload.size > limit:
            raise ApiError(413, "audio_too_large", f"audio over {limit} bytes")
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
    return data, fields


async def _lipsync_upload(gw: Gateway, data: bytes, fields: dict[str, str]) -> dict[str, Any]:
    known = ("transcript", "voice", "voice_id", "format", "sample_rate")
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ApiError(422, "validation_error", f"unknown fields {unknown}")
    req = _validate(
        LipSyncRequest,
        {
            "audio_base64": "",
            **{k: fields[k] for k in known if k in fields},
        },
    )
    voice = req.over(await service_voice(gw))
    result: dict[str, Any] = await speech_call(
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
        service = await service_voice(gw)
        if service is not None:
            body = body.model_copy(update={"voice": service.voice_id})
    result: dict[str, Any] = await speech_call(gw, "preview", body.model_dump(mode="json"))
    return result


@router.post("/phonemes", summary="Phones and words of a text with timings (from TTS or estimated)")
async def phonemes(body: PhonemesRequest, gw: GatewayDep) -> dict[str, Any]:
    check_text(body.text)
    result: dict[str, Any] = await speech_call(gw, "phonemes", body.model_dump(mode="json"))
    return result


@router.post(
    "/phonemes/timing",
    summary="Spread given phones over an audio duration (by phone class, not uniformly)",
)
async def phoneme_timing(body: TimingRequest, gw: GatewayDep) -> dict[str, Any]:
    result: dict[str, Any] = await speech_call(gw, "timing", body.model_dump(mode="json"))
    return result


@router.get("/visemes", summary="Viseme sets and the phone-to-viseme mappings of every format")
async def visemes() -> dict[str, Any]:
    return {"formats": list(FORMATS), **viseme_sets()}


@router.get("/voices", summary="Installed voices (language, gender) and variants")
async def voices(gw: GatewayDep) -> dict[str, Any]:
    result: dict[str, Any] = await speech_call(gw, "voices")
    service = await service_voice(gw)
    return {**result, "service_default": voice_json(service)}

"""Voice and speak routes: the service's default voice, each avatar's voice, speak, interrupt.

Voices are recorded as events (VoiceAttached / VoiceDetached: the tenant's default-voice stream,
or the avatar's own); speak synthesises in the Speech deployment, stores the WAV, then records
SpeechStarted through the avatar's actor.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
import wave
from typing import Any

from fastapi import APIRouter, Response

from actors.commands import AttachVoice, DetachVoice, InterruptSpeech, StartSpeech
from actors.errors import EntityError, Unavailable
from assets import AssetNotFound
from events.avatar import Voice
from events.speech import LipSyncTrack
from media.speech.voices import DEFAULT_VOICE
from serve_app.gateway import Gateway
from serve_app.http import IdempotencyKey, IfMatch, parse_if_match, set_version
from serve_app.rendering.outputs import stored_output
from serve_app.routes.deps import AvatarId, GatewayDep
from serve_app.speaking.client import default_voice, service_voice, speech_call, voice_json
from serve_app.speaking.models import SpeakRequest, VoiceAttachRequest, VoiceChoice
from serve_app.speaking.work import check_text, track_payload

log = logging.getLogger(__name__)

router = APIRouter(tags=["speech"])


# ---------------------------------------------------------------------------- voices


async def _checked_voice(gw: Gateway, body: VoiceChoice, base: Voice | None) -> Voice:
    """``body`` over ``base``, with the voice name checked against the installed voices."""
    voice = body.over(base)
    await speech_call(gw, "describe_voice", voice.voice_id)  # 422 naming GET /voices when unknown
    return voice


async def _voice_status(gw: Gateway, voice: Voice | None) -> dict[str, Any]:
    effective = voice or Voice(voice_id=DEFAULT_VOICE)
    return {
        "attached": voice is not None,
        "voice": voice_json(voice),
        "effective": effective.model_dump(),
        "resolved": await speech_call(gw, "describe_voice", effective.voice_id),
    }


@router.post("/voice/attach", summary="Set the service's default voice (recorded as an event)")
async def attachdefault_voice(body: VoiceAttachRequest, gw: GatewayDep) -> dict[str, Any]:
    voice = await _checked_voice(gw, body, None)
    state = await asyncio.to_thread(default_voice(gw).attach, voice)
    return {**await _voice_status(gw, state.voice), "version": state.version}


@router.delete("/voice/detach", summary="Remove the service's default voice (back to en-us)")
async def detachdefault_voice(gw: GatewayDep) -> dict[str, Any]:
    state = await asyncio.to_thread(default_voice(gw).detach)
    return {**await _voice_status(gw, state.voice), "version": state.version}


@router.get("/voice/status", summary="The service's default voice")
async def default_voice_status(gw: GatewayDep) -> dict[str, Any]:
    state = await asyncio.to_thread(default_voice(gw).get)
    return {**await _voice_status(gw, state.voice), "version": state.version}


async def _avatar_voice_status(
    gw: Gateway, avatar_id: str, version: int, state: dict[str, Any]
) -> dict[str, Any]:
    own = None if state.get("voice") is None else Voice.model_validate(state["voice"])
    status = await _voice_status(gw, own or await service_voice(gw))
    return {
        "avatar_id": avatar_id,
        "version": version,
        **status,
        "attached": own is not None,
        "voice": voice_json(own),
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
    # A retry is recognised before anything is synthesised or stored.
    view = await gw.avatar(avatar_id, idempotency_key)
    own = view["state"].get("voice") if view["version"] else None
    base = Voice.model_validate(own) if own else await service_voice(gw)
    voice = body.over(base)
    if view.get("recalled"):
        return await _replayed_speak(gw, avatar_id, body, voice, view["recalled"])
    utterance_id = (
        "u-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if idempotency_key
        else f"u-{uuid.uuid4().hex[:24]}"
    )
    spoken: dict[str, Any] = await speech_call(
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
    try:
        result = await gw.command(
            "avatar",
            avatar_id,
            command,
            if_match=parse_if_match(if_match),
            idempotency_key=idempotency_key,
        )
    except Unavailable:
        raise
    except EntityError:
        # Refused, so nothing was recorded: the stored audio must not stay behind. (After an
        # Unavailable the outcome is unknown, so the audio stays: a recorded event never points
        # at a deleted file.)
        await asyncio.shield(_forget_asset(gw, spoken["audio"]["asset_id"]))
        raise
    set_version(response, result["version"])
    started = next((e for e in result["events"] if e["type"] == "SpeechStarted"), None)
    audio = spoken["audio"]
    if result.get("replayed") and started is not None:  # a retry racing the first attempt
        audio = await _recorded_audio(gw, started["data"]["audio_asset_id"], audio)
    return {
        "avatar_id": avatar_id,
        "utterance_id": started["data"]["utterance_id"] if started else utterance_id,
        "version": result["version"],
        "replayed": result.get("replayed", False),
        "text": body.text,
        "voice": voice.model_dump(),
        "resolved_voice": spoken["voice"],
        "audio": audio,
        **{k: spoken[k] for k in ("duration", "duration_ms", "format", "phonemes", "words")},
        "visemes": spoken["visemes"],
    }


async def _replayed_speak(
    gw: Gateway, avatar_id: str, body: SpeakRequest, voice: Voice, recalled: dict[str, Any]
) -> dict[str, Any]:
    """The answer to a retried speak, rebuilt from what the first attempt recorded: its track,
    its stored audio and its voice (nothing is synthesised again)."""
    started = next(e for e in recalled["events"] if e["type"] == "SpeechStarted")["data"]
    track = LipSyncTrack.model_validate(started["track"])
    audio = None
    if started.get("audio_asset_id"):
        audio = await asyncio.to_thread(_stored_wav, gw, started["audio_asset_id"])
    return {
        "avatar_id": avatar_id,
        "utterance_id": started["utterance_id"],
        "version": recalled["version"],
        "replayed": True,
        "text": started["text"],
        "voice": voice.model_dump(),
        "resolved_voice": await speech_call(gw, "describe_voice", started["voice_id"]),
        "audio": audio,
        **track_payload(track, body.format),
    }


def _stored_wav(gw: Gateway, asset_id: str) -> dict[str, Any] | None:
    """The stored WAV's asset JSON with its sample rate (``None`` if it is gone)."""
    try:
        path, info = gw.assets.open_path(gw.tenant, asset_id)
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
    except (AssetNotFound, OSError, wave.Error):
        return None
    return {**stored_output(info).to_json(), "sample_rate": rate}


async def _forget_asset(gw: Gateway, asset_id: str) -> None:
    try:
        await asyncio.to_thread(gw.assets.delete, gw.tenant, asset_id)
    except AssetNotFound:
        pass
    except Exception:  # the failure that brought us here matters more
        log.exception("could not delete the audio of a speak that failed (%s)", asset_id)


async def _recorded_audio(
    gw: Gateway, recorded_id: str | None, fresh: dict[str, Any]
) -> dict[str, Any]:
    """A retried speak: answer with the audio the first attempt recorded, and drop the copy this
    attempt stored (its bytes may differ by a few samples, so it is another asset)."""
    if recorded_id is None or recorded_id == fresh["asset_id"]:
        return fresh
    try:
        info = await asyncio.to_thread(gw.assets.get, gw.tenant, recorded_id)
    except AssetNotFound:
        return fresh
    await asyncio.to_thread(gw.assets.delete, gw.tenant, fresh["asset_id"])
    return {**stored_output(info).to_json(), "sample_rate": fresh["sample_rate"]}


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

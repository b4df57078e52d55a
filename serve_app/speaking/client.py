"""How the ingress reaches speech: the Speech deployment's handle and the default voice."""

from __future__ import annotations

import asyncio
from typing import Any

from ray.serve.handle import DeploymentHandle

from actors.catalog import DefaultVoice
from events.avatar import Voice
from serve_app.errors import ApiError, Failure
from serve_app.gateway import Gateway


def speech_handle(gw: Gateway) -> DeploymentHandle[Any]:
    handle = gw.deployments.get("speech")
    if handle is None:
        raise ApiError(503, "unavailable", "no speech deployment in this application")
    return handle


async def speech_call(gw: Gateway, method: str, *args: Any) -> Any:
    """Call a Speech replica; its refusals (``{"error": ...}``) are raised as :class:`Failure`."""
    out: dict[str, Any] = await getattr(speech_handle(gw), method).remote(*args, tenant=gw.tenant)
    Failure.raise_for(out)
    return out["result"]


def default_voice(gw: Gateway) -> DefaultVoice:
    return gw.catalogs.voice


async def service_voice(gw: Gateway) -> Voice | None:
    """The tenant's default voice, if one is attached."""
    return (await asyncio.to_thread(default_voice(gw).get)).voice


def voice_json(voice: Voice | None) -> dict[str, Any] | None:
    return None if voice is None else voice.model_dump()

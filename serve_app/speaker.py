"""The Speech deployment: espeak-ng synthesis and lip-sync in replicas of their own.

libespeak-ng is process-global state behind one lock, so a replica synthesises one utterance at
a time (on a worker thread, keeping its event loop free for Serve's health checks); more
throughput means more replicas, which Serve adds under load. The ingress calls it through a
``DeploymentHandle``; expected failures come back as data (``{"error": {...}}``), like the
Renderer's, rather than as exceptions across the handle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ray import serve

from actors import prometheus
from actors.naming import DEFAULT_TENANT
from assets import StorageQuotaExceeded
from events.avatar import Voice
from serve_app.errors import status_of
from serve_app.rendering.outputs import open_output_store
from serve_app.settings import Settings
from serve_app.speaking import work
from serve_app.speaking.models import (
    LipSyncRequest,
    PhonemesRequest,
    PreviewRequest,
    TimingRequest,
)

log = logging.getLogger(__name__)

_DEFAULTS = Settings()
T = TypeVar("T")


@serve.deployment(
    name="Speech",
    ray_actor_options={"num_cpus": _DEFAULTS.speech_num_cpus},
    max_ongoing_requests=_DEFAULTS.speech_max_ongoing_requests,
    autoscaling_config=_DEFAULTS.speech_autoscaling(),
)
class Speech:
    def __init__(self, settings: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self.settings = Settings.model_validate(settings)
        self._workers: dict[str, work.SpeechWorker] = {}
        work.voices()  # load the engine and the voice list before the first request

    def worker(self, tenant: str) -> work.SpeechWorker:
        """The request's tenant's worker (its outputs land in that tenant's assets)."""
        found = self._workers.get(tenant)
        if found is None:
            found = self._workers[tenant] = work.SpeechWorker(
                open_output_store(self.settings, tenant=tenant),
                self.settings.lipsync_max_audio_bytes,
            )
        return found

    async def _run(self, fn: Callable[..., T], *args: Any) -> dict[str, Any]:
        try:
            return {"result": await asyncio.to_thread(fn, *args)}
        except work.SpeechFailure as e:
            return {"error": e.to_json()}
        except StorageQuotaExceeded as e:  # no room left for the audio
            return {"error": {"status": status_of(e.code), "code": e.code, "message": str(e)}}

    async def voices(self, *, tenant: str = DEFAULT_TENANT) -> dict[str, Any]:
        return await self._run(work.voices)

    async def describe_voice(
        self, voice_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        return await self._run(work.describe_voice, voice_id)

    async def lipsync(
        self, request: dict[str, Any], voice: dict[str, Any], *, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        req = LipSyncRequest.model_validate(request)
        return await self._run(self.worker(tenant).lipsync, req, Voice.model_validate(voice))

    async def lipsync_upload(
        self,
        data: bytes,
        sample_rate: int | None,
        transcript: str | None,
        voice: dict[str, Any],
        fmt: str,
        *,
        tenant: str = DEFAULT_TENANT,
    ) -> dict[str, Any]:
        return await self._run(
            self.worker(tenant).lipsync_upload,
            data,
            sample_rate,
            transcript,
            Voice.model_validate(voice),
            fmt,
        )

    async def preview(
        self, request: dict[str, Any], *, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        return await self._run(self.worker(tenant).preview, PreviewRequest.model_validate(request))

    async def phonemes(
        self, request: dict[str, Any], *, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        return await self._run(
            self.worker(tenant).phonemes, PhonemesRequest.model_validate(request)
        )

    async def timing(
        self, request: dict[str, Any], *, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        return await self._run(self.worker(tenant).timing, TimingRequest.model_validate(request))

    async def speak(
        self,
        text: str,
        voice: dict[str, Any],
        ssml: bool,
        fmt: str,
        name: str,
        *,
        tenant: str = DEFAULT_TENANT,
    ) -> dict[str, Any]:
        out = await self._run(
            self.worker(tenant).speak, text, Voice.model_validate(voice), ssml, fmt, name
        )
        prometheus.speech_synthesised("speak", float((out.get("result") or {}).get("duration", 0)))
        return out

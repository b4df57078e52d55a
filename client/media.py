"""Speech and lip-sync without an avatar, renders (frames, videos) and downloads."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from client.avatars import body
from client.jobs import Jobs, ProgressCallback
from client.transport import Transport
from serve_app.rendering.models import FrameRequest, SequenceRequest
from serve_app.schemas import API_PREFIX
from serve_app.schemas.jobs import JobView
from serve_app.schemas.outputs import VideoResult
from serve_app.speaking.models import LipSyncRequest, PhonemesRequest, PreviewRequest

JSON = dict[str, Any]


class Speech:
    """``client.speech``: audio and lip-sync tracks (nothing recorded on an avatar)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def lipsync(
        self, text: str | None = None, *, audio: bytes | None = None, **options: Any
    ) -> JSON:
        """A track (and stored WAV) for ``text``, or a track estimated from WAV ``audio``
        (``transcript=`` aligns it); options are :class:`LipSyncRequest`'s."""
        fields: JSON = {"text": text, **options}
        if audio is not None:
            fields["audio_base64"] = base64.b64encode(audio).decode()
        req = LipSyncRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        return await self._post("/lipsync", body(req))

    async def preview(self, text: str, **options: Any) -> JSON:
        req = PreviewRequest.model_validate({"text": text, **options})
        return await self._post("/lipsync/preview", body(req))

    async def phonemes(self, text: str, **options: Any) -> JSON:
        req = PhonemesRequest.model_validate({"text": text, **options})
        return await self._post("/phonemes", body(req))

    async def voices(self) -> JSON:
        out: JSON = (await self._t.request("GET", f"{API_PREFIX}/voices")).json()
        return out

    async def visemes(self) -> JSON:
        out: JSON = (await self._t.request("GET", f"{API_PREFIX}/visemes")).json()
        return out

    async def _post(self, path: str, json_body: JSON) -> JSON:
        out: JSON = (await self._t.request("POST", API_PREFIX + path, json_body=json_body)).json()
        return out


class Render:
    """``client.render``: frames and videos; long videos run as jobs."""

    def __init__(self, transport: Transport, jobs: Jobs) -> None:
        self._t = transport
        self._jobs = jobs

    async def frame(self, **options: Any) -> bytes:
        """One image (PNG by default) from :class:`FrameRequest`'s options."""
        req = FrameRequest.model_validate(options)
        return (await self._t.request("POST", f"{API_PREFIX}/render", json_body=body(req))).body

    async def sequence(self, **options: Any) -> VideoResult:
        """Render a timeline (``text``, cues) or an avatar's events to a stored video and wait
        for it in this request."""
        req = SequenceRequest.model_validate({**options, "response": "json"})
        reply = await self._t.request("POST", f"{API_PREFIX}/render/sequence", json_body=body(req))
        return VideoResult.model_validate(reply.json())

    async def start_sequence(self, **options: Any) -> JobView:
        """The same as a job (``background``): follow it with ``client.jobs.wait``."""
        req = SequenceRequest.model_validate({**options, "background": True})
        reply = await self._t.request("POST", f"{API_PREFIX}/render/sequence", json_body=body(req))
        return JobView.model_validate(reply.json())

    async def video(
        self, on_progress: ProgressCallback | None = None, **options: Any
    ) -> VideoResult:
        """A video as a job, waited for (``on_progress(job)`` on each step)."""
        job = await self.start_sequence(**options)
        done = await self._jobs.wait(job.job_id, on_progress=on_progress)
        return VideoResult.model_validate(done.result)

    async def download(self, url_or_asset_id: str, to: str | Path | None = None) -> bytes:
        """The bytes of an output or asset (its ``url``, or its id); written to ``to`` too."""
        path = url_or_asset_id
        if not path.startswith(("/", "http://", "https://")):
            path = f"{API_PREFIX}/assets/{path}/content"
        data = (await self._t.request("GET", path, headers={"Accept": "*/*"})).body
        if to is not None:
            Path(to).write_bytes(data)
        return data

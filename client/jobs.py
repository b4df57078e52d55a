"""Render jobs: read one, list a session's, wait for one over its WebSocket."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from client.errors import ConnectionFailed, JobFailed, NotFound
from client.transport import Transport
from serve_app.schemas import API_PREFIX
from serve_app.schemas.jobs import JobList, JobView

log = logging.getLogger(__name__)

ProgressCallback = Callable[[JobView], Awaitable[None] | None]


class Jobs:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def get(self, job_id: str) -> JobView:
        reply = await self._t.request("GET", f"{API_PREFIX}/jobs/{job_id}")
        return JobView.model_validate(reply.json())

    async def for_session(self, session_id: str) -> list[JobView]:
        reply = await self._t.request("GET", f"{API_PREFIX}/session/{session_id}/jobs")
        return JobList.model_validate(reply.json()).jobs

    async def wait(
        self,
        job_id: str,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> JobView:
        """The finished job (``status == "done"``, its ``result`` the output's facts), following
        ``/jobs/{id}/stream``; ``on_progress(job)`` (a function or a coroutine function) sees
        every step. A failed job raises :class:`JobFailed`; a broken stream is opened again
        (the job's state is read first, so an end missed meanwhile is not waited for)."""
        async with asyncio.timeout(timeout):
            return await self._follow(job_id, on_progress)

    async def _follow(self, job_id: str, on_progress: ProgressCallback | None) -> JobView:
        s = self._t.settings
        failures = 0
        seen: JobView | None = None

        async def step(job: JobView) -> JobView | None:
            nonlocal seen
            if on_progress is not None and job != seen:
                out = on_progress(job)
                if out is not None:
                    await out
            seen = job
            if job.status == "failed":
                raise JobFailed(job)
            return job if job.status == "done" else None

        while True:
            url = self._t.ws_url(f"{API_PREFIX}/jobs/{job_id}/stream")
            try:
                async with self._t.session.ws_connect(url, headers=self._t.headers()) as ws:
                    while True:
                        msg = await ws.receive(timeout=s.stream_idle_s)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        frame = json.loads(msg.data)
                        frame.pop("type", None)
                        done = await step(JobView.model_validate(frame))
                        if done is not None:
                            return done
                        failures = 0
                if ws.close_code == 4404:
                    raise NotFound(404, "job_not_found", f"job {job_id!r} not found")
                reason = f"closed {ws.close_code}"
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                reason = f"{type(e).__name__}: {e}"
            # The stream ended before the job did: read it, then follow it again.
            done = await step(await self.get(job_id))
            if done is not None:
                return done
            failures += 1
            if s.stream_reconnects is not None and failures > s.stream_reconnects:
                raise ConnectionFailed(f"job {job_id}: {reason}")
            await asyncio.sleep(s.backoff(failures - 1))

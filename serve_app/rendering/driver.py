"""Driving render jobs from the ingress: hand a job to a Renderer replica, keep it alive while
waiting, and take over jobs whose workers died (see :mod:`serve_app.rendering.jobs`).

A job is handed over with a plain handle call; the waiting task beats the job's heartbeat every
:data:`HEARTBEAT_S`. If the renderer replica dies the call fails and the job is marked failed; if
the ingress replica dies too (or the whole server), the heartbeat stops and the next ingress
replica to look at the job - a client polling it, a stream, or the periodic sweep - takes it
over and hands it out again. Replays are rebuilt from the journal, so a rerun gives the same
video.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ray.serve.handle import DeploymentHandle

from serve_app.rendering.jobs import STALE_AFTER_S, JobStore, open_job_store
from serve_app.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
SWEEP_EVERY_S = STALE_AFTER_S / 2

_background: set[asyncio.Task[Any]] = set()


def _keep(task: asyncio.Task[Any]) -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


class JobDriver:
    """One per ingress replica: starts jobs on the renderer and rescues orphaned ones."""

    def __init__(self, settings: Settings, renderer: DeploymentHandle[Any] | None) -> None:
        self.jobs: JobStore = open_job_store(settings.data_dir)
        self.renderer = renderer
        self._sweeper: asyncio.Task[None] | None = None

    def start(self, job_id: str) -> None:
        """Hand the job to a renderer replica in the background."""
        self.ensure_sweeping()
        _keep(asyncio.create_task(self._drive(job_id)))

    async def _drive(self, job_id: str) -> None:
        if self.renderer is None:
            await self._fail(job_id, 503, "unavailable", "no renderer deployment")
            return
        call = asyncio.ensure_future(self.renderer.run_job.remote(job_id))
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=HEARTBEAT_S)
                if done:
                    break
                await asyncio.to_thread(self.jobs.beat, job_id)
            call.result()
        except Exception as e:
            log.exception("render job %s failed in the renderer", job_id)
            await self._fail(job_id, 500, "render_failed", f"{type(e).__name__}: {e}")

    async def _fail(self, job_id: str, status: int, code: str, message: str) -> None:
        err = {"status": status, "code": code, "message": message}
        with contextlib.suppress(KeyError):
            job = await asyncio.to_thread(self.jobs.get, job_id)
            if job is not None and job["status"] not in ("done", "failed"):
                await asyncio.to_thread(self.jobs.update, job_id, status="failed", error=err)

    async def rescue(self, job: dict[str, Any]) -> bool:
        """Take over ``job`` if its workers are gone; whether this replica restarted it."""
        if not self.jobs.is_orphaned(job):
            return False
        claimed = await asyncio.to_thread(self.jobs.take_over, job["job_id"])
        if claimed is None:
            return False
        log.warning("render job %s was orphaned; attempt %s", job["job_id"], claimed["attempts"])
        self.start(job["job_id"])
        return True

    async def sweep(self) -> int:
        """Rescue every orphaned job; how many were restarted."""
        restarted = 0
        for job in await asyncio.to_thread(self.jobs.orphaned):
            restarted += await self.rescue(job)
        return restarted

    async def sweep_forever(self, every_s: float = SWEEP_EVERY_S) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # a sweep must never stop the next one
                log.exception("sweeping render jobs failed")
            await asyncio.sleep(every_s)

    def ensure_sweeping(self) -> None:
        """Start the periodic sweep on the running event loop (the ingress replica's) once."""
        if self._sweeper is None or self._sweeper.done():
            try:
                self._sweeper = asyncio.get_running_loop().create_task(self.sweep_forever())
            except RuntimeError:  # no loop yet (constructor): the first request starts it
                return
            _keep(self._sweeper)
            log.info("render job sweeper started (orphaned after %.0f s)", STALE_AFTER_S)

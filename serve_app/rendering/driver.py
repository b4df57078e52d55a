"""Driving render jobs from the ingress: hand an attempt to a Renderer replica, show life for it
while it waits, and take over jobs whose workers died (see :mod:`serve_app.rendering.jobs`).

The ingress replica that accepts a job claims its first attempt and hands it over with a plain
handle call. While the call is pending (queued behind other renders, or rendering) it records a
heartbeat whenever the job's stream has been quiet for :data:`HEARTBEAT_S`. If the renderer
replica dies the call fails and the next attempt is claimed at once and handed to another
replica (a render that fails is marked failed); if the ingress replica dies too
(or the whole server), the stream goes quiet, and the next ingress replica to look at the job -
a client polling it, a stream, or the periodic sweep of open jobs - takes it over with the next
claim and hands it out again. Replays are rebuilt from the journal, so a rerun gives the same
video.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from ray.exceptions import RayActorError
from ray.serve.handle import DeploymentHandle

from actors import prometheus
from events.jobs import JobKind
from serve_app.rendering.jobs import STALE_AFTER_S, ClaimLost, JobState, JobStore

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
SWEEP_EVERY_S = STALE_AFTER_S / 2


def process_worker_name(role: str = "ingress") -> str:
    """Who claims: this process (``ingress:<host>:<pid>``)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class JobDriver:
    """One per ingress replica: starts jobs on the renderer and rescues orphaned ones."""

    def __init__(
        self,
        jobs: JobStore,
        renderer: DeploymentHandle[Any] | None,
        worker: str | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.jobs = jobs
        self.renderer = renderer
        self.worker = worker or process_worker_name()
        self.heartbeat_s = heartbeat_s
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    async def create(
        self,
        kind: JobKind,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        avatar_id: str | None = None,
        owner: str | None = None,
        max_open: int | None = None,
    ) -> JobState:
        """Record a new job (claimed by this replica) and start its first attempt
        (:class:`~serve_app.rendering.jobs.JobQuotaExceeded` when ``owner`` is at
        ``max_open``)."""
        job = await asyncio.to_thread(
            self.jobs.create,
            kind,
            payload,
            self.worker,
            session_id=session_id,
            avatar_id=avatar_id,
            owner=owner,
            max_open=max_open,
        )
        prometheus.render_job("accepted")
        self.start(job.job_id, job.attempts)
        return job

    def start(self, job_id: str, attempt: int) -> None:
        """Hand attempt ``attempt`` to a renderer replica in the background."""
        self.ensure_sweeping()
        self._keep(asyncio.create_task(self._drive(job_id, attempt)))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _drive(self, job_id: str, attempt: int) -> None:
        work = self.jobs.attempt(job_id, attempt)
        if self.renderer is None:
            await self._fail(job_id, attempt, "unavailable", "no renderer deployment")
            return
        call = asyncio.ensure_future(
            self.renderer.run_job.remote(job_id, attempt, self.jobs.tenant)
        )
        beating = True
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=self.heartbeat_s)
                if done:
                    break
                if beating:
                    try:
                        await asyncio.to_thread(work.beat, self.worker, self.heartbeat_s)
                    except ClaimLost:  # taken over, or ended: nothing left to show life for
                        beating = False
                    except Exception:  # a busy journal: the next beat may get through
                        prometheus.journal_error("job_heartbeat")
                        log.exception("render job %s: heartbeat failed", job_id)
            _count_end(call.result(), attempt)
        except RayActorError as e:
            # The replica died (with its node, say), not the render: the next attempt, now, on
            # whichever replica Serve picks (a live node's); given up after MAX_ATTEMPTS.
            log.warning("render job %s: its renderer was lost (%s)", job_id, type(e).__name__)
            claimed = await asyncio.to_thread(self.jobs.take_over, job_id, self.worker, attempt)
            if claimed is not None:
                self.start(job_id, claimed.attempts)
        except Exception as e:
            log.exception("render job %s failed in the renderer", job_id)
            await self._fail(job_id, attempt, "render_failed", f"{type(e).__name__}: {e}")

    async def _fail(self, job_id: str, attempt: int, code: str, message: str) -> None:
        work = self.jobs.attempt(job_id, attempt)
        with contextlib.suppress(ClaimLost):  # finished after all, or someone else owns it now
            await asyncio.to_thread(work.fail, code, message)
            prometheus.render_job("failed", code)

    async def rescue(self, job: JobState) -> bool:
        """Take over ``job`` if its workers are gone; whether this replica restarted it."""
        if not self.jobs.is_orphaned(job):
            return False
        claimed = await asyncio.to_thread(self.jobs.take_over, job.job_id, self.worker)
        if claimed is None:
            return False
        log.warning("render job %s was orphaned; attempt %d", job.job_id, claimed.attempts)
        self.start(job.job_id, claimed.attempts)
        return True

    async def sweep(self) -> int:
        """Rescue every orphaned open job; how many were restarted."""
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

    async def aclose(self) -> None:
        """Stop the sweep and stop driving attempts (their jobs are taken over elsewhere)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def ensure_sweeping(self) -> None:
        """Start the periodic sweep on the running event loop (the ingress replica's) once."""
        if self._sweeper is None or self._sweeper.done():
            try:
                self._sweeper = asyncio.get_running_loop().create_task(self.sweep_forever())
            except RuntimeError:  # no loop yet (constructor): the first request starts it
                return
            self._keep(self._sweeper)
            log.info("render job sweeper started (orphaned after %.0f s)", STALE_AFTER_S)


def _count_end(view: Any, attempt: int) -> None:
    """Count the job's end in the metrics when this attempt ended it."""
    if not isinstance(view, dict) or view.get("attempts") != attempt:
        return
    status = view.get("status")
    if status in ("done", "failed"):
        error = view.get("error") or {}
        prometheus.render_job(str(status), str(error.get("code", "")))

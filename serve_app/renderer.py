"""The Renderer deployment: replicas that draw and encode, scaled by Serve on their own.

The ingress calls it through a ``DeploymentHandle``. Work runs in threads (skia and ffmpeg
release the GIL for most of it), so a replica's event loop keeps answering Serve's health and
metrics calls while it renders. Expected failures come back as data
(``{"error": {"code", "message", ...}}``, see :class:`~serve_app.errors.Failure`) rather than
exceptions across the handle.

``autoscaling_config`` and ``num_cpus`` are set from :class:`~serve_app.settings.Settings` in
:func:`serve_app.app.build_app`; the values below are the same defaults, for ``ray_config.yaml``
readers. A replica reserves half a CPU: on a 2-core laptop whole-CPU replicas would starve the
actors and the ingress.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from ray import serve

from actors import prometheus
from actors.catalog import ConfigStore
from actors.naming import DEFAULT_TENANT, Kind, stream_id
from actors.remote import shared_journal
from assets import StorageQuotaExceeded
from events.avatar import AvatarState
from events.journal import Journal
from media.face.errors import FaceError
from serve_app.errors import Failure
from serve_app.metrics import RenderStats
from serve_app.priority import lower_priority
from serve_app.rendering.jobs import JobStore
from serve_app.rendering.models import FrameRequest, SequenceRequest
from serve_app.rendering.outputs import open_output_store
from serve_app.rendering.work import RenderWorker
from serve_app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

_DEFAULTS = Settings()


@serve.deployment(
    name="Renderer",
    ray_actor_options={"num_cpus": _DEFAULTS.renderer_num_cpus},
    max_ongoing_requests=_DEFAULTS.renderer_max_ongoing_requests,
    autoscaling_config=_DEFAULTS.renderer_autoscaling(),
    # a replica chosen for downscaling finishes its renders first (a 10-min replay took ~70 s here)
    graceful_shutdown_timeout_s=_DEFAULTS.renderer_graceful_shutdown_s,
)
class Renderer:
    def __init__(self, settings: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self.settings = Settings.model_validate(settings)
        lower_priority(self.settings.renderer_nice)  # batch work: live streams come first
        self.journal = shared_journal(self.settings.journal_url)
        self._workers: dict[str, RenderWorker] = {}
        self.render_stats = RenderStats()

    def worker(self, tenant: str) -> RenderWorker:
        """The request's tenant's worker: its streams, assets, jobs and configuration."""
        found = self._workers.get(tenant)
        if found is None:
            found = self._workers[tenant] = _worker(self.settings, self.journal, tenant)
        return found

    async def frame(
        self, request: dict[str, Any], state: dict[str, Any] | None, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        """``{"content": bytes, "mime": str}`` of one still frame."""
        req = FrameRequest.model_validate(request)
        avatar = None if state is None else AvatarState.model_validate(state)
        try:
            content, mime = await self._timed(
                asyncio.to_thread(self.worker(tenant).frame, req, avatar), lambda _: 1
            )
        except (Failure, FaceError) as e:  # declared refusals; anything else is a bug
            return {"error": _error(e)}
        return {"content": content, "mime": mime}

    async def sequence(
        self,
        request: dict[str, Any],
        initial: dict[str, Any] | None,
        tenant: str = DEFAULT_TENANT,
    ) -> dict[str, Any]:
        """Render a sequence synchronously; the stored output's facts. A caller that gives up
        (the ingress's render timeout, a client gone) cancels this call, and the drawing thread
        stops at its next frame instead of rendering on for nobody."""
        req = SequenceRequest.model_validate(request)
        state = None if initial is None else AvatarState.model_validate(initial)
        stop = threading.Event()

        def check(frames: int, total: int | None) -> None:
            if stop.is_set():
                raise _GaveUp

        work = asyncio.to_thread(partial(self.worker(tenant).sequence, req, state, check))
        try:
            return await self._timed(work, _frames)
        except asyncio.CancelledError:
            stop.set()
            raise
        except (Failure, FaceError, StorageQuotaExceeded) as e:  # declared refusals
            return {"error": _error(e)}

    async def run_job(
        self, job_id: str, attempt: int, tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any]:
        """Run attempt ``attempt`` of a job (progress and end go to its stream); its view."""
        try:
            return await self._timed(
                asyncio.to_thread(self.worker(tenant).run_job, job_id, attempt),
                lambda job: _frames(job.get("result") or {}),
            )
        except Failure as e:
            return {"error": e.to_json()}

    async def stats(self) -> dict[str, Any]:
        """What this replica rendered in the recent window (``GET /performance``)."""
        return {"replica": _replica_tag(), **self.render_stats.summary()}

    async def _timed(self, work: Awaitable[T], frames_of: Callable[[T], int]) -> T:
        """``await work``, counting its frames and time in this replica's stats."""
        self.render_stats.started()
        started = time.perf_counter()
        frames = 0
        try:
            result = await work
            frames = frames_of(result)
            return result
        finally:
            self.render_stats.finished(frames, time.perf_counter() - started)
            prometheus.rendered(frames, self.render_stats.summary()["render_fps"])


def _worker(settings: Settings, journal: Journal, tenant: str) -> RenderWorker:
    def stream_of(kind: str, entity_id: str) -> str:
        k: Kind = "avatar" if kind == "avatar" else "session"
        return stream_id(k, tenant, entity_id)

    config = ConfigStore(journal, tenant)
    return RenderWorker(
        journal,
        stream_of,
        open_output_store(settings, tenant=tenant),
        JobStore(journal, tenant),
        settings.data_dir / "renders" / "tmp",
        lambda: config.get().config.shading,
    )


def _frames(result: dict[str, Any]) -> int:
    frames = result.get("frames")
    return frames if isinstance(frames, int) else 0


def _replica_tag() -> str | None:
    try:
        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside a replica (unit tests)
        return None


class _GaveUp(Exception):
    """Raised in the drawing thread of a render its caller cancelled."""


def _error(e: Failure | FaceError | StorageQuotaExceeded) -> dict[str, Any]:
    """A refusal as data (a picture the rig cannot draw is a ``validation_error``; an output
    the tenant has no room left for, its ``storage_quota``)."""
    if isinstance(e, Failure):
        return e.to_json()
    code = e.code if isinstance(e, StorageQuotaExceeded) else "validation_error"
    return Failure(code, str(e)).to_json()

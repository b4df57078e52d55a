"""The render worker: plain Python (no Ray) that draws frames, encodes and stores videos, and
runs render jobs to their end.

The Renderer deployment (``serve_app/renderer.py``) runs one per replica, in threads; a unit
test drives it directly with the memory journal. What to draw comes from
:mod:`~serve_app.rendering.frames` and :mod:`~serve_app.rendering.timelines`, the sound from
:mod:`~serve_app.rendering.audio`. Expected failures (unknown session, empty event range, bad
voice) are :class:`~serve_app.rendering.errors.RenderFailure` with a stable code (the edge maps
it to an HTTP status); the deployment returns them as data rather than raising across the
handle. Anything else is a bug: a job records it as ``render_failed`` and the log explains.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assets import StorageQuotaExceeded
from events.avatar import AvatarState
from events.journal import Journal
from events.picture import Shading
from events.session import MarkerAdded, TranscriptLine
from media.animation import Timeline
from media.face import PIXEL_FORMAT, FaceRig, RenderOptions
from media.video import MIME, PcmAudio, encode_image, render_timeline, speech_audio
from serve_app.rendering.audio import recorded_audio
from serve_app.rendering.errors import RenderFailure
from serve_app.rendering.frames import frame_params, frame_state, options_of
from serve_app.rendering.jobs import ClaimLost, JobStore, job_view
from serve_app.rendering.models import (
    FrameRequest,
    ReplayRequest,
    SequenceRequest,
    VideoOptions,
)
from serve_app.rendering.outputs import OutputStore
from serve_app.rendering.timelines import (
    StreamOf,
    events_timeline,
    sequence_timeline,
    session_seed,
    session_timeline,
)

Progress = Callable[[int, int | None], None]
_RIG_CACHE = 8
PROGRESS_EVERY_S = 1.0
"""Progress is recorded (an event in the job's stream) at most this often, plus the last frame."""

log = logging.getLogger(__name__)


class RenderWorker:
    """Renders frames, sequences and session replays; stores outputs; runs jobs."""

    def __init__(
        self,
        journal: Journal,
        stream_of: StreamOf,
        outputs: OutputStore,
        jobs: JobStore,
        work_dir: Path,
        configured_shading: Callable[[], Shading] = lambda: "toon",
    ) -> None:
        """``configured_shading``: the service configuration's shading, asked per render."""
        self.journal = journal
        self.configured_shading = configured_shading
        self.stream_of = stream_of
        self.outputs = outputs
        self.jobs = jobs
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._rigs: OrderedDict[tuple[Any, RenderOptions], FaceRig] = OrderedDict()
        self._rig_lock = threading.Lock()

    def _find_audio(self, asset_id: str) -> Path | None:
        found = self.outputs.lookup(asset_id)
        return None if found is None else found[0]

    # ------------------------------------------------------------------ frames

    def frame(self, req: FrameRequest, state: AvatarState | None) -> tuple[bytes, str]:
        """One encoded still frame and its MIME type."""
        drawn = frame_state(state or AvatarState(), req)
        params = frame_params(drawn, req.parameters)
        options = options_of(req, drawn.model_id, self.configured_shading)
        with self._rig_lock:  # a rig draws into its own buffer: one frame at a time
            rig = self._rig(drawn.traits, options)
            pixels = rig.render(params)
            data = encode_image(pixels, req.format, pixel_format=PIXEL_FORMAT, engine="skia")
        return data, MIME[req.format]

    def _rig(self, traits: Any, options: RenderOptions) -> FaceRig:
        key = (traits, options)
        rig = self._rigs.get(key)
        if rig is None:
            rig = self._rigs[key] = FaceRig(traits, options)
            while len(self._rigs) > _RIG_CACHE:
                self._rigs.popitem(last=False)
        else:
            self._rigs.move_to_end(key)
        return rig

    # ------------------------------------------------------------------ videos

    def sequence(
        self,
        req: SequenceRequest,
        initial: AvatarState | None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Render a sequence request (a timeline, or a range of the avatar's events)."""
        if req.events is not None:
            assert req.avatar_id is not None  # checked by the model
            timeline = events_timeline(
                self.journal,
                self.stream_of,
                req.avatar_id,
                req.events.from_version,
                req.events.to_version,
            )
            clips = recorded_audio(timeline, self._find_audio)
        else:
            timeline, clips = sequence_timeline(req, initial or AvatarState())
        return self._video(timeline, clips, req, req.seed, f"sequence.{req.format}", progress)

    def replay(
        self, session_id: str, opts: ReplayRequest, progress: Progress | None = None
    ) -> dict[str, Any]:
        """A session's video, rebuilt from the journal alone."""
        timeline, session, session_records = session_timeline(
            self.journal, self.stream_of, session_id
        )
        seed = session_seed(session_id) if opts.seed is None else opts.seed
        result = self._video(
            timeline,
            recorded_audio(timeline, self._find_audio),
            opts,
            seed,
            f"{session_id}.{opts.format}",
            progress,
        )
        start = session.started_at or 0.0
        result["session_id"] = session_id
        result["avatar_id"] = session.avatar_id
        result["markers"] = [
            {"label": r.event.label, "at_ms": round((r.recorded_at - start) * 1000.0, 1)}
            for r in session_records
            if isinstance(r.event, MarkerAdded)
        ]
        result["transcript"] = [
            {
                "speaker": r.event.speaker,
                "text": r.event.text,
                "at_ms": round((r.recorded_at - start) * 1000.0, 1),
            }
            for r in session_records
            if isinstance(r.event, TranscriptLine)
        ]
        return result

    def _video(
        self,
        timeline: Timeline,
        clips: dict[str, PcmAudio],
        opts: VideoOptions,
        seed: int,
        name: str,
        progress: Progress | None,
    ) -> dict[str, Any]:
        audio = speech_audio(timeline, clips)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="render-") as tmp:
            path = Path(tmp) / f"out.{opts.format}"
            started = time.perf_counter()
            done = render_timeline(
                timeline,
                path,
                fmt=opts.format,
                fps=opts.fps,
                options=options_of(opts, timeline.initial.model_id, self.configured_shading),
                seed=seed,
                audio=audio,
                progress=progress,
            )
            wall = time.perf_counter() - started
            stored = self.outputs.put_file(
                path,
                name=name,
                kind="image" if opts.format == "gif" else "video",
                mime=MIME[opts.format],
            )
        return {
            **stored.to_json(),
            "format": opts.format,
            "width": opts.width,
            "height": opts.height,
            "fps": opts.fps,
            "frames": done.frames,
            "duration_s": done.duration_s,
            "has_audio": done.has_audio,
            "seed": seed,
            "render_s": round(wall, 3),
        }

    # ------------------------------------------------------------------ jobs

    def run_job(self, job_id: str, attempt: int) -> dict[str, Any]:
        """Run attempt ``attempt`` of a job to its end; the job's view afterwards.

        Every write is the attempt's (see :class:`JobAttempt`): if the job was taken over in
        the meantime, the next progress write raises :class:`ClaimLost`, which stops the
        render, and the job is left to its new owner.
        """
        job = self.jobs.get(job_id)
        if job is None:
            raise RenderFailure("job_not_found", f"job {job_id!r} not found")
        work = self.jobs.attempt(job_id, attempt)
        try:
            job = work.start()
        except ClaimLost as e:  # finished, taken over, or already started: not ours to run
            return job_view(e.job or job)
        last = [time.monotonic()]

        def progress(frames: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S and frames != total:
                return
            last[0] = now
            work.progress(frames, total)  # ClaimLost propagates: the render stops

        payload = job.payload
        try:
            try:
                if job.kind == "replay":
                    opts = ReplayRequest.model_validate(payload["options"])
                    result = self.replay(payload["session_id"], opts, progress)
                else:
                    req = SequenceRequest.model_validate(payload["request"])
                    initial = payload.get("initial")
                    state = None if initial is None else AvatarState.model_validate(initial)
                    result = self.sequence(req, state, progress)
            except RenderFailure as e:
                return job_view(work.fail(e.code, e.message))
            except StorageQuotaExceeded as e:  # the tenant filled its quota while we drew
                return job_view(work.fail(e.code, str(e)))
            except ClaimLost:
                raise
            except Exception as e:  # a bug or a broken tool: the job records it, the log explains
                log.exception("render job %s failed", job_id)
                return job_view(work.fail("render_failed", f"{type(e).__name__}: {e}"))
            return job_view(work.finish(result))
        except ClaimLost as e:
            log.warning("render job %s: %s; leaving it to its new owner", job_id, e)
            return job_view(e.job or job)

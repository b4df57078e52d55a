"""Render jobs: one JSON file per job under ``<data_dir>/renders/jobs``.

The ingress creates a job (``queued``, with its payload) and asks a Renderer replica to run it;
the replica writes ``running`` with its progress, then ``done`` with the output or ``failed``
with the error. Any ingress replica can answer ``GET /jobs/{id}`` from the file, so jobs do not
depend on which replica took the request. Writes are atomic (temp file + rename).

An accepted job is not lost when the processes working on it die. Whoever works on a job shows
it is alive: the renderer with every progress write, the ingress task that waits for it with a
heartbeat (``<job>.alive``'s mtime). A job that is not finished and shows no life for
:data:`STALE_AFTER_S` is orphaned; one ingress replica takes it over (an ``O_EXCL`` claim per
attempt, so two replicas never both do) and hands it to a renderer again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

TERMINAL: frozenset[str] = frozenset({"done", "failed"})
JOB_ID_PATTERN = r"^job-[0-9a-f]{32}$"
_JOB_ID = re.compile(JOB_ID_PATTERN)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
STALE_AFTER_S = 30.0
"""No sign of life for this long: the job's workers are gone (progress comes every 0.25 s and
the waiting ingress beats every few seconds)."""
MAX_ATTEMPTS = 3


class JobStore:
    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock = clock

    def create(self, kind: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
        job = {
            "job_id": f"job-{uuid.uuid4().hex}",
            "kind": kind,
            "status": "queued",
            "progress": 0.0,
            "frames_done": 0,
            "frames_total": None,
            "created_at": time.time(),
            "started_at": None,
            "finished_at": None,
            "result": None,
            "error": None,
            **fields,
            "payload": payload,
        }
        self._write(job)
        self.beat(job["job_id"])
        session_id = fields.get("session_id")
        if session_id is not None:  # index: the session stream reports its jobs' progress
            index = self._session_dir(session_id)
            index.mkdir(parents=True, exist_ok=True)
            (index / job["job_id"]).touch()
        return job

    def for_session(self, session_id: str) -> list[dict[str, Any]]:
        """The jobs made for ``session_id`` (replays), oldest first."""
        index = self._session_dir(session_id)
        if not index.is_dir():
            return []
        jobs = [self.get(p.name) for p in index.iterdir()]
        return sorted((j for j in jobs if j is not None), key=lambda j: j["created_at"])

    def _session_dir(self, session_id: str) -> Path:
        if not _SAFE_NAME.match(session_id):
            raise ValueError(f"bad session id {session_id!r}")
        return self.root / "by-session" / session_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        if not _JOB_ID.match(job_id):
            return None
        with contextlib.suppress(OSError, ValueError):
            job: dict[str, Any] = json.loads((self.root / f"{job_id}.json").read_text())
            return job
        return None

    def update(self, job_id: str, **fields: Any) -> dict[str, Any]:
        """Change ``fields`` of a job (one writer at a time: the replica running it)."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        job.update(fields)
        self._write(job)
        self.beat(job_id)
        return job

    # ------------------------------------------------------------------ liveness

    def beat(self, job_id: str) -> None:
        """Record that someone is working on the job (or waiting for a renderer to)."""
        alive = self.root / f"{job_id}.alive"
        now = self.clock()
        try:
            os.utime(alive, (now, now))
        except FileNotFoundError:
            alive.touch()
            os.utime(alive, (now, now))

    def last_beat(self, job: dict[str, Any]) -> float:
        try:
            return (self.root / f"{job['job_id']}.alive").stat().st_mtime
        except OSError:
            return float(job.get("created_at") or 0.0)

    def is_orphaned(self, job: dict[str, Any], stale_after_s: float = STALE_AFTER_S) -> bool:
        return job["status"] not in TERMINAL and self.clock() - self.last_beat(job) > stale_after_s

    def orphaned(self, stale_after_s: float = STALE_AFTER_S) -> list[dict[str, Any]]:
        """Unfinished jobs nobody has shown life for in ``stale_after_s``."""
        out = []
        for path in self.root.glob("job-*.json"):
            job = self.get(path.stem)
            if job is not None and self.is_orphaned(job, stale_after_s):
                out.append(job)
        return out

    def take_over(self, job_id: str) -> dict[str, Any] | None:
        """Claim an orphaned job for another attempt; ``None`` if another replica claimed it
        first. Past :data:`MAX_ATTEMPTS` the job fails instead (a job that kills its workers
        should not kill them forever)."""
        job = self.get(job_id)
        if job is None or not self.is_orphaned(job):  # finished, or someone works on it
            return None
        attempt = int(job.get("attempts") or 1) + 1  # one O_EXCL claim per attempt number
        try:
            fd = os.open(self.root / f"{job_id}.attempt-{attempt}", os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return None
        os.close(fd)
        if attempt > MAX_ATTEMPTS:
            error = {
                "status": 500,
                "code": "render_abandoned",
                "message": f"the job's workers stopped {attempt - 1} times; giving up",
            }
            self.update(job_id, status="failed", finished_at=self.clock(), error=error)
            return None
        return self.update(job_id, status="queued", attempts=attempt, progress=0.0, frames_done=0)

    def _write(self, job: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".job-")
        with os.fdopen(fd, "w") as f:
            json.dump(job, f)
        os.replace(tmp, self.root / f"{job['job_id']}.json")


def public_view(job: dict[str, Any]) -> dict[str, Any]:
    """What clients see of a job (the payload stays internal)."""
    return {k: v for k, v in job.items() if k != "payload"}


def progress_frame(job: dict[str, Any]) -> dict[str, Any]:
    """A non-persisted ``progress`` frame of a job (session and job WebSocket streams)."""
    frame = {
        "type": "progress",
        "stream": "render",
        "job_id": job["job_id"],
        "kind": job["kind"],
        "status": job["status"],
        "progress": job["progress"],
        "frames_done": job["frames_done"],
        "frames_total": job["frames_total"],
    }
    if job["status"] == "done":
        frame["result"] = job["result"]
    elif job["status"] == "failed":
        frame["error"] = job["error"]
    return frame


@functools.cache
def open_job_store(data_dir: Path) -> JobStore:
    """The job store under ``data_dir`` (one instance per process and folder)."""
    return JobStore(Path(data_dir) / "renders" / "jobs")

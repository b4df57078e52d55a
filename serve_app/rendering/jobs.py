"""Render jobs: one JSON file per job under ``<data_dir>/renders/jobs``.

The ingress creates a job (``queued``, with its payload) and asks a Renderer replica to run it;
the replica writes ``running`` with its progress, then ``done`` with the output or ``failed``
with the error. Any ingress replica can answer ``GET /jobs/{id}`` from the file, so jobs do not
depend on which replica took the request. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

JobStatus = Literal["queued", "running", "done", "failed"]
TERMINAL: frozenset[str] = frozenset({"done", "failed"})
JOB_ID_PATTERN = r"^job-[0-9a-f]{32}$"
_JOB_ID = re.compile(JOB_ID_PATTERN)


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

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
        return job

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
        return job

    def _write(self, job: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".job-")
        with os.fdopen(fd, "w") as f:
            json.dump(job, f)
        os.replace(tmp, self.root / f"{job['job_id']}.json")


def public_view(job: dict[str, Any]) -> dict[str, Any]:
    """What clients see of a job (the payload stays internal)."""
    return {k: v for k, v in job.items() if k != "payload"}


def open_job_store(data_dir: Path) -> JobStore:
    return JobStore(Path(data_dir) / "renders" / "jobs")

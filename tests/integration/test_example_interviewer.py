"""``examples/interviewer.py`` end to end against the real service: a session, three spoken
questions watched as events, and the replay MP4 decoded back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ffmpeg_decode import audio_seconds, decode_frames, framemd5
from tests.integration.conftest import Service

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "interviewer.py"


def test_the_interviewer_example(service: Service, tmp_path: Path) -> None:
    out = tmp_path / "interview.mp4"
    questions = ["Hello.", "Why this job?", "Any questions?"]
    argv = [sys.executable, str(EXAMPLE), "--url", service.base, "-o", str(out), "--size", "96"]
    for q in questions:
        argv += ["--question", q]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=150, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["events"].count("SpeechStarted") == 3
    assert "event v" in done.stderr and "replay done 100%" in done.stderr
    video = summary["video"]
    assert video["session_id"] == summary["session_id"]
    assert [m["label"] for m in video["markers"]] == ["q1", "q2", "q3"]
    frames = decode_frames(out, 96, 96)
    assert abs(len(frames) - video["duration_s"] * video["fps"]) <= 1
    assert len(set(framemd5(out))) > 5  # the face moves
    assert audio_seconds(out) > 1.5  # three questions said

"""A one-minute soak (bench/soak.py) with every fault once: nothing acknowledged is lost or
doubled, every subscriber's frames equal the journal, no render job is left stuck.

It runs in a subprocess: the soak starts its own Ray cluster and service, which must not meet
the session-wide cluster of the integration tests. Only correctness is asserted; the timings of
a loaded 2-core machine are the soak's figures, not this test's business.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.own_cluster import env_without_our_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]


def test_a_minute_under_load_with_faults_loses_nothing(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.soak", "--duration", "60", "--no-record"]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        env=env_without_our_cluster(),
    )
    verdict_file = tmp_path / "verdict.json"
    assert verdict_file.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads(verdict_file.read_text())
    history = json.loads((tmp_path / "history.json").read_text())
    assert [f["kind"] for f in history["faults"]] == [
        "host",
        "renderer",
        "speech",
        "ingress",
        "journal",
    ]
    assert all(not f["error"] for f in history["faults"]), history["faults"]
    assert verdict["acked"] > 500, verdict  # the load ran
    assert verdict["frames"] > 1000, verdict
    assert verdict["jobs_accepted"] > 0, verdict
    wrong = {
        k: verdict[k]
        for k in (
            "lost",
            "duplicated",
            "wrong_version",
            "gaps",
            "frame_dups",
            "reordered",
            "mismatched",
            "jobs_stuck",
            "failed_without_reason",
        )
        if verdict[k]
    }
    assert not wrong, (wrong, verdict["problems"])
    assert done.returncode == 0, done.stdout[-3000:]

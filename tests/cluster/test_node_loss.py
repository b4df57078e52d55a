"""The loss of a worker node: nothing acknowledged is lost or doubled, every avatar answers
again, and every subscriber resuming from its last version sees no gap and no duplicate.

The scenario (``tests/cluster/node_loss.py``) runs in a process of its own: it makes a
two-node Ray cluster of its own (``ray start``, own temp dirs, its own token), which must not
meet the Ray that integration tests share in this pytest process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.own_cluster import env_without_our_cluster
from tests.pg import PgServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_losing_a_worker_node_loses_nothing_and_every_avatar_answers_again(
    pg_server: PgServer, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    journal = pg_server.fresh_database("nodeloss")
    command = [sys.executable, "-m", "tests.cluster.node_loss", "--journal", journal]
    command += ["--out", str(out), "--avatars", "12", "--interval", "0.5"]
    env = env_without_our_cluster()
    subprocess.run(command, check=True, timeout=400, cwd=ROOT, env=env)
    result = json.loads(out.read_text())
    summary = {k: result[k] for k in ("shard_nodes", "answered_after_kill_s", "timings")}

    # `avatar-service serve --address` joined the two nodes and refused its SQLite journal
    code, said = result["refusal"]
    assert code == 2 and "refusing to run on 2 Ray nodes" in said, said
    assert "AVATAR_JOURNAL=postgresql://" in said and "AVATAR_BLOB_DIR_SHARED=true" in said
    # avatars lived on both nodes, and the worker node was killed whole (raylet and workers)
    assert set(result["shard_nodes"].values()) == {"head", "worker"}, summary
    assert result["on_worker"] and len(result["on_worker"]) < result["avatars"], summary
    assert result["killed_pids"] >= 3, summary
    # every avatar, those of the lost node included, took commands again
    assert result["not_answering"] == [], summary
    assert set(result["on_worker"]) <= set(result["answered_after_kill_s"]), summary
    # every acknowledged command is in the journal exactly once
    assert result["acked"] > 3 * result["avatars"]
    assert result["lost"] == [] and result["duplicated"] == [], summary
    # each subscriber saw every event once, in order (resuming from its last version if cut)
    assert result["subscribers"] >= 3 and result["subscriber_problems"] == [], summary

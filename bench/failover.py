"""Failover: how long after the loss of a worker node its avatars take commands again.

Two Ray nodes on this machine (``ray start`` with their own temp dirs and the same auth token,
Ray's health checks tightened by ``serve_app.raytune.FAST_FAILOVER_ENV``), the service on
PostgreSQL, the hosted shards spread over both nodes, a steady load with idempotency keys and
live subscribers; then SIGKILL of every process of the worker node. Reports, for the avatars
that lived on the lost node, the time from the kill until each answered a command again (p50
and max), and what the checks found (nothing lost, doubled or gapped). The scenario is
``tests/cluster/node_loss.py``, the one the node-loss test runs.

    python -m bench.failover [--runs 3] [--no-record]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import percentile, report

_PHASES = ("cluster_up_s", "deployed_s", "kill_at_s", "recovered_s", "checked_s", "stopped_s")


def run_once(journal: str, avatars: int, interval: float, timeout: float = 600) -> dict[str, Any]:
    """The scenario in a process of its own (it joins a Ray cluster of its own making)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.cluster.node_loss",
                "--journal",
                journal,
                "--out",
                str(out),
                "--avatars",
                str(avatars),
                "--interval",
                str(interval),
            ],
            check=True,
            timeout=timeout,
            cwd=Path(__file__).resolve().parent.parent,
        )
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--avatars", type=int, default=24)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args(argv)

    from tests.pg import start_pg_server

    load_before = os.getloadavg()[0]
    server = start_pg_server()
    results = []
    try:
        for _ in range(args.runs):
            results.append(run_once(server.fresh_database("failover"), args.avatars, args.interval))
    finally:
        server.close()
    dead_node = [
        r["answered_after_kill_s"][a]
        for r in results
        for a in r["on_worker"]
        if a in r["answered_after_kill_s"]
    ]
    everyone = [t for r in results for t in r["answered_after_kill_s"].values()]
    per_run_max = [
        max((r["answered_after_kill_s"].get(a, float("inf")) for a in r["on_worker"]), default=0)
        for r in results
    ]
    rows = [
        ("runs x avatars", f"{args.runs} x {args.avatars} (hosted, 4 shards, PostgreSQL)"),
        (
            "avatars on the lost node",
            f"{sum(len(r['on_worker']) for r in results)} (shards there: "
            + ", ".join(str(list(r["shard_nodes"].values()).count("worker")) for r in results)
            + ")",
        ),
        ("processes killed per run", ", ".join(str(r["killed_pids"]) for r in results)),
        ("lost node's avatars answering again: p50", f"{percentile(dead_node, 50):.1f} s"),
        ("lost node's avatars answering again: max", f"{max(dead_node, default=0):.1f} s"),
        ("every avatar answering again, per run", ", ".join(f"{m:.1f} s" for m in per_run_max)),
        ("all avatars: p50 of the first answer", f"{percentile(everyone, 50):.1f} s"),
        ("acknowledged commands", str(sum(r["acked"] for r in results))),
        (
            "lost / duplicated",
            f"{sum(len(r['lost']) for r in results)} / "
            f"{sum(len(r['duplicated']) for r in results)}",
        ),
        ("avatars not answering", str(sum(len(r["not_answering"]) for r in results))),
        (
            "subscribers (reconnects) / with a gap or duplicate",
            f"{sum(r['subscribers'] for r in results)} "
            f"({sum(r['subscriber_reconnects'] for r in results)}) / "
            f"{sum(len(r['subscriber_problems']) for r in results)}",
        ),
        (
            "run: cluster up / deployed / kill / recovered / checked / stopped",
            "; ".join(
                " / ".join(f"{r['timings'].get(k, float('nan')):.0f}" for k in _PHASES) + " s"
                for r in results
            ),
        ),
        ("load average before", f"{load_before:.1f}"),
    ]
    notes = (
        "Time from the SIGKILL of every process of the worker node until each of its avatars "
        "acknowledged a command again (clients retry with the same Idempotency-Key every "
        "0.2 s). Ray health checks: 1 s period, 3 failures (serve_app/raytune.py "
        "FAST_FAILOVER_ENV); both nodes on this one machine."
    )
    report("Failover: loss of a worker node", rows, notes, save=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

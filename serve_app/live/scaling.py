"""The Live deployment's autoscaling policy: replicas follow the live streams they hold.

A live stream is not a request (its answer returns at once; then it runs for minutes), so
Serve's default policy, which counts ongoing requests, would see no load at all. Each replica
reports ``live_streams`` (``Live.record_autoscaling_stats``); the desired count is the streams
over the target per replica, rounded up, and never fewer than the replicas holding streams, so
that a scale-down does not pick a busy replica while an idle one would do. Serve applies the
bounds and delays of ``autoscaling_config`` around it.

Serve pickles this module by value into its controller: keep it small and free of our imports.
"""

from __future__ import annotations

import math
from typing import Any


class LiveStreamsPolicy:
    def __init__(self, target: float = 4.0) -> None:
        self.target = max(1e-6, float(target))

    def __call__(self, ctx: Any) -> tuple[int, dict[str, Any]]:
        per_replica: dict[Any, float] = (ctx.aggregated_metrics or {}).get("live_streams", {})
        return desired_replicas(per_replica.values(), self.target), {}


def desired_replicas(streams_per_replica: Any, target: float) -> int:
    """Replicas wanted for these per-replica stream counts (at least one)."""
    counts = [float(v) for v in streams_per_replica]
    total = sum(counts)
    busy = sum(1 for v in counts if v > 0)
    return max(1, busy, math.ceil(total / target - 1e-9))

"""The Ingress deployment's autoscaling policy: replicas follow the HTTP requests in flight;
open WebSockets count against a target of their own, ten times higher.

Serve's default policy counts ongoing requests, and an open WebSocket is one for as long as it
stays open: 200 idle subscribers looked like 200 busy requests, and on a loaded machine the
replicas they added cost memory and fixed CPU without adding capacity. Each replica reports
``http_in_flight`` and ``websockets`` (``Ingress.record_autoscaling_stats``); the desired count
is the larger of the two needs, rounded up. Serve applies the bounds and delays of
``autoscaling_config`` around it.

Serve pickles this module by value into its controller: keep it small and free of our imports.
"""

from __future__ import annotations

import math
from typing import Any


class IngressPolicy:
    def __init__(self, target_requests: float = 200.0, target_websockets: float = 2000.0) -> None:
        self.target_requests = max(1e-6, float(target_requests))
        self.target_websockets = max(1e-6, float(target_websockets))

    def __call__(self, ctx: Any) -> tuple[int, dict[str, Any]]:
        metrics: dict[str, dict[Any, float]] = ctx.aggregated_metrics or {}
        wanted = desired_replicas(
            metrics.get("http_in_flight", {}).values(),
            metrics.get("websockets", {}).values(),
            self.target_requests,
            self.target_websockets,
        )
        return wanted, {}


def desired_replicas(
    requests: Any, websockets: Any, target_requests: float, target_websockets: float
) -> int:
    """Replicas wanted for these per-replica counts (at least one)."""
    for_requests = math.ceil(sum(float(v) for v in requests) / target_requests - 1e-9)
    for_websockets = math.ceil(sum(float(v) for v in websockets) / target_websockets - 1e-9)
    return max(1, for_requests, for_websockets)

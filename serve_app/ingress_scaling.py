"""The Ingress deployment's autoscaling policy: replicas follow the work, not the connections.

Serve's default policy counts ongoing requests, and an open WebSocket is one for as long as it
stays open: 200 idle subscribers looked like 200 busy requests, and the replicas they added cost
memory without adding capacity. But subscribers that are sent frames all the time are work: a
replica's event loop runs on one core (the GIL), and 200 busy subscribers filled it. So each
replica reports ``http_in_flight``, ``websockets`` and ``cpu`` (the cores its process used since
the last report; ``Ingress.record_autoscaling_stats``), and the desired count is the largest of
the three needs against their targets, rounded up: requests in flight, open sockets (a high
target: memory), and CPU (below one core, so a second replica starts before the first is full).
Serve applies the bounds and delays of ``autoscaling_config`` around it.

Serve pickles this module by value into its controller: keep it small and free of our imports.
"""

from __future__ import annotations

import math
from typing import Any


class IngressPolicy:
    def __init__(
        self,
        target_requests: float = 200.0,
        target_websockets: float = 2000.0,
        target_cpu: float = 0.7,
    ) -> None:
        self.targets = {
            "http_in_flight": max(1e-6, float(target_requests)),
            "websockets": max(1e-6, float(target_websockets)),
            "cpu": max(1e-6, float(target_cpu)),
        }

    def __call__(self, ctx: Any) -> tuple[int, dict[str, Any]]:
        metrics: dict[str, dict[Any, float]] = ctx.aggregated_metrics or {}
        loads = {name: metrics.get(name, {}).values() for name in self.targets}
        return desired_replicas(loads, self.targets), {}


def desired_replicas(per_replica: dict[str, Any], targets: dict[str, float]) -> int:
    """Replicas wanted: for each metric, its total over its target, rounded up (at least one)."""
    wanted = 1
    for name, target in targets.items():
        total = sum(float(v) for v in per_replica.get(name, ()))
        wanted = max(wanted, math.ceil(total / target - 1e-9))
    return wanted

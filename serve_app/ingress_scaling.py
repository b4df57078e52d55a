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

A replica added for CPU only helps where there are cores to run it: one busy Ingress replica
keeps about two cores busy (itself, the entity hosts and HAProxy behind it). On a 2-core laptop a
second replica competed with the first and its hosts for the same cores (commands/s at 32
clients fell by a fifth, bench/capacity.py). So the CPU need is capped at one replica per
``cores_per_replica`` CPUs of the cluster (read from Ray every ``CORES_TTL_S``); the needs of
requests in flight and open sockets are not.

Serve pickles this module by value into its controller: keep it small and free of our imports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import ray

CORES_TTL_S = 30.0


def cluster_cores() -> float | None:
    """CPUs of the Ray cluster this process is connected to, if any."""
    if not ray.is_initialized():
        return None
    return float(ray.cluster_resources().get("CPU", 0.0)) or None  # type: ignore[no-untyped-call]


class IngressPolicy:
    def __init__(
        self,
        target_requests: float = 200.0,
        target_websockets: float = 2000.0,
        target_cpu: float = 0.7,
        cores_per_replica: float = 2.0,
        cores: Callable[[], float | None] = cluster_cores,
    ) -> None:
        self.targets = {
            "http_in_flight": max(1e-6, float(target_requests)),
            "websockets": max(1e-6, float(target_websockets)),
            "cpu": max(1e-6, float(target_cpu)),
        }
        self.cores_per_replica = max(1e-6, float(cores_per_replica))
        self._cores = cores
        self._cores_seen: tuple[float, float | None] = (-CORES_TTL_S, None)

    def cluster_cores(self) -> float | None:
        at, cores = self._cores_seen
        now = time.monotonic()
        if now - at >= CORES_TTL_S:
            cores = self._cores()
            self._cores_seen = (now, cores)
        return cores

    def __call__(self, ctx: Any) -> tuple[int, dict[str, Any]]:
        metrics: dict[str, dict[Any, float]] = ctx.aggregated_metrics or {}
        loads = {name: metrics.get(name, {}).values() for name in self.targets}
        cores = self.cluster_cores()
        cpu_cap = None if cores is None else max(1, int(cores / self.cores_per_replica))
        return desired_replicas(loads, self.targets, {"cpu": cpu_cap}), {}


def desired_replicas(
    per_replica: dict[str, Any],
    targets: dict[str, float],
    caps: dict[str, int | None] | None = None,
) -> int:
    """Replicas wanted: for each metric, its total over its target, rounded up (at least
    one), and no more than the metric's cap, if it has one."""
    wanted = 1
    for name, target in targets.items():
        total = sum(float(v) for v in per_replica.get(name, ()))
        need = math.ceil(total / target - 1e-9)
        cap = (caps or {}).get(name)
        wanted = max(wanted, need if cap is None else min(need, cap))
    return wanted

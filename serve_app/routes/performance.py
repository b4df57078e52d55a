"""``GET /performance``: figures measured by the running service, never constants.

- request latency: the ingress replica that answers keeps a window of its own requests
  (p50/p99 over the last minute; several ingress replicas each report themselves);
- rendering: the Renderer replica that answers the ``stats`` call reports what it drew (frames
  per second of render time) and what it is drawing now; a replica busy with long renders may
  not answer in time, and then ``render.error`` says so;
- replicas: from ``serve.status()``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter

from serve_app.gateway import Gateway
from serve_app.metrics import REQUESTS, deployment_replicas
from serve_app.routes.deps import GatewayDep

router = APIRouter(tags=["system"])

STATS_TIMEOUT_S = 3.0


async def renderer_stats(gw: Gateway) -> dict[str, Any]:
    handle = gw.deployments.get("renderer")
    if handle is None:
        return {"error": "no renderer deployment in this application"}
    try:
        return await asyncio.wait_for(handle.stats.remote(), STATS_TIMEOUT_S)
    except TimeoutError:
        return {"error": f"the renderer did not answer within {STATS_TIMEOUT_S} s (busy)"}
    except Exception as e:  # best effort, like replicas(): a failing replica is not a 500 here
        return {"error": f"the renderer's stats failed: {type(e).__name__}: {e}"}


async def replicas(deployment: str) -> dict[str, Any]:
    """Replica counts of one deployment of this application (best effort)."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(deployment_replicas, deployment), STATS_TIMEOUT_S
        )
    except Exception as e:  # a status figure must not fail the page
        return {"running": None, "error": f"{type(e).__name__}: {e}"}


@router.get("/performance", summary="Measured latency, render speed, queue and replicas")
async def performance(gw: GatewayDep) -> dict[str, Any]:
    render, renderer_replicas, ingress_replicas = await asyncio.gather(
        renderer_stats(gw), replicas("Renderer"), replicas("Ingress")
    )
    requests = REQUESTS.summary()
    waiting = max(requests["in_flight"] - 1, 0)  # this request is in flight too
    return {
        "measured_at": time.time(),
        "render_fps": render.get("render_fps"),
        "queue_length": waiting + int(render.get("in_flight") or 0),
        "renderer_replicas": renderer_replicas.get("running"),
        "latency_p50_ms": requests["p50_ms"],
        "latency_p99_ms": requests["p99_ms"],
        "requests": {"scope": "this ingress replica", **requests},
        "render": {"scope": "the Renderer replica that answered", **render},
        "queue": {
            "ingress_waiting": waiting,
            "renderer_in_flight": render.get("in_flight"),
            "about": "requests this ingress replica is still answering, plus renders running "
            "or waiting on the Renderer replica that answered",
        },
        "replicas": {"renderer": renderer_replicas, "ingress": ingress_replicas},
    }

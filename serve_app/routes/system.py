"""Health, status and version."""

from __future__ import annotations

import asyncio
import os
import time
from importlib.metadata import version as dist_version
from typing import Any

import ray
from fastapi import APIRouter

from events.errors import JournalError
from serve_app.routes.deps import GatewayDep
from serve_app.routes.performance import replicas

router = APIRouter(tags=["system"])

API_VERSION = "v1"


def service_version() -> str:
    try:
        return dist_version("avatar-service")
    except Exception:  # not installed as a distribution
        return "0.0.0"


@router.get("/health", summary="Liveness: the ingress answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/version", summary="Service and API version")
async def get_version() -> dict[str, str]:
    return {"version": service_version(), "api_version": API_VERSION, "ray": ray.__version__}


@router.get("/status", summary="Journal reachability and counts, live actors, renderer replicas")
async def status(gw: GatewayDep) -> dict[str, Any]:
    journal: dict[str, Any]
    try:
        stats = await asyncio.to_thread(gw.journal.stats)
        journal = {
            "reachable": True,
            "url_scheme": gw.settings.journal_url.split(":", 1)[0],
            **stats,
        }
    except JournalError as e:
        journal = {"reachable": False, "error": str(e)}
    try:
        actors = await asyncio.wait_for(gw.directory.live(), 5)
    except Exception as e:  # the registry is best effort for a status page
        actors = {"error": type(e).__name__}
    renderer = await replicas("Renderer")
    return {
        "status": "ok" if journal["reachable"] else "degraded",
        "version": service_version(),
        "uptime_s": round(time.time() - gw.started_at, 1),
        "tenant": gw.tenant,
        "ingress": {"pid": os.getpid()},
        "journal": journal,
        "actors": actors,
        "renderer": {"replicas": renderer.get("running"), **renderer},
    }

"""The Python client's cost over raw aiohttp, and how long its event stream is away when the
ingress replica is killed.

Figures: ``GET /{id}/state`` and ``POST /emotions`` p50/p99 through :class:`AvatarClient`
(pydantic validation both ways, an Idempotency-Key per write) beside the same requests with a
bare ``aiohttp`` session; and the time from killing every Ingress replica to the first event
the reconnecting stream delivers again (a write sent right after the kill, retried by the
client until a new replica answers), with no gap and no duplicate.

Run: ``python -m bench.client`` (``--no-record`` to only print). Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.common import report
from bench.load import fmt, running_service
from client import AvatarClient

API = "/api/v1/avatars"


async def client_vs_raw(base: str, n: int) -> list[tuple[str, str]]:
    avatar = f"bench-{uuid.uuid4().hex[:8]}"
    body = {"avatar_id": avatar, "emotion": "happy", "intensity": 0.5}
    raw_read, raw_write, c_read, c_write = [], [], [], []
    async with aiohttp.ClientSession() as http, AvatarClient(base) as c:
        ada = c.avatar(avatar)
        await ada.set_emotion("happy")  # created, connections warm
        for _ in range(20):
            await ada.state()
        for _ in range(n):
            t = time.perf_counter()
            async with http.get(f"{base}{API}/{avatar}/state") as r:
                await r.json()
            raw_read.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await ada.state()
            c_read.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            async with http.post(f"{base}{API}/emotions", json=body) as r:
                await r.json()
            raw_write.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await ada.set_emotion("happy", 0.5)
            c_write.append((time.perf_counter() - t) * 1000)
    return [
        ("GET /{id}/state, bare aiohttp, p50 / p99 ms", fmt(raw_read)),
        ("  the same through AvatarClient.avatar(id).state(), p50 / p99 ms", fmt(c_read)),
        ("POST /emotions, bare aiohttp (no key), p50 / p99 ms", fmt(raw_write)),
        ("  the same through set_emotion (Idempotency-Key), p50 / p99 ms", fmt(c_write)),
    ]


async def stream_across_kill(base: str, runs: int) -> list[tuple[str, str]]:
    import ray

    away = []
    async with AvatarClient(base, retries=100, max_backoff_s=0.25) as c:
        for _ in range(runs):
            ada = c.avatar(f"bench-{uuid.uuid4().hex[:8]}")
            await ada.set_emotion("happy")
            stream = ada.events(from_version=1)
            events = aiter(stream)
            got = [await anext(events), await anext(events)]
            names = [
                a["name"]
                for a in ray.util.list_named_actors(all_namespaces=True)
                if a["namespace"] == "serve" and "#Ingress#" in a["name"]
            ]
            t = time.perf_counter()
            for name in names:
                ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
            write = asyncio.ensure_future(ada.animate("nod"))
            got.append(await asyncio.wait_for(anext(events), 120))
            away.append(time.perf_counter() - t)
            await write
            await events.aclose()  # type: ignore[attr-defined]
            assert [e.version for e in got] == [1, 2, 3], [e.version for e in got]
    return [
        (
            f"killed Ingress -> first event again on the resumed stream, s ({runs} runs)",
            ", ".join(f"{s:.1f}" for s in away),
        )
    ]


async def figures(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str]]:
    async with running_service(data_dir) as base:
        rows = await client_vs_raw(base, args.requests)
        rows += await stream_across_kill(base, args.kills)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        rows = asyncio.run(figures(args, Path(tmp)))
    notes = (
        "Ray + Serve local (HAProxy HTTP mode, the service default), SQLite journal, dedicated "
        "placement; sequential requests, interleaved so both sides see the same load."
    )
    report(
        "Python client (client/): overhead and stream resumption",
        rows,
        notes,
        save=not args.no_record,
    )


if __name__ == "__main__":
    main()

"""Actor benchmark: the service as clients see it, on a local Ray + Serve started here.

Figures: command latency p50/p99 over HTTP at 1 and 32 concurrent clients; fan-out latency
(recorded in the journal -> received on a WebSocket) p50/p99; actor activation from a 10k-event
stream with snapshots (journal load inside the actor, and cold first request including the Ray
actor process start); memory per live actor (USS) and live actors per 8 GB; the same command
route in plain FastAPI + uvicorn with the entity in-process (the floor), as a ratio.

Run: ``python -m bench.actors`` (or ``make bench``). Appends to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
from tqdm import tqdm

from bench.common import percentile, record
from bench.load import floor_app, fmt, free_port, http_load, timed, uss_mb, wait_healthy

CONCURRENCY = (1, 32)


async def health_latency(base: str, n: int) -> list[float]:
    """GET /health: what Serve's HTTP path costs with no actor behind it (reference)."""
    async with aiohttp.ClientSession() as http:
        return await timed(http, "GET", f"{base}/health", n)


async def fanout_latency(base: str, n: int) -> list[float]:
    """ms from the journal's recorded_at to the frame's arrival on a WebSocket."""
    ws_url = base.replace("http", "ws") + "/api/v1/avatars/fanout-1/stream"
    url = f"{base}/api/v1/avatars/emotions"
    out: list[float] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        await ws.receive()  # snapshot
        for i in range(n):
            async with http.post(
                url, json={"avatar_id": "fanout-1", "emotion": "sad", "intensity": (i % 10) / 10}
            ) as r:
                await r.read()
            while True:
                frame = json.loads((await ws.receive(timeout=10)).data)
                if frame["type"] == "event":
                    arrived = time.time()
                    at = datetime.fromisoformat(frame["event"]["recorded_at"]).timestamp()
                    out.append((arrived - at) * 1000)
                    break
    return out


def seed_streams(journal_url: str, avatars: list[str], events: int) -> None:
    """Write ``events`` events per avatar straight to the journal, with a snapshot every 100."""
    from events import load_state, open_journal, save_snapshot
    from events.avatar import AvatarCreated, EmotionSet, avatar_folder

    journal = open_journal(journal_url.replace("?", "") + "?synchronous=OFF")
    for avatar in tqdm(avatars, desc="seed 10k-event streams", leave=False):
        stream = f"avatar:default:{avatar}"
        journal.append(stream, [AvatarCreated(avatar_id=avatar, tenant="default")], 0)
        state = avatar_folder.initial()
        for v in range(1, events, 100):
            batch = [
                EmotionSet(emotion="happy", intensity=(i % 10) / 10)
                for i in range(min(100, events - v))
            ]
            journal.append(stream, batch, v)
            state = load_state(journal, stream, avatar_folder)
            save_snapshot(journal, stream, state, keep=2)
    journal.close()


async def activation(base: str, avatars: list[str]) -> tuple[list[float], list[float]]:
    """(cold first-request ms, in-actor journal load ms) per avatar."""
    import ray

    from actors.naming import NAMESPACE

    cold, load = [], []
    async with aiohttp.ClientSession() as http:
        for avatar in avatars:
            t = time.perf_counter()
            async with http.get(f"{base}/api/v1/avatars/{avatar}/state") as r:
                body = await r.json()
                assert body["version"] == 10_000, body["version"]
            cold.append((time.perf_counter() - t) * 1000)
            handle = ray.get_actor(f"avatar:default:{avatar}", namespace=NAMESPACE)
            load.append((await handle.stats.remote())["activation_ms"])
    return cold, load


def live_actor_uss(prefix: str) -> list[float]:
    import ray

    from actors.naming import NAMESPACE

    sizes = []
    for named in ray.util.list_named_actors(all_namespaces=True):
        if named["namespace"] == NAMESPACE and named["name"].startswith(f"avatar:default:{prefix}"):
            pid = ray.get(ray.get_actor(named["name"], namespace=NAMESPACE).pid.remote())
            sizes.append(uss_mb(pid))
    return sizes


async def floor_latency(data_dir: Path, clients: int, per_client: int) -> list[float]:
    async with floor_app(data_dir) as base:
        latencies, _ = await http_load(base, "POST", clients, per_client, f"floor{clients}")
    return latencies


async def run(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str]]:
    import ray
    from ray import serve

    from actors.naming import NAMESPACE
    from serve_app.app import AppArgs, build_app, resolve_settings
    from serve_app.raytune import apply_high_throughput, apply_serve_env_defaults

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app_args = AppArgs(data_dir=str(data_dir), settings={"passivate_after_s": 3600})
    journal_url = resolve_settings(app_args).journal_url
    cold_ids = [f"cold-{i}" for i in range(args.activations)]
    seed_streams(journal_url, cold_ids, 10_000)

    apply_serve_env_defaults()
    # the service's default HTTP mode
    apply_high_throughput(data_dir / "haproxy", usual_ports=False)
    ray.init(
        include_dashboard=False, namespace=NAMESPACE, logging_level="warning", log_to_driver=False
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(app_args), name="avatar-service", route_prefix="/", blocking=False)
        await wait_healthy(base)
        rows: list[tuple[str, str]] = [
            (
                "GET /health p50 / p99 ms, 1 client (Serve's HTTP path alone, reference)",
                fmt(await health_latency(base, args.requests)),
            ),
        ]
        lat = {}
        for c in CONCURRENCY:
            per = args.requests if c == 1 else max(10, args.requests // 8)
            lat[c], rps = await http_load(base, "POST", c, per, f"lat{c}")
            rows.append(
                (
                    f"command latency p50 / p99 ms, {c} client(s) (target p50 <= 10 at 1)",
                    fmt(lat[c]),
                )
            )
            rows.append((f"command throughput req/s, {c} client(s)", f"{rps:,.0f}"))
        fan = await fanout_latency(base, args.fanout)
        rows.append(
            ("fan-out latency p50 / p99 ms, journal -> WebSocket (target p99 <= 50)", fmt(fan))
        )
        cold, load = await activation(base, cold_ids)
        rows.append(
            (
                "activation from a 10k-event stream with snapshots: journal load p50 / p99 "
                "ms (target p50 <= 300)",
                fmt(load),
            )
        )
        rows.append(
            ("same, cold first request incl. Ray actor process start, p50 / p99 ms", fmt(cold))
        )
        sizes = live_actor_uss("lat32")
        per_actor = sum(sizes) / len(sizes)
        rows.append(
            (
                f"USS per live avatar actor, MB (mean of {len(sizes)}; target <= 60)",
                f"{per_actor:.1f}",
            )
        )
        rows.append(("live avatar actors per 8 GB (by USS)", f"{8192 / per_actor:,.0f}"))
    finally:
        serve.shutdown()
        ray.shutdown()
    for c in CONCURRENCY:
        per = args.requests if c == 1 else max(10, args.requests // 8)
        floor = await floor_latency(data_dir, c, per)
        rows.append(
            (f"floor (FastAPI+uvicorn, entity in-process) p50 / p99 ms, {c} client(s)", fmt(floor))
        )
        rows.append(
            (
                f"ratio service/floor p50, {c} client(s)",
                f"{percentile(lat[c], 50) / percentile(floor, 50):.1f}x",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests at concurrency 1")
    parser.add_argument("--fanout", type=int, default=200)
    parser.add_argument("--activations", type=int, default=10)
    parser.add_argument("--dir", default="data/bench")
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(dir=args.dir)).resolve()
    try:
        rows = asyncio.run(run(args, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    record(
        "Actors and Serve app (dedicated placement, SQLite journal)",
        rows,
        "Latencies measured with aiohttp clients on loopback; the floor runs the same "
        "EntityRuntime in a plain uvicorn process.",
    )


if __name__ == "__main__":
    main()

"""Load-generation helpers shared by the benchmarks: ports, readiness, HTTP load, the floor."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from bench.common import percentile
from serve_app.ports import free_port


def uss_mb(pid: int) -> float:
    """Unique set size of a process (private pages), from /proc."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total / 1024


def fmt(values: list[float]) -> str:
    """``p50 / p99`` in ms."""
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"


async def wait_healthy(base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{base}/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(base)
            await asyncio.sleep(0.2)


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def http_load(
    base: str,
    method: str,
    clients: int,
    per_client: int,
    tag: str,
    headers: dict[str, str] | None = None,
) -> tuple[list[float], float]:
    """``clients`` concurrent clients, each on its own avatar: GET its state, POST an emotion,
    or RETRY: POST the same emotion with the same ``Idempotency-Key`` again and again (the first
    is executed, every retry answered from the entity's record of it: a command without its
    write).

    Every client warms up first (its avatar is created by a command, then read or changed a
    few times) and measuring starts only when all are warm. Returns (latencies in ms,
    requests/s over the measured phase).
    """
    latencies: list[float] = []
    spans: list[float] = []
    barrier = asyncio.Barrier(clients)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        # The bodies made before the clock starts: the load client shares the machine with the
        # service, and its own JSON encoding per request was CPU taken from the service.
        bodies = {
            c: [
                json.dumps(
                    {"avatar_id": f"{tag}-{c}", "emotion": "happy", "intensity": i / 10}
                ).encode()
                for i in range(10)
            ]
            for c in range(clients)
        }
        post_headers = {"Content-Type": "application/json"}

        async def request(c: int, i: int, kind: str = method) -> None:
            if kind == "GET":
                async with http.get(f"{base}/api/v1/avatars/{tag}-{c}/state") as r:
                    assert r.status == 200, await r.text()
                    await r.read()
            else:
                body, extra = bodies[c][i % 10], post_headers
                if kind == "RETRY":
                    body, extra = bodies[c][0], {**post_headers, "Idempotency-Key": f"{tag}-{c}"}
                async with http.post(
                    f"{base}/api/v1/avatars/emotions", data=body, headers=extra
                ) as r:
                    assert r.status == 200, await r.text()
                    await r.read()

        async def client(c: int) -> None:
            # a read of an avatar never recorded is not one; a retry needs its first attempt
            await request(c, 0, "RETRY" if method == "RETRY" else "POST")
            for i in range(3):
                await request(c, i)
            await barrier.wait()
            spans.append(time.perf_counter())
            for i in range(per_client):
                t = time.perf_counter()
                await request(c, i)
                latencies.append((time.perf_counter() - t) * 1000)
            spans.append(time.perf_counter())

        await asyncio.gather(*[client(c) for c in range(clients)])
    return latencies, len(latencies) / (max(spans) - min(spans))


PROCESS_GROUPS = {
    "ingress": "ServeReplica:avatar-service:Ingress",
    "hosts": "EntityHost",
    "haproxy": "haproxy",
}
"""Processes of the service whose CPU a load is charged with, found by their command line."""


def cpu_by_group(groups: dict[str, str] = PROCESS_GROUPS) -> dict[str, float]:
    """CPU seconds used so far by this machine's processes, summed per group; also
    ``client`` (this process: the load generator) and ``machine`` (every CPU's busy time,
    the kernel's own threads included, from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys(groups, 0.0)
    times = os.times()
    out["client"] = times.user + times.system
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9]
        )
    out["machine"] = (user + nice + system + irq + softirq + steal) / tick
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        for name, needle in groups.items():
            if needle in command:
                out[name] += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


@asynccontextmanager
async def floor_app(data_dir: Path) -> AsyncIterator[str]:
    """The floor (bench/floor_app.py in plain uvicorn, entities in-process); yields its URL."""
    port = free_port()
    env = {**os.environ, "AVATAR_JOURNAL": f"sqlite:///{data_dir}/floor.sqlite"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.floor_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@asynccontextmanager
async def running_service(
    data_dir: Path, settings: dict[str, object] | None = None, journal: str | None = None
) -> AsyncIterator[str]:
    """The service on local Ray + Serve (HAProxy HTTP mode, the default), as ``make serve``
    runs it (``journal``: its URL; default SQLite in ``data_dir``); yields its base URL and
    shuts down only what it started."""
    import ray
    from ray import serve

    from actors.naming import NAMESPACE
    from serve_app.app import AppArgs, build_app
    from serve_app.raytune import apply_high_throughput, apply_serve_env_defaults

    port = free_port()
    apply_serve_env_defaults()
    apply_high_throughput(data_dir / "haproxy", usual_ports=False)
    ray.init(
        include_dashboard=False, namespace=NAMESPACE, logging_level="warning", log_to_driver=False
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        app = build_app(
            AppArgs(data_dir=str(data_dir), journal=journal, settings=dict(settings or {}))
        )
        serve.run(app, name="avatar-service", route_prefix="/", blocking=False)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        yield base
    finally:
        serve.shutdown()
        ray.shutdown()


async def timed(
    http: aiohttp.ClientSession, method: str, url: str, n: int, body: object = None
) -> list[float]:
    """``n`` sequential requests; their latencies in ms (each must answer 200)."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        async with http.request(method, url, json=body) as r:
            await r.read()
            assert r.status == 200, (url, r.status)
        out.append((time.perf_counter() - t) * 1000)
    return out


@asynccontextmanager
async def cli_service(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> AsyncIterator[str]:
    """The service started with its CLI (``avatar-service serve``), as a user runs it; yields
    its base URL, then stops it with Ctrl-C (SIGINT) as a user would."""
    port = free_port()
    command = [sys.executable, "-m", "serve_app.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, timeout=timeout)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()

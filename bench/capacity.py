"""Capacity benchmark: live avatars per node in each placement, and the HTTP path.

Per placement: memory per live avatar (USS of the processes that hold them), idle CPU of those
processes, and the time to activate the Nth avatar, for 100 avatars (dedicated: one process
each) and for 1,000 and 10,000 (hosted: a pool of host processes). Then state reads and commands
over HTTP at 1 and 32 concurrent clients (hosted placement), against the same routes in plain
FastAPI + uvicorn with the entities in-process (the floor). With ``--keys``, the same HTTP rows
again with API keys required (a key created with the CLI first), in alternating rounds with the
rows without keys, for the cost of authentication per request.

Run: ``python -m bench.capacity`` (or ``make bench``). Appends to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import percentile, record
from bench.load import cli_service, cpu_by_group, floor_app, fmt, http_load, uss_mb

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def idle_cpu_percent(pids: list[int], seconds: float) -> float:
    before = sum(cpu_seconds(p) for p in pids)
    time.sleep(seconds)
    return (sum(cpu_seconds(p) for p in pids) - before) / seconds * 100


async def activate(directory: Any, ids: list[str], concurrency: int) -> list[float]:
    """First call per avatar (creates and records it); returns per-call latency in ms."""
    from actors.commands import Touch

    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    bar = tqdm(total=len(ids), desc="activate", leave=False)

    async def one(aid: str) -> None:
        async with sem:
            t = time.perf_counter()
            await directory.call("avatar", "default", aid, "execute", Touch(), None, f"k-{aid}")
            latencies.append((time.perf_counter() - t) * 1000)
            bar.update()

    await asyncio.gather(*[one(a) for a in ids])
    bar.close()
    return latencies


async def placement_rows(args: argparse.Namespace, journal_url: str) -> list[tuple[str, str]]:
    import ray

    from actors.config import EntityConfig
    from actors.directory import DedicatedDirectory, HostedDirectory

    config = EntityConfig(journal_url=journal_url, passivate_after_s=3600, max_live_actors=10**6)
    rows: list[tuple[str, str]] = []

    # dedicated: one process per avatar
    dedicated = DedicatedDirectory(config)
    ids = [f"ded-{i}" for i in range(args.dedicated)]
    lat = await activate(dedicated, ids, 8)
    pids = [await dedicated.entity_pid("avatar", "default", a) for a in ids]
    uss = [uss_mb(p) for p in pids]
    cpu = idle_cpu_percent(pids, args.idle_seconds)
    rows += [
        (f"dedicated, {len(ids)} avatars: USS per live avatar, MB", f"{sum(uss) / len(uss):.1f}"),
        (f"dedicated, {len(ids)} avatars: total USS, MB", f"{sum(uss):,.0f}"),
        (f"dedicated, {len(ids)} avatars: idle CPU, % of one core", f"{cpu:.1f}"),
        (f"dedicated: activation of a new avatar p50 / p99 ms (of {len(ids)})", fmt(lat)),
        ("dedicated: activation of the last 10 avatars, mean ms", f"{sum(lat[-10:]) / 10:.0f}"),
    ]
    for aid in ids:
        ray.kill(ray.get_actor(f"avatar:default:{aid}", namespace="avatar-service"))

    # hosted: one host here so the per-host figures are clean
    hosted = HostedDirectory(config, hosts=1, max_entities_per_host=10**6)
    host = hosted._host(0)
    pid = await host.pid.remote()
    base_uss = uss_mb(pid)
    created = 0
    for target in args.hosted:
        await activate(hosted, [f"host-{i}" for i in range(created, target - 50)], 64)
        # the last 50, one at a time: what activating the Nth avatar costs a caller
        lat = await activate(hosted, [f"host-{i}" for i in range(target - 50, target)], 1)
        created = target
        stats = await host.stats.remote()
        uss = uss_mb(pid)
        cpu = idle_cpu_percent([pid], args.idle_seconds)
        rows += [
            (
                f"hosted, {target:,} avatars in one host: USS per live avatar, KB",
                f"{(uss - base_uss) * 1024 / target:.1f}",
            ),
            (f"hosted, {target:,} avatars: host USS, MB (target 10k within 4 GB)", f"{uss:,.0f}"),
            (
                f"hosted, {target:,} idle avatars: host CPU, % of one core (target < 2 at 1k)",
                f"{cpu:.2f}",
            ),
            (
                f"hosted: activation of avatars {target - 49:,}..{target:,} one at a time, "
                "call p50 / p99 ms (target p50 <= 20)",
                fmt(lat),
            ),
            (
                f"hosted: in-host activation p50 ms, during bulk activation 64 at a time, at "
                f"{target:,}",
                f"{stats['activation_ms_p50']:.2f}",
            ),
        ]
    ray.kill(host)
    return rows


async def http_rows(
    base: str,
    label: str,
    requests: int,
    headers: dict[str, str] | None = None,
    cpu: dict[tuple[str, int], dict[str, float]] | None = None,
    retries: bool = False,
) -> dict[tuple[str, int], Any]:
    """Latencies and req/s per (method, clients); ``cpu``, when given, gets the CPU ms each
    request cost the service's processes (ingress, hosts, HAProxy); ``retries``: also retried
    commands at 32 clients (a command's whole path without its write)."""
    out: dict[tuple[str, int], Any] = {}
    # Unmeasured first: a fresh service's first requests pay its processes' one-time costs
    # (imports, first calls, caches), which were charged to whichever phase came first.
    for method in ("GET", "POST"):
        await http_load(base, method, 32, 30, f"{label}-warm-{method}", headers)
    phases = [(method, clients) for method in ("GET", "POST") for clients in (1, 32)]
    for method, clients in phases + ([("RETRY", 32)] if retries else []):
        # Each client sends ``requests``: at 32 clients a phase holds the load ~10 s. (It held
        # ~1 s before, and the commands-to-reads share of one run swung 78-86%.)
        before = cpu_by_group()
        out[(method, clients)] = await http_load(
            base, method, clients, requests, f"{label}-{method}-{clients}", headers
        )
        if cpu is not None:
            after, n = cpu_by_group(), len(out[(method, clients)][0])
            cpu[(method, clients)] = {k: (after[k] - before[k]) / n * 1000 for k in after}
    return out


async def service_rows(
    data_dir: Path,
    mode: str,
    requests: int,
    keys: bool = False,
    cpu: dict[tuple[str, int], dict[str, float]] | None = None,
) -> dict[tuple[str, int], Any]:
    """Start the service as a user would (the CLI, hosted placement) and load it over HTTP;
    ``keys``: with API keys required, and the load sending one."""
    env = {"AVATAR_PLACEMENT": "hosted", "AVATAR_PASSIVATE_AFTER_S": "3600"}
    headers = None
    folder = data_dir / (f"{mode}-keys" if keys else mode)
    if keys:
        env["AVATAR_AUTH"] = "keys"
        headers = {"Authorization": f"Bearer {create_key(folder)}"}
    async with cli_service(folder, "--http-mode", mode, env=env, timeout=120) as base:
        return await http_rows(base, f"{mode}-{keys}", requests, headers, cpu, retries=not keys)


def create_key(data_dir: Path) -> str:
    """A key made with the CLI, as an operator would (``avatar-service keys create``)."""
    command = [sys.executable, "-m", "serve_app.cli", "keys", "create", "--tenant", "bench"]
    out = subprocess.run(
        [*command, "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(out.stdout)["key"])


async def keys_rows(data_dir: Path, mode: str, requests: int, rounds: int) -> list[tuple[str, str]]:
    """Commands and reads with and without keys, in alternating rounds (a loaded machine drifts
    between runs; alternating spreads the drift over both)."""
    p50: dict[tuple[bool, str, int], list[float]] = {}
    for r in range(rounds):
        for keys in (False, True):
            found = await service_rows(data_dir / f"round{r}", mode, requests, keys)
            for (method, clients), (lat, _) in found.items():
                p50.setdefault((keys, method, clients), []).append(percentile(lat, 50))
    names = {"GET": "state read", "POST": "command"}
    rows = []
    for method in ("GET", "POST"):
        for clients in (1, 32):
            without = statistics.median(p50[(False, method, clients)])
            with_keys = statistics.median(p50[(True, method, clients)])
            rows.append(
                (
                    f"HTTP {names[method]}, {mode}, {clients} client(s), p50 ms without / with "
                    f"keys, added (median of {rounds} rounds; target added <= 0.3)",
                    f"{without:.2f} / {with_keys:.2f}, {with_keys - without:+.2f}",
                )
            )
    return rows


async def run(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str]]:
    import ray

    from actors.naming import NAMESPACE

    journal_url = f"sqlite:///{data_dir}/placements.sqlite"
    if not args.http_only:
        ray.init(
            include_dashboard=False,
            namespace=NAMESPACE,
            logging_level="warning",
            log_to_driver=False,
        )
    rows: list[tuple[str, str]] = []
    if not args.http_only:
        try:
            rows = await placement_rows(args, journal_url)
        finally:
            ray.shutdown()
    floor = await floor_rows(data_dir, args.requests)
    names = {"GET": "state read", "POST": "command", "RETRY": "retried command (no write)"}
    for mode in args.http_modes:
        cpu: dict[tuple[str, int], dict[str, float]] = {}
        service = await service_rows(data_dir, mode, args.requests, cpu=cpu)
        for (method, clients), (lat, rps) in service.items():
            rows.append(
                (
                    f"HTTP {names[method]}, hosted, {mode}, {clients} client(s): req/s, "
                    "p50 / p99 ms",
                    f"{rps:,.0f}, {fmt(lat)}",
                )
            )
            if (method, clients) in floor:
                p50 = percentile(lat, 50) / percentile(floor[(method, clients)][0], 50)
                rows.append(
                    (
                        f"ratio service/floor p50, {names[method]}, {mode}, {clients} client(s)",
                        f"{p50:.1f}x",
                    )
                )
        for method in ("GET", "POST", "RETRY"):
            spent = cpu[(method, 32)]
            named = sum(spent[k] for k in ("ingress", "hosts", "haproxy", "client"))
            rows.append(
                (
                    f"CPU per {names[method]}, {mode}, 32 clients, ms: ingress / hosts / haproxy"
                    " / load client / rest of the machine",
                    f"{spent['ingress']:.2f} / {spent['hosts']:.2f} / {spent['haproxy']:.2f}"
                    f" / {spent['client']:.2f} / {spent['machine'] - named:.2f}",
                )
            )
        # The load client shares the machine's 2 cores with the service, and at 32 clients the
        # machine is the bound: then req/s is busy CPU / CPU per request, and the share of
        # commands to reads cannot pass what their whole-machine CPU per request allows.
        machine = {m: cpu[(m, 32)]["machine"] for m in ("GET", "POST", "RETRY")}
        rows.append(
            (
                f"whole-machine CPU per state read / command / retried command, {mode}, 32 "
                "clients, ms; the commands share it allows (read CPU / command CPU)",
                f"{machine['GET']:.2f} / {machine['POST']:.2f} / {machine['RETRY']:.2f}; "
                f"{machine['GET'] / machine['POST']:.0%}",
            )
        )
        # the same run: durable commands against reads (group commit's target: >= 90%)
        rows.append(
            (
                f"commands/s as a share of state reads/s, {mode}, 32 clients (target >= 90%)",
                f"{service[('POST', 32)][1] / service[('GET', 32)][1]:.0%}",
            )
        )
        rows.append(
            (
                f"retried commands/s (the same path, no write) as a share of state reads/s, {mode},"
                " 32 clients",
                f"{service[('RETRY', 32)][1] / service[('GET', 32)][1]:.0%}",
            )
        )
    for mode in args.http_modes if args.keys else []:
        rows += await keys_rows(data_dir, mode, args.requests, args.keys)
    for (method, clients), (lat, rps) in floor.items():
        rows.append(
            (
                f"floor (uvicorn, entities in-process) {names[method]}, {clients} "
                "client(s): req/s, p50 / p99 ms",
                f"{rps:,.0f}, {fmt(lat)}",
            )
        )
    return rows


async def floor_rows(data_dir: Path, requests: int) -> dict[tuple[str, int], Any]:
    async with floor_app(data_dir) as base:
        return await http_rows(base, "floor", requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dedicated", type=int, default=100)
    parser.add_argument("--hosted", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--http-modes", nargs="+", default=["proxy", "haproxy"])
    parser.add_argument("--dir", default="data/bench")
    parser.add_argument(
        "--http-only", action="store_true", help="only the HTTP rows (no placement figures)"
    )
    parser.add_argument(
        "--keys",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also the HTTP rows with API keys required, in ROUNDS alternating rounds",
    )
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(dir=args.dir)).resolve()
    try:
        rows = asyncio.run(run(args, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    record(
        "Capacity: placements and the HTTP path",
        rows,
        f"Load average at the end: {os.getloadavg()[0]:.1f} (other work shares the machine). "
        "HTTP rows: the service started with its CLI (hosted placement), in Serve's default "
        "proxy mode and in its high-throughput (HAProxy) mode, the default.",
    )


if __name__ == "__main__":
    main()

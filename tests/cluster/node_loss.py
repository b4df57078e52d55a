"""The loss of a worker node, end to end: two Ray nodes on this machine, the service on
PostgreSQL, avatars on both nodes, live subscribers, a steady load with ``Idempotency-Key``s,
then SIGKILL of every process of the worker node.

Runs in a process of its own (it joins a Ray cluster of its own making, never a test session's
Ray): ``python -m tests.cluster.node_loss --journal postgresql://... --out result.json``. It
writes what it measured and what it found; ``tests/cluster/test_node_loss.py`` asserts on it and
``bench/failover.py`` reports its times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from serve_app.ports import free_port
from serve_app.raytune import FAST_FAILOVER_ENV, SERVE_ENV_DEFAULTS
from tests.cluster.nodes import LocalCluster

SETTINGS: dict[str, Any] = {
    "placement": "hosted",
    "host_shards": 4,
    "ingress_min_replicas": 2,  # one per node: the loss of one never takes the only one
    "http_mode": "proxy",
    "heartbeat_s": 0.5,
    "subscriber_buffer": 50,
    "renderer_num_cpus": 0.25,
    "speech_num_cpus": 0.25,
    "live_num_cpus": 0.25,
    "blob_dir_shared": True,  # both nodes are on this machine: one folder is truly shared
}
EMOTIONS = ("happy", "sad")


@dataclass
class Result:
    avatars: int = 0
    on_worker: list[str] = field(default_factory=list)
    shard_nodes: dict[str, str] = field(default_factory=dict)
    killed_pids: int = 0
    acked: int = 0
    answered_after_kill_s: dict[str, float] = field(default_factory=dict)
    not_answering: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    subscribers: int = 0
    subscriber_reconnects: int = 0
    subscriber_problems: list[str] = field(default_factory=list)
    refusal: tuple[int, str] = (0, "")  # `serve --address` on SQLite: exit code, stderr
    timings: dict[str, float] = field(default_factory=dict)


class Load:
    """One loop per avatar: a command, retried with the same key until acknowledged."""

    def __init__(self, http: aiohttp.ClientSession, api: str, interval: float) -> None:
        self.http = http
        self.api = api
        self.interval = interval
        self.acked: dict[str, tuple[str, int]] = {}  # key -> (avatar, version)
        self.answers: dict[str, list[float]] = {}  # avatar -> times of acknowledgements
        self.stopping = asyncio.Event()

    async def drive(self, aid: str) -> None:
        i = 0
        self.answers[aid] = []
        while not self.stopping.is_set():
            key = f"{aid}-{i}"
            body = {"avatar_id": aid, "emotion": EMOTIONS[i % 2], "intensity": 0.5}
            while True:  # the same key until acknowledged: a retry is never recorded twice
                version = await self._post(body, key)
                if version is not None:
                    break
                await asyncio.sleep(0.2)
            self.acked[key] = (aid, version)
            self.answers[aid].append(time.time())
            i += 1
            await asyncio.sleep(self.interval)

    async def _post(self, body: dict[str, Any], key: str) -> int | None:
        try:
            async with self.http.post(
                f"{self.api}/emotions",
                json=body,
                headers={"Idempotency-Key": key},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as r:
                if r.status == 200:
                    return int((await r.json())["version"])
                if r.status in (409, 500, 502, 503, 504):  # unavailable meanwhile: retry
                    return None
                raise AssertionError(f"{r.status}: {await r.text()}")
        except (aiohttp.ClientError, TimeoutError):
            return None


class Subscriber:
    """Follows one avatar's stream; on any break, reconnects from its last version."""

    def __init__(self, http: aiohttp.ClientSession, ws_api: str, aid: str) -> None:
        self.http = http
        self.url = f"{ws_api}/{aid}/stream"
        self.aid = aid
        self.versions: list[int] = []
        self.reconnects = 0
        self.stopping = asyncio.Event()

    async def follow(self) -> None:
        while not self.stopping.is_set():
            after = self.versions[-1] if self.versions else 0
            try:
                async with self.http.ws_connect(
                    f"{self.url}?from_version={after + 1}", heartbeat=None
                ) as ws:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        frame = json.loads(msg.data)
                        if frame["type"] == "event":
                            self.versions.append(frame["version"])
                        if self.stopping.is_set():
                            return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.reconnects += 1
            await asyncio.sleep(0.2)

    def problems(self, highest: int) -> list[str]:
        expected = list(range(1, highest + 1))
        if self.versions == expected:
            return []
        dup = sorted({v for v in self.versions if self.versions.count(v) > 1})
        gaps = sorted(set(expected) - set(self.versions))
        return [f"{self.aid}: duplicates {dup[:5]} gaps {gaps[:5]} of 1..{highest}"]


async def _healthy(http: aiohttp.ClientSession, base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{base}/health", timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base} not healthy after {timeout} s")
        await asyncio.sleep(0.3)


def _deploy(cluster: LocalCluster, journal: str, data_dir: Path, port: int) -> None:
    from ray import serve

    from serve_app.app import AppArgs, build_app

    # One HTTP proxy, on the head: the nodes share this machine's address, so a proxy per
    # node would contend for one port (on a real cluster each node has its own address).
    serve.start(http_options={"host": "127.0.0.1", "port": port}, proxy_location="HeadOnly")
    settings = {**SETTINGS, "blob_dir": str(data_dir / "blobs")}
    args = AppArgs(data_dir=str(data_dir), journal=journal, settings=settings)
    serve.run(build_app(args), name="avatar-service", route_prefix="/", blocking=False)


def _serve_on_sqlite(cluster: LocalCluster, data_dir: Path) -> tuple[int, str]:
    """``avatar-service serve --address`` onto these two nodes with the embedded defaults (a
    SQLite journal): its exit code and what it said."""
    cli = Path(sys.executable).with_name("avatar-service")
    command = [str(cli), "serve", "--address", cluster.address, "--data-dir", str(data_dir)]
    command += ["--port", str(free_port())]
    done = subprocess.run(
        command, check=False, env=cluster.env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stderr[-2000:]


def _shard_nodes(journal: str, data_dir: Path) -> dict[int, str]:
    """Which node each hosted shard runs on (creating the shards that do not exist yet)."""
    import ray

    from actors.directory import HostedDirectory
    from serve_app.app import AppArgs, resolve_settings

    s = resolve_settings(AppArgs(data_dir=str(data_dir), journal=journal, settings=SETTINGS))
    directory = HostedDirectory(s.entity_config(), s.host_count, s.max_entities_per_host)
    stats = ray.get([directory._host(i).stats.remote() for i in range(s.host_count)])
    return {i: st["node_id"] for i, st in enumerate(stats)}


def _worker_node_id(port: int) -> str:
    import ray

    return next(n["NodeID"] for n in ray.nodes() if n["NodeManagerPort"] == port)


def _check_journal(journal: str, load: Load, ids: list[str], result: Result) -> dict[str, int]:
    """Every acknowledged command recorded exactly once; returns each avatar's highest version."""
    from actors.naming import stream_id
    from events import open_journal

    store = open_journal(journal)
    highest = {}
    try:
        runs: dict[str, list[tuple[int, int]]] = {}  # key -> (first, last) version of each run
        for aid in ids:
            records = store.read(stream_id("avatar", "default", aid), 1)
            highest[aid] = records[-1].version if records else 0
            previous = None
            for r in records:
                key = r.metadata.get("idempotency_key")
                if key is not None and key == previous:
                    first, _ = runs[key][-1]
                    runs[key][-1] = (first, r.version)
                elif key is not None:
                    runs.setdefault(key, []).append((r.version, r.version))
                previous = key
    finally:
        store.close()
    result.duplicated = sorted(k for k, found in runs.items() if len(found) > 1)
    result.lost = sorted(
        k for k, (_, v) in load.acked.items() if k not in runs or runs[k][0][1] != v
    )
    return highest


async def scenario(journal: str, avatars: int, interval: float) -> Result:
    result = Result(avatars=avatars)
    t0 = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="avnl-", dir="/tmp"))  # short: unix socket paths
    data_dir = root / "data"
    cluster = LocalCluster.create(root / "ray", {**FAST_FAILOVER_ENV, **SERVE_ENV_DEFAULTS})
    port = free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    try:
        import ray  # only now: the cluster's token is in the environment

        _, worker = cluster.start(head_cpus=2, worker_cpus=[2])
        result.timings["cluster_up_s"] = time.monotonic() - t0
        result.refusal = _serve_on_sqlite(cluster, root / "sqlite")
        _deploy(cluster, journal, data_dir, port)
        async with aiohttp.ClientSession() as http:
            await _healthy(http, base, 180)
            result.timings["deployed_s"] = time.monotonic() - t0
            shards = _shard_nodes(journal, data_dir)
            worker_id = _worker_node_id(worker.node_manager_port)
            ray.shutdown()  # the driver may sit on the worker's raylet: it must not die with it
            result.shard_nodes = {
                str(i): "worker" if n == worker_id else "head" for i, n in shards.items()
            }
            from actors.directory import host_index

            ids = [f"nl-{uuid.uuid4().hex[:8]}" for _ in range(avatars)]
            result.on_worker = [
                a
                for a in ids
                if result.shard_nodes[str(host_index("avatar", "default", a, len(shards)))]
                == "worker"
            ]
            api, ws_api = f"{base}/api/v1/avatars", f"{ws_base}/api/v1/avatars"
            load = Load(http, api, interval)
            drivers = [asyncio.create_task(load.drive(a)) for a in ids]
            watched = result.on_worker[:3] + [a for a in ids if a not in result.on_worker][:2]
            subscribers = [Subscriber(http, ws_api, a) for a in watched]
            followers = [asyncio.create_task(s.follow()) for s in subscribers]
            result.subscribers = len(subscribers)
            warm = time.monotonic() + 120
            while len(load.acked) < 3 * avatars:  # every avatar live and answering
                if time.monotonic() > warm:
                    raise TimeoutError(f"only {len(load.acked)} commands acknowledged in 120 s")
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)

            killed_at = time.time()
            result.killed_pids = len(worker.kill())
            result.timings["kill_at_s"] = time.monotonic() - t0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                late = [a for a in ids if not any(t > killed_at for t in load.answers[a])]
                if not late:
                    break
                await asyncio.sleep(0.2)
            result.not_answering = late
            result.timings["recovered_s"] = time.monotonic() - t0
            for aid in ids:
                after = [t - killed_at for t in load.answers[aid] if t > killed_at]
                if after:
                    result.answered_after_kill_s[aid] = after[0]
            await asyncio.sleep(2)  # some more commands after the recovery

            load.stopping.set()
            await asyncio.wait_for(asyncio.gather(*drivers), 60)
            result.acked = len(load.acked)
            highest = await asyncio.to_thread(_check_journal, journal, load, ids, result)
            # the subscribers catch up with the journal (reconnecting from their last version)
            catch_up = time.monotonic() + 30
            while time.monotonic() < catch_up and any(
                (s.versions[-1] if s.versions else 0) < highest[s.aid] for s in subscribers
            ):
                await asyncio.sleep(0.2)
            for s in subscribers:
                s.stopping.set()
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
            for s in subscribers:
                result.subscriber_problems += s.problems(highest[s.aid])
                result.subscriber_reconnects += s.reconnects
        result.timings["checked_s"] = time.monotonic() - t0
    finally:
        import ray

        ray.shutdown()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        result.timings["stopped_s"] = time.monotonic() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--journal", required=True, help="PostgreSQL URL (a fresh database)")
    parser.add_argument("--out", required=True, help="where to write the result (JSON)")
    parser.add_argument("--avatars", type=int, default=16)
    parser.add_argument(
        "--interval", type=float, default=0.5, help="s between an avatar's commands"
    )
    args = parser.parse_args(argv)
    for key in ("RAY_ADDRESS",):  # never the machine's other clusters
        os.environ.pop(key, None)
    result = asyncio.run(scenario(args.journal, args.avatars, args.interval))
    Path(args.out).write_text(json.dumps(asdict(result), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

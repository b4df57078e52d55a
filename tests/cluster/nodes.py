"""A Ray cluster of several nodes on this machine, made with ``ray start`` and ours alone.

Each node is one ``ray start --block`` in a session of its own (``start_new_session``): every
process the node starts (raylet, GCS, agents, workers) carries that session id, so the node can
be killed whole (a node loss) or stopped without touching any other Ray on the machine. Every
node gets its own temp dir under ``root`` (where ``ray start`` records the cluster's address,
so no plain ``ray.init()`` elsewhere joins it), the same auth token, and ports of its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from serve_app.ports import free_port


@dataclass
class Node:
    name: str
    process: subprocess.Popen[bytes]
    node_manager_port: int
    log: Path
    temp: Path

    @property
    def session(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """Every process of this node: its session, and anything that left it but descends
        from it."""
        table = _process_table()
        ours = {pid for pid, (_, sid) in table.items() if sid == self.session}
        ours.add(self.session)
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in table.items() if ppid in ours} - ours
            ours |= more
            grew = bool(more)
        return sorted(p for p in ours if p in table)

    def kill(self, sig: int = signal.SIGKILL) -> list[int]:
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pids


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id), from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp session ...
        if fields[0] != "Z":  # a zombie is dead already (its parent has yet to reap it)
            table[int(entry)] = (int(fields[1]), int(fields[3]))
    return table


@dataclass
class LocalCluster:
    root: Path
    env: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    address: str = ""

    @classmethod
    def create(cls, root: Path, extra_env: dict[str, str]) -> LocalCluster:
        # nothing of another cluster's configuration (a test session's HAProxy ports...)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AVATAR_"))}
        env |= {
            "RAY_AUTH_MODE": "token",  # Ray 2.60 nodes refuse to join without the same token
            "RAY_AUTH_TOKEN": secrets.token_hex(16),
            "RAY_USAGE_STATS_ENABLED": "0",
            **extra_env,
        }
        # this process joins the cluster too; Ray reads the auth mode once, when it is imported
        os.environ.update({k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
        return cls(root, env)

    def _ray(self) -> str:
        return str(Path(sys.executable).with_name("ray"))

    def _start(self, name: str, args: list[str]) -> Node:
        temp = self.root / f"{name}{len(self.nodes)}"  # a retried start gets a fresh one
        temp.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{temp.name}.log"
        port = free_port()
        command = [
            self._ray(),
            "start",
            "--block",
            f"--temp-dir={temp}",
            "--node-ip-address=127.0.0.1",
            f"--node-manager-port={port}",
            f"--object-manager-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--object-store-memory=300000000",
            "--disable-usage-stats",
            *args,
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        node = Node(name, process, port, log, temp)
        self.nodes.append(node)
        return node

    def start_head(self, num_cpus: int) -> Node:
        gcs = free_port()
        self.address = f"127.0.0.1:{gcs}"
        return self._start(
            "head",
            [
                "--head",
                f"--port={gcs}",
                f"--num-cpus={num_cpus}",
                "--include-dashboard=false",
                f"--ray-client-server-port={free_port()}",
            ],
        )

    def add_worker(self, num_cpus: int) -> Node:
        return self._start("worker", [f"--address={self.address}", f"--num-cpus={num_cpus}"])

    def wait_nodes(self, count: int, timeout: float = 60) -> None:
        """Until ``ray.nodes()`` (this process must be connected) shows ``count`` alive."""
        import ray

        deadline = time.monotonic() + timeout
        while sum(1 for n in ray.nodes() if n["Alive"]) < count:
            for node in self.nodes:
                if node.process.poll() is not None:
                    raise RuntimeError(f"{node.name} exited: {node.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} Ray nodes not alive after {timeout} s")
            time.sleep(0.2)

    def connect_when_up(self, timeout: float = 120) -> None:
        """``ray.init`` onto the head once its GCS answers."""
        import ray

        from actors.naming import NAMESPACE

        deadline = time.monotonic() + timeout
        head = self.nodes[0]
        while not (head.temp / "ray_current_cluster").exists():
            if head.process.poll() is not None:
                raise RuntimeError(f"the head exited: {head.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("the Ray head did not start")
            time.sleep(0.2)
        ray.init(
            address=self.address,
            namespace=NAMESPACE,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="warning",
        )

    def start(self, head_cpus: int, worker_cpus: list[int], attempts: int = 3) -> list[Node]:
        """A head (this process connected to it) and workers, each start tried ``attempts``
        times: Ray gives a node 30 s to register, which an overloaded machine can miss."""
        self._retried(lambda: self.start_head(head_cpus), self.connect_when_up, attempts)
        for cpus in worker_cpus:
            count = len(self.nodes) + 1
            self._retried(
                lambda c=cpus: self.add_worker(c), lambda n=count: self.wait_nodes(n), attempts
            )
        return self.nodes

    def _retried(self, start: Callable[[], Node], ready: Callable[[], None], attempts: int) -> None:
        for attempt in range(1, attempts + 1):
            node = start()
            try:
                ready()
                return
            except (RuntimeError, ConnectionError, TimeoutError):
                node.kill(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=10)
                self.nodes.remove(node)
                if attempt == attempts:
                    raise

    def stop(self) -> None:
        """Every process of every node we started, SIGKILLed (the cluster is throwaway: a
        graceful stop took 10 s here), then their files."""
        for node in reversed(self.nodes):
            node.kill(signal.SIGKILL)
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(n.pids() for n in self.nodes) and time.monotonic() < deadline:
            for node in self.nodes:  # what a worker spawned while we killed
                node.kill(signal.SIGKILL)
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)

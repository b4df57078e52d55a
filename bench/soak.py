"""Soak: the service under steady load for minutes, with faults on a schedule, then a check of
the whole history against the journal (Jepsen-style: record everything, judge afterwards).

The service starts as a user runs it (local Ray + Serve, HAProxy HTTP mode, hosted placement,
``--ingress-replicas`` Ingress replicas kept running: 2, as a service that must ride out the
loss of one runs; 1 is the laptop default, and then a killed replica is an outage) on
SQLite or on a PostgreSQL server this script starts (``tests/pg.py``). For ``--duration``
seconds (default 600):

- ``--subscribers`` WebSocket subscribers over ``--avatars`` avatars record every frame; every
  15 s a few disconnect on purpose and resume with ``from_version`` (and any dropped by a fault
  resume the same way);
- ``--rate`` commands/s (set_emotion) with an ``Idempotency-Key`` each, retried by the client
  with the same key on 5xx and connection errors; a speak and a session replay (a render job)
  every few seconds; sessions opened and closed;
- faults: SIGKILL of an entity host actor every 60 s, and in turn of a Renderer replica, of the
  ingress replica, of the Speech replica, and a journal outage (the SQLite file locked by
  another process, or the PostgreSQL server stopped and started).

The check (:mod:`bench.soak_check`) then reads the journal: every acknowledged command recorded
exactly once; each subscriber's frames equal the journal's events from its first version (no
gap, duplicate or reordering, resumes included); every accepted render job done or failed with
a reason; memory, file descriptors and threads of the service's processes not growing. Figures
are printed and appended to ``bench/RESULTS.md``; the exit status is 0 only when the history is
correct (lost, duplicated, gaps, stuck jobs all 0). Timing targets are reported, not enforced.

    python -m bench.soak --duration 600 --journal sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.load import running_service
from bench.scrape import Sample, metrics_ports, scrape

TENANT = "default"
METRICS_EXPORT_S = 11.0
_T0 = time.monotonic()


def say(text: str) -> None:
    """A progress line, stamped with the seconds since the soak started."""
    print(f"[soak {time.monotonic() - _T0:6.1f}s] {text}", flush=True)


# ---------------------------------------------------------------------------- the record


@dataclass
class Command:
    key: str
    kind: str  # set_emotion, speak, open_session
    target: str  # avatar id (session id for open_session once known)
    sent: float  # wall clock of the first attempt
    attempts: int = 0
    acked: float | None = None
    version: int | None = None
    last_error: str = ""


@dataclass
class Subscriber:
    index: int
    avatar: str
    frames: list[tuple[int, str, float, float, float]] = field(default_factory=list)
    """Event frames: (version, event id, recorded_at, received at, its connection's start)."""
    connected_at: float = 0.0
    connects: int = 0
    resumes: int = 0
    last: int | None = None  # last event version received (or the first snapshot's version)
    first_snapshot: int | None = None


@dataclass
class Fault:
    at: float  # seconds since the start of the load
    kind: str
    detail: str
    ended: float | None = None
    error: str = ""


@dataclass
class History:
    started: float = 0.0  # wall clock at the start of the load
    commands: list[Command] = field(default_factory=list)
    subscribers: list[Subscriber] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # job id -> final view
    faults: list[Fault] = field(default_factory=list)
    resources: list[dict[str, float]] = field(default_factory=list)
    rss_by_role: list[dict[str, float]] = field(default_factory=list)  # MiB, with "t"
    sessions_opened: int = 0
    sessions_closed: int = 0
    speaks: int = 0
    deliberate_resumes: int = 0


# ---------------------------------------------------------------------------- clients


RETRYABLE = {500, 502, 503, 504}


async def send_command(
    http: aiohttp.ClientSession,
    history: History,
    cmd: Command,
    method: str,
    url: str,
    body: Any,
    deadline_s: float = 60.0,
) -> dict[str, Any] | None:
    """POST with the command's Idempotency-Key, retried with the same key until answered."""
    history.commands.append(cmd)
    delay = 0.1
    while time.time() - cmd.sent < deadline_s:
        cmd.attempts += 1
        try:
            async with http.request(
                method, url, json=body, headers={"Idempotency-Key": cmd.key}
            ) as r:
                text = await r.text()
                if r.status == 200:
                    cmd.acked = time.time()
                    data: dict[str, Any] = json.loads(text)
                    cmd.version = data.get("version")
                    return data
                cmd.last_error = f"{r.status} {text[:120]}"
                if r.status not in RETRYABLE:
                    return None
                pause = _retry_after(r.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as e:
            cmd.last_error = f"{type(e).__name__}: {e}"
            pause = None
        # as client/ does: the service's Retry-After (a shed or unavailable answer), else backoff
        await asyncio.sleep(pause if pause is not None else delay)
        delay = min(delay * 2, 2.0)
    return None


def _retry_after(value: str | None) -> float | None:
    try:
        return min(float(value), 10.0) if value else None
    except ValueError:
        return None


async def _read_frames(
    ws: aiohttp.ClientWebSocketResponse, sub: Subscriber, leave: asyncio.Future[Any]
) -> None:
    while True:
        receive = asyncio.ensure_future(ws.receive())
        done, _ = await asyncio.wait({receive, leave}, return_when=asyncio.FIRST_COMPLETED)
        if receive not in done:
            receive.cancel()
            return
        msg = receive.result()
        if msg.type != aiohttp.WSMsgType.TEXT:
            return  # closed (a fault, or a deliberate disconnect): resume
        frame = json.loads(msg.data)
        if frame["type"] == "snapshot" and sub.last is None:
            sub.first_snapshot = sub.last = int(frame["version"])
        elif frame["type"] == "event":
            event = frame["event"]
            sub.frames.append(
                (
                    int(frame["version"]),
                    str(event["event_id"]),
                    _epoch(event["recorded_at"]),
                    time.time(),
                    sub.connected_at,
                )
            )
            sub.last = int(frame["version"])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# ---------------------------------------------------------------------------- the load


@dataclass
class Plan:
    duration: float
    avatars: int
    subscribers: int
    rate: float
    speak_every: float = 4.0
    render_every: float = 5.0
    session_every: float = 2.0
    resume_every: float = 15.0
    resume_fraction: float = 0.05


class Load:
    def __init__(self, base: str, ws: str, plan: Plan, run: str) -> None:
        self.api = f"{base}/api/v1/avatars"
        self.base = base
        self.ws_api = f"{ws}/api/v1/avatars"
        self.plan = plan
        self.avatars = [f"soak-{run}-a{i}" for i in range(plan.avatars)]
        self.history = History()
        self.stop = asyncio.Event()  # the load ends
        self.listen_stop = asyncio.Event()  # the subscribers end (after the drain)
        self.closed_sessions: list[str] = []
        self.connections: list[asyncio.Event] = []  # set one: that subscriber drops, resumes
        self.journal_url = ""
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def commands(self, http: aiohttp.ClientSession) -> None:
        interval = 1.0 / self.plan.rate
        next_at = time.monotonic()
        i = 0
        while not self.stop.is_set():
            avatar = self.avatars[i % len(self.avatars)]
            cmd = Command(str(uuid.uuid4()), "set_emotion", avatar, time.time())
            body = {
                "avatar_id": avatar,
                "emotion": random.choice(["happy", "sad", "surprised", "neutral"]),
                "intensity": round(random.random(), 3),
            }
            self.spawn(send_command(http, self.history, cmd, "POST", f"{self.api}/emotions", body))
            i += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def speaking(self, http: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(self.plan.speak_every)
            avatar = random.choice(self.avatars)
            cmd = Command(str(uuid.uuid4()), "speak", avatar, time.time())
            self.history.speaks += 1
            self.spawn(
                send_command(
                    http, self.history, cmd, "POST", f"{self.api}/{avatar}/speak", {"text": "Hi."}
                )
            )

    async def sessions(self, http: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(self.plan.session_every)
            self.spawn(self._one_session(http))

    async def _one_session(self, http: aiohttp.ClientSession) -> None:
        avatar = random.choice(self.avatars)
        cmd = Command(str(uuid.uuid4()), "open_session", avatar, time.time())
        body = {"avatar_id": avatar, "ttl_seconds": 3600}
        opened = await send_command(http, self.history, cmd, "POST", f"{self.api}/session", body)
        if opened is None:
            return
        self.history.sessions_opened += 1
        session_id = cmd.target = opened["session_id"]
        await asyncio.sleep(random.uniform(2.0, 5.0))
        for _ in range(20):
            try:
                async with http.delete(f"{self.api}/session/{session_id}") as r:
                    if r.status in (200, 204):
                        self.history.sessions_closed += 1
                        self.closed_sessions.append(session_id)
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.5)

    async def renders(self, http: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(self.plan.render_every)
            if not self.closed_sessions:
                continue
            session_id = random.choice(self.closed_sessions[-20:])
            body = {"width": 96, "height": 96, "quality": "fast", "fps": 30}
            try:
                async with http.post(f"{self.api}/session/{session_id}/replay", json=body) as r:
                    if r.status == 202:
                        job = await r.json()
                        self.history.jobs[job["job_id"]] = job
            except (aiohttp.ClientError, TimeoutError):
                pass  # not accepted: nothing to check

    async def resumes(self) -> None:
        """Every ``resume_every`` s some subscribers drop their connection on purpose."""
        while not self.stop.is_set():
            await asyncio.sleep(self.plan.resume_every)
            count = max(1, int(len(self.connections) * self.plan.resume_fraction))
            for index in random.sample(range(len(self.connections)), count):
                self.connections[index].set()
                self.history.deliberate_resumes += 1


async def subscriber_loop(load: Load, http: aiohttp.ClientSession, sub: Subscriber) -> None:
    """A subscriber that also leaves on purpose when ``load.connections[index]`` is set."""
    drop = load.connections[sub.index]
    while not load.listen_stop.is_set():
        drop.clear()
        either = asyncio.Event()

        relays = [
            asyncio.ensure_future(_relay(load.listen_stop, either)),
            asyncio.ensure_future(_relay(drop, either)),
        ]
        try:
            await subscribe_once(http, load.ws_api, sub, either)
        finally:
            for r in relays:
                r.cancel()


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def subscribe_once(
    http: aiohttp.ClientSession, ws_api: str, sub: Subscriber, leave_when: asyncio.Event
) -> None:
    """One connection (resuming after ``sub.last``) until it drops or ``leave_when``."""
    url = f"{ws_api}/{sub.avatar}/stream"
    if sub.last is not None:
        url += f"?from_version={sub.last + 1}"
        sub.resumes += 1
    try:
        async with http.ws_connect(url, heartbeat=None, receive_timeout=None) as ws:
            sub.connects += 1
            sub.connected_at = time.time()
            leave = asyncio.ensure_future(leave_when.wait())
            try:
                await _read_frames(ws, sub, leave)
            finally:
                leave.cancel()
    except (aiohttp.ClientError, TimeoutError, ConnectionError):
        await asyncio.sleep(random.uniform(0.2, 1.0))


# ---------------------------------------------------------------------------- faults


def fault_schedule(duration: float) -> list[tuple[float, str]]:
    """(seconds after the start, fault): a host every 60 s, the others in turn between."""
    others = ["renderer", "ingress", "journal", "speech"]
    if duration < 300:  # the short (CI) run: each fault once
        plan = [
            (0.12, "host"),
            (0.27, "renderer"),
            (0.42, "speech"),
            (0.57, "ingress"),
            (0.75, "journal"),
        ]
        return [(round(duration * f, 1), kind) for f, kind in plan]
    out = [(t, "host") for t in range(30, int(duration) - 20, 60)]
    out += [(t, others[i % len(others)]) for i, t in enumerate(range(60, int(duration) - 20, 60))]
    return sorted((float(t), k) for t, k in out)


def parse_schedule(text: str) -> list[tuple[float, str]]:
    """``--faults 40:ingress,100:journal``: a schedule of one's own (to study one fault)."""
    out = []
    for item in text.split(","):
        at, _, kind = item.partition(":")
        out.append((float(at), kind.strip()))
    return sorted(out)


class Faults:
    def __init__(self, history: History, journal_url: str, pg: Any, outage_s: float) -> None:
        self.history = history
        self.journal_url = journal_url
        self.pg = pg
        self.outage_s = outage_s
        self.host_turn = 0

    async def run(self, schedule: list[tuple[float, str]], stop: asyncio.Event) -> None:
        start = time.monotonic()
        for at, kind in schedule:
            wait = at - (time.monotonic() - start)
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    return
                except TimeoutError:
                    pass
            fault = Fault(round(time.time() - self.history.started, 1), kind, "")
            self.history.faults.append(fault)
            try:
                fault.detail = await getattr(self, kind)()
            except Exception as e:  # a fault that could not be injected is reported
                fault.error = f"{type(e).__name__}: {e}"
            fault.ended = round(time.time() - self.history.started, 1)
            say(f"t={fault.at:.0f}s fault {kind}: {fault.detail} {fault.error}")

    async def host(self) -> str:
        import ray

        from actors.naming import NAMESPACE

        hosts = sorted(
            n["name"]
            for n in ray.util.list_named_actors(all_namespaces=True)
            if n["namespace"] == NAMESPACE and n["name"].startswith("entity-host:")
        )
        name = hosts[self.host_turn % len(hosts)]
        self.host_turn += 1
        pid = int(await ray.get_actor(name, namespace=NAMESPACE).pid.remote())
        os.kill(pid, signal.SIGKILL)
        return f"SIGKILL {name} pid {pid}"

    async def _replica(self, deployment: str) -> str:
        import ray

        names = [
            n
            for n in ray.util.list_named_actors(all_namespaces=True)
            if n["name"].startswith("SERVE_REPLICA::") and f"#{deployment}#" in n["name"]
        ]
        if not names:
            return f"no {deployment} replica running"
        chosen = random.choice(names)
        handle = ray.get_actor(chosen["name"], namespace=chosen["namespace"])
        pid = int(await handle.__ray_call__.remote(lambda self: os.getpid()))
        os.kill(pid, signal.SIGKILL)
        return f"SIGKILL {deployment} replica pid {pid}"

    async def renderer(self) -> str:
        return await self._replica("Renderer")

    async def ingress(self) -> str:
        return await self._replica("Ingress")

    async def speech(self) -> str:
        return await self._replica("Speech")

    async def journal(self) -> str:
        if self.pg is not None:
            await asyncio.to_thread(self.pg.stop)
            await asyncio.sleep(self.outage_s)
            await asyncio.to_thread(self.pg.start)
            return f"PostgreSQL server stopped for {self.outage_s:.0f} s"
        path = self.journal_url.removeprefix("sqlite:///")
        path = "/" + path.lstrip("/")
        locker = (
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n"
            "c.execute('ROLLBACK')\n"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            locker,
            path,
            str(self.outage_s),
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        await proc.wait()
        return f"SQLite file locked by another process for {self.outage_s:.0f} s ({line!r})"


# ---------------------------------------------------------------------------- resources


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _role(pid: int) -> str:
    """What a process is, from its command line: ``EntityHostActorImpl``, ``Ingress`` (a Serve
    replica), ``raylet``...; the same for a process and the one that replaced it."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    first = argv[0].decode(errors="replace")
    if first.startswith("ray::"):
        name = first.removeprefix("ray::").split(".", 1)[0]
        return name.rsplit(":", 1)[-1] if name.startswith("ServeReplica") else name
    return os.path.basename(first.split()[0]) if first else "?"


def service_resources(by_role: dict[str, float] | None = None) -> dict[str, float]:
    """Memory (RSS, MiB), open fds and threads of the service's processes: every descendant of
    this process (Ray's GCS, raylet, workers: actors and replicas, HAProxy). ``by_role`` gets
    the RSS (MiB) of each kind of process, summed (see :func:`_role`)."""
    rss_kb = fds = threads = procs = 0
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            rss = int(status.get("VmRSS", "0 kB").split()[0])
            threads += int(status.get("Threads", "0"))
            fds += len(os.listdir(f"/proc/{pid}/fd"))
            if by_role is not None:
                role = _role(pid)
                by_role[role] = by_role.get(role, 0.0) + rss / 1024
            rss_kb += rss
            procs += 1
        except (OSError, ValueError):
            continue
    return {"rss_mb": rss_kb / 1024, "fds": fds, "threads": threads, "processes": procs}


async def sample_resources(history: History, stop: asyncio.Event, every: float = 10.0) -> None:
    while True:
        roles: dict[str, float] = {}
        row = await asyncio.to_thread(service_resources, roles)
        t = round(time.time() - history.started, 1)
        history.resources.append({"t": t, **row, "load1": os.getloadavg()[0]})
        history.rss_by_role.append({"t": t, **roles})
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass


class MetricsWatch:
    """The service's metrics over the load, summed over processes: a series that disappears
    (its process was killed) keeps what it counted, a new one counts from zero."""

    HISTOGRAMS: dict[str, tuple[str, dict[str, str]]] = {
        "fanout": ("ray_avatar_fanout_seconds_bucket", {"stream": "avatar"}),
        "append": ("ray_avatar_append_seconds_bucket", {"kind": "avatar"}),
    }
    COUNTERS: dict[str, tuple[str, dict[str, str]]] = {
        "commands_ok": ("ray_avatar_commands_total", {"outcome": "ok"}),
        "commands_replayed": ("ray_avatar_commands_total", {"outcome": "replayed"}),
        "commands_unavailable": ("ray_avatar_commands_total", {"outcome": "unavailable"}),
        "commands_overloaded": ("ray_avatar_commands_total", {"outcome": "overloaded"}),
        "journal_errors": ("ray_avatar_journal_errors_total", {}),
        "render_done": ("ray_avatar_render_jobs_total", {"state": "done"}),
        "speech_seconds": ("ray_avatar_speech_seconds_total", {}),
    }

    def __init__(self) -> None:
        self.first: dict[tuple[str, ...], float] = {}
        self.last: dict[tuple[str, ...], float] = {}

    def observe(self, samples: list[Sample], baseline: bool = False) -> None:
        wanted = {**self.HISTOGRAMS, **self.COUNTERS}
        for s in samples:
            for figure, (name, match) in wanted.items():
                if s.name != name or any(s.labels.get(k) != v for k, v in match.items()):
                    continue
                series = tuple(f"{k}={v}" for k, v in sorted(s.labels.items()))
                key = (figure, *series)
                if baseline:
                    self.first[key] = s.value
                self.last[key] = max(self.last.get(key, 0.0), s.value)

    def _moved(self, key: tuple[str, ...]) -> float:
        return self.last[key] - self.first.get(key, 0.0)

    def buckets(self, figure: str) -> list[tuple[float, float]]:
        summed: dict[float, float] = {}
        for key in self.last:
            if key[0] == figure:
                le = next(part for part in key[1:] if part.startswith("le="))
                bound = float(le.removeprefix("le="))
                summed[bound] = summed.get(bound, 0.0) + self._moved(key)
        return sorted(summed.items())

    def count(self, figure: str) -> float:
        return sum(self._moved(k) for k in self.last if k[0] == figure)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {f: self.buckets(f) for f in self.HISTOGRAMS}
        return out | {f: self.count(f) for f in self.COUNTERS}


async def watch_metrics(watch: MetricsWatch, stop: asyncio.Event, every: float = 5.0) -> None:
    while True:
        try:
            for port in metrics_ports():
                watch.observe(await asyncio.to_thread(scrape, port))
        except Exception as e:  # a missed scrape is a missed sample, not a failed soak
            say(f"scrape failed: {e}")
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass


# ---------------------------------------------------------------------------- the run


async def drain(load: Load, http: aiohttp.ClientSession, timeout: float) -> None:
    """After the load: let retries end, subscribers catch up and render jobs end."""
    from bench.soak_check import journal_versions

    deadline = time.monotonic() + timeout
    while load._tasks and time.monotonic() < deadline:  # commands still retrying
        await asyncio.sleep(0.5)
    while time.monotonic() < deadline:
        highest = await asyncio.to_thread(journal_versions, load.journal_url, load.avatars)
        behind = [s for s in load.history.subscribers if (s.last or 0) < highest[s.avatar]]
        if not behind:
            break
        await asyncio.sleep(1.0)
    pending = set(load.history.jobs)
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            try:
                url = load.history.jobs[job_id].get("url") or f"/api/v1/avatars/jobs/{job_id}"
                async with http.get(f"{load.base}{url}") as r:
                    if r.status == 200:
                        job = await r.json()
                        load.history.jobs[job_id] = {**job, "url": url}
                        if job["status"] in ("done", "failed"):
                            pending.discard(job_id)
            except (aiohttp.ClientError, TimeoutError):
                pass
        if pending:
            await asyncio.sleep(1.0)


async def soak(args: argparse.Namespace) -> int:
    from bench.soak_check import check, report

    run = uuid.uuid4().hex[:6]
    root = Path(args.data_dir or tempfile.mkdtemp(prefix="soak-"))
    root.mkdir(parents=True, exist_ok=True)
    pg = None
    async with AsyncExitStack() as stack:
        if args.journal == "postgres":
            from tests.pg import start_pg_server

            pg = await asyncio.to_thread(start_pg_server)
            stack.callback(pg.close)
            journal_url = await asyncio.to_thread(pg.fresh_database, "soak")
        else:
            journal_url = f"sqlite:///{(root / 'journal.sqlite').resolve()}"
        settings: dict[str, Any] = {
            "placement": "hosted",
            "ingress_min_replicas": args.ingress_replicas,
        }
        say(f"starting the service ({args.journal}) in {root}")
        base = await stack.enter_async_context(running_service(root, settings, journal=journal_url))
        say(f"service ready at {base}")
        ws = base.replace("http://", "ws://", 1)
        plan = Plan(args.duration, args.avatars, args.subscribers, args.rate)
        load = Load(base, ws, plan, run)
        load.journal_url = journal_url
        history = load.history
        connector = aiohttp.TCPConnector(limit=0)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
        )
        # every avatar exists and every host is up before the clock starts
        await asyncio.gather(*[_warm(http, load.api, a) for a in load.avatars])
        watch = MetricsWatch()
        for port in metrics_ports():
            watch.observe(await asyncio.to_thread(scrape, port), baseline=True)
        history.started = time.time()
        load.connections = [asyncio.Event() for _ in range(plan.subscribers)]
        history.subscribers = [
            Subscriber(i, load.avatars[i % len(load.avatars)]) for i in range(plan.subscribers)
        ]
        tasks = [asyncio.ensure_future(subscriber_loop(load, http, s)) for s in history.subscribers]
        await _until_subscribed(history, 60)
        say(f"{plan.avatars} avatars warm, {plan.subscribers} subscribers connected: load starts")
        faults = Faults(history, journal_url, pg, args.outage)
        schedule = parse_schedule(args.faults) if args.faults else fault_schedule(plan.duration)
        background = [
            asyncio.ensure_future(c)
            for c in (
                load.commands(http),
                load.speaking(http),
                load.sessions(http),
                load.renders(http),
                load.resumes(),
                faults.run(schedule, load.stop),
                sample_resources(history, load.stop),
                watch_metrics(watch, load.stop),
            )
        ]
        await _progress(load, plan.duration)
        load.stop.set()
        stopped = time.monotonic()
        await asyncio.gather(*background[:6], return_exceptions=True)
        # subscribers keep listening while the last commands land and the jobs end
        t_drain = time.monotonic()
        await drain(load, http, args.drain)
        say(f"drained in {time.monotonic() - t_drain:.1f} s")
        load.listen_stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*background[6:], return_exceptions=True)
        # Ray exports a process's metrics every ~10 s: the last commands' counts come then
        await asyncio.sleep(max(0.0, METRICS_EXPORT_S - (time.monotonic() - stopped)))
        for port in metrics_ports():
            watch.observe(await asyncio.to_thread(scrape, port))
        history.resources.append(
            {"t": round(time.time() - history.started, 1), **service_resources()}
        )
        (root / "history.json").write_text(
            json.dumps(
                {
                    "commands": [asdict(c) for c in history.commands],
                    "faults": [asdict(f) for f in history.faults],
                    "jobs": history.jobs,
                    "resources": history.resources,
                    "rss_by_role": history.rss_by_role,
                }
            )
        )
        verdict = await asyncio.to_thread(check, history, journal_url, TENANT)
        (root / "verdict.json").write_text(json.dumps(verdict.summary()))
        report(history, verdict, watch.figures(), args, journal_url)
        say(f"history and data in {root}")
        return 0 if verdict.correct else 1
    return 1


async def _warm(http: aiohttp.ClientSession, api: str, avatar: str) -> None:
    for _ in range(60):
        try:
            async with http.get(f"{api}/{avatar}/state") as r:
                if r.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(1.0)
    raise TimeoutError(f"avatar {avatar} never answered")


async def _until_subscribed(history: History, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(s.last is None for s in history.subscribers):
        if time.monotonic() > deadline:
            raise TimeoutError("subscribers did not all connect")
        await asyncio.sleep(0.2)


async def _progress(load: Load, duration: float) -> None:
    start = time.monotonic()
    while (left := duration - (time.monotonic() - start)) > 0:
        await asyncio.sleep(min(30.0, left))
        acked = sum(1 for c in load.history.commands if c.acked)
        frames = sum(len(s.frames) for s in load.history.subscribers)
        elapsed = time.monotonic() - start
        say(f"{elapsed:.0f}s: {acked} commands acked, {frames} frames")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    p.add_argument("--journal", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument(
        "--ingress-replicas",
        type=int,
        default=2,
        help="Ingress replicas kept running (AVATAR_INGRESS_MIN_REPLICAS): the soak kills one, "
        "and a service that must ride out that loss without an outage runs two (default 2)",
    )
    p.add_argument("--subscribers", type=int, default=200)
    p.add_argument("--avatars", type=int, default=50)
    p.add_argument("--rate", type=float, default=50.0, help="commands per second")
    p.add_argument("--outage", type=float, default=4.0, help="seconds of journal outage")
    p.add_argument("--drain", type=float, default=120.0, help="seconds allowed to settle")
    p.add_argument(
        "--faults", default="", help="own schedule, e.g. 40:ingress,100:journal (default: all)"
    )
    p.add_argument("--data-dir", default=None, help="default: a new temp directory")
    p.add_argument("--no-record", action="store_true", help="print only (no RESULTS.md)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(soak(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

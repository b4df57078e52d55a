"""Where a command's CPU goes, next to a state read's: the two halves of the HTTP path apart.

1. **The entity host over Ray.** One hosted-placement host actor (SQLite journal, the default
   ``synchronous=FULL``) called by 32 concurrent callers in this process, as the ingress calls
   it: ``view`` (a state read) against ``execute`` (a durable command), each sent one Ray call
   per call and batched per event-loop turn as the directory sends them (``actors.batching``).
   CPU per call of the host process and of the caller, from ``/proc``, in alternating rounds.
2. **The ingress app alone.** The FastAPI app the Ingress serves, called in-process through
   ASGI with the entity calls answered at once (no Ray, no journal): the app's own CPU per state
   read and per command, middlewares, routing, validation and JSON included.

What is left of ``bench/capacity.py``'s CPU per request after these two is Serve's replica and
HAProxy, and Ray's call machinery in the ingress.

Run: ``python -m bench.host_cpu`` (``--no-record`` to print only). Appends to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import ray

from actors.batching import CallBatcher
from actors.commands import SetEmotion, Touch
from actors.config import EntityConfig
from actors.remote import EntityHostActor
from bench.common import report
from events.avatar import AvatarState
from serve_app.app import create_app
from serve_app.gateway import Gateway
from serve_app.settings import Settings

CALLERS = 32
KINDS = ("view", "execute", "view batched", "execute batched")


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def host_rounds(data_dir: Path, rounds: int, per_caller: int) -> dict[str, list[float]]:
    """Per kind (view, execute): [callee ms/call, caller ms/call, calls/s] of each round."""
    config = EntityConfig(journal_url=f"sqlite:///{data_dir}/host.sqlite", passivate_after_s=3600)
    host = EntityHostActor.remote(config, 10_000, 1.0)
    callee = psutil.Process(await host.pid.remote())
    caller = psutil.Process()
    ids = [f"a{i}" for i in range(CALLERS)]
    await asyncio.gather(*[host.execute.remote("avatar", "t", i, Touch(), None, i) for i in ids])
    out: dict[str, list[list[float]]] = {k: [] for k in KINDS}
    batchers = {
        m: CallBatcher(lambda calls, m=m: host.call_many.remote(m, calls))  # type: ignore[misc]
        for m in ("view", "execute")
    }

    async def calls(kind: str, avatar: str, round_: int) -> None:
        method, batched = kind.split(maxsplit=1)[0], kind.endswith("batched")
        for n in range(per_caller):
            if method == "view":
                args: tuple[Any, ...] = ("avatar", "t", avatar)
            else:
                command = SetEmotion(emotion="happy", intensity=(n % 10) / 10)
                args = ("avatar", "t", avatar, command, None, f"{avatar}-{round_}-{kind}-{n}")
            if batched:
                await batchers[method].submit(args)
            else:
                await getattr(host, method).remote(*args)

    try:
        for r in range(rounds):
            for kind in KINDS:
                c0, d0, t0 = _cpu_s(callee), _cpu_s(caller), time.perf_counter()
                await asyncio.gather(*[calls(kind, i, r) for i in ids])
                seconds = time.perf_counter() - t0
                n = CALLERS * per_caller
                out[kind].append(
                    [
                        (_cpu_s(callee) - c0) / n * 1000,
                        (_cpu_s(caller) - d0) / n * 1000,
                        n / seconds,
                    ]
                )
    finally:
        ray.kill(host)
    return {k: [statistics.median(col) for col in zip(*v, strict=True)] for k, v in out.items()}


class _AnsweredAtOnce:
    """Stands in for the directory (the Ray side measured above): answers every entity call
    with what a host answers, at once."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    async def call(self, kind: str, tenant: str, entity_id: str, method: str, *args: Any) -> Any:
        if method == "view":
            return {"version": 2, "state": self.state}
        return {
            "stream_id": "s",
            "version": 3,
            "events": [],
            "replayed": False,
            "state": self.state,
        }


async def app_us_per_request(data_dir: Path, requests: int) -> dict[str, float]:
    """The ingress app's CPU per request (µs), by kind."""
    state = AvatarState(version=2, avatar_id="a1", tenant="default").model_dump(mode="json")
    gateway = Gateway(Settings(data_dir=data_dir, placement="hosted", auth="none"))
    gateway.directory = _AnsweredAtOnce(state)  # type: ignore[assignment]
    app = create_app(gateway)
    body = json.dumps({"avatar_id": "a1", "emotion": "happy", "intensity": 0.3}).encode()

    async def one(method: str, path: str) -> None:
        sent: list[dict[str, Any]] = []
        headers = [(b"host", b"bench")]
        if method == "POST":
            headers += [(b"content-type", b"application/json")]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body if method == "POST" else b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    out = {}
    for kind, method, path in (
        ("state read", "GET", "/api/v1/avatars/a1/state"),
        ("command", "POST", "/api/v1/avatars/emotions"),
    ):
        for _ in range(200):
            await one(method, path)
        t = time.process_time()
        for _ in range(requests):
            await one(method, path)
        out[kind] = (time.process_time() - t) / requests * 1e6
    return out


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as d:
        app = await app_us_per_request(Path(d), args.requests)
        ray.init(include_dashboard=False, logging_level="warning", log_to_driver=False)
        try:
            host = await host_rounds(Path(d), args.rounds, args.calls)
        finally:
            ray.shutdown()
    rows = []
    for how, suffix in (("one Ray call each", ""), ("batched per loop turn", " batched")):
        view, execute = host["view" + suffix], host["execute" + suffix]
        rows += [
            (
                f"entity host over Ray ({how}), {CALLERS} callers: host CPU ms per view / per"
                " execute",
                f"{view[0]:.3f} / {execute[0]:.3f} (+{execute[0] - view[0]:.3f})",
            ),
            (
                "  the caller's CPU ms per view / per execute",
                f"{view[1]:.3f} / {execute[1]:.3f} (+{execute[1] - view[1]:.3f})",
            ),
            ("  calls/s, view / execute", f"{view[2]:,.0f} / {execute[2]:,.0f}"),
        ]
    return [
        *rows,
        (
            "ingress app in-process (entity calls answered at once): CPU µs per state read / "
            "per command",
            f"{app['state read']:.0f} / {app['command']:.0f}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--calls", type=int, default=100, help="calls per caller per round")
    parser.add_argument("--requests", type=int, default=3000, help="app requests per kind")
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    report(
        "Where a command's CPU goes: entity host and ingress app apart",
        rows,
        f"Host rows: medians of {args.rounds} alternating rounds of {CALLERS} x {args.calls}"
        " calls. App rows: one process, no Ray.",
        save=not args.no_record,
    )


if __name__ == "__main__":
    main()

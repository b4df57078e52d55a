"""Rendering benchmark through the service (Ray + Serve, Renderer deployment, HTTP).

Figures: frames/s of the face rig drawing alone; a 10 s 512x512 30 fps MP4 with speech, drawn
and encoded in-process (wall time, x realtime) and through ``POST /render/sequence`` (TTS
included); one PNG frame over HTTP, p50/p99, with ``GET /health`` alongside (Serve's HTTP path
alone); the replay of a recorded 10-minute session (written straight into the journal with
spread-out ``recorded_at`` times) as a render job; render jobs/s with the Renderer held at one
replica vs. autoscaled to its maximum.

Run: ``python -m bench.render`` (``--no-record`` to only print). Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import report
from bench.load import fmt, free_port, timed, wait_healthy
from bench.render_media import draw_fps, mp4, speech, talk_timeline
from events.avatar import (
    AnimationTriggered,
    AvatarCreated,
    EmotionSet,
    SpeechStarted,
    StatePatch,
    StatePatched,
)
from events.base import Event
from events.factory import open_journal
from events.session import MarkerAdded, SessionClosed, SessionStarted, TranscriptLine
from media.speech import synthesize
from media.video import speech_audio

API = "/api/v1/avatars"
LINES = [
    "Welcome, and thank you for joining me today.",
    "Could you tell me about a project you are proud of?",
    "That sounds interesting. What was the hardest part?",
    "How did the team decide on that approach?",
    "What would you do differently next time?",
]
EMOTIONS = ["happy", "thoughtful", "professional", "surprised", "neutral"]
ANIMS = ["nod", "tilt", "eyebrow_raise", "smile", "look_around"]


def seed_session(journal_url: str, minutes: float) -> tuple[str, int]:
    """A finished session of ``minutes`` with an utterance every 12 s, emotions, animations,
    gaze changes and transcript lines, at spread-out recorded times (no waiting)."""
    journal = open_journal(journal_url)
    avatar, session = f"bench-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex}"
    a, s = f"avatar:default:{avatar}", f"session:default:{session}"
    spoken = [synthesize(t) for t in LINES]
    t0 = time.time() - minutes * 60 - 5
    journal.append(a, [AvatarCreated(avatar_id=avatar, tenant="default")], recorded_at=t0 - 1)
    journal.append(
        s,
        [
            SessionStarted(
                session_id=session,
                tenant="default",
                avatar_id=avatar,
                avatar_version=1,
                ttl_seconds=86_400,
                expires_at=t0 + 86_400,
            )
        ],
        recorded_at=t0,
    )
    version, n_events = 1, 0
    end_s = minutes * 60
    i = 0
    while (at := 1.0 + i * 12.0) < end_s - 6:
        k = i % len(LINES)
        batch: list[tuple[float, Event]] = [
            (at, EmotionSet(emotion=EMOTIONS[k], intensity=0.7, transition_ms=400)),  # type: ignore[arg-type]
            (
                at + 0.3,
                SpeechStarted(
                    utterance_id=f"u{i}",
                    text=LINES[k],
                    voice_id="en-us",
                    duration_ms=spoken[k].duration_ms,
                    track=spoken[k].track,
                ),
            ),
            (at + 5.5, AnimationTriggered(name=ANIMS[k], duration_ms=1200)),  # type: ignore[arg-type]
            (at + 8.0, StatePatched(patch=StatePatch(gaze_x=0.3 if i % 2 else -0.3))),
        ]
        for dt, ev in batch:
            journal.append(a, [ev], recorded_at=t0 + dt)
            version += 1
            n_events += 1
        journal.append(s, [MarkerAdded(label=f"q{i}")], recorded_at=t0 + at)
        journal.append(
            s, [TranscriptLine(speaker="user", text="An answer.")], recorded_at=t0 + at + 9
        )
        i += 1
    journal.append(s, [SessionClosed(avatar_version=version)], recorded_at=t0 + end_s)
    return session, n_events


async def wait_job(http: aiohttp.ClientSession, base: str, job_id: str) -> dict[str, Any]:
    while True:
        async with http.get(f"{base}{API}/jobs/{job_id}") as r:
            job: dict[str, Any] = await r.json()
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return job
        await asyncio.sleep(0.25)


def renderer_replicas() -> int:
    from ray import serve

    app = serve.status().applications["avatar-service"]
    return int(app.deployments["Renderer"].replica_states.get("RUNNING", 0))


async def job_burst(http: aiohttp.ClientSession, base: str, n: int) -> tuple[float, int]:
    """``n`` 10 s 384x384 sequence jobs at once: jobs/s and the peak renderer replicas."""
    body = {
        "duration_ms": 10_000,
        "animations": [{"at_ms": 0, "animation": "look_around", "loop": True}],
        "width": 384,
        "height": 384,
        "background": True,
    }
    t = time.perf_counter()
    ids = []
    for i in range(n):
        async with http.post(f"{base}{API}/render/sequence", json={**body, "seed": i}) as r:
            ids.append((await r.json())["job_id"])
    peak = 1
    waits = asyncio.gather(*(wait_job(http, base, j) for j in ids))
    while not waits.done():
        peak = max(peak, await asyncio.to_thread(renderer_replicas))
        await asyncio.sleep(0.5)
    await waits
    return n / (time.perf_counter() - t), peak


async def wait_replicas(target: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(renderer_replicas) != target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"renderer replicas did not reach {target}")
        await asyncio.sleep(1)


async def service_figures(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str]]:
    import ray
    from ray import serve

    from actors.naming import NAMESPACE
    from serve_app.app import AppArgs, build_app, resolve_settings
    from serve_app.raytune import apply_high_throughput, apply_serve_env_defaults

    def app_args(max_replicas: int) -> AppArgs:
        return AppArgs(
            data_dir=str(data_dir),
            settings={"renderer_max_replicas": max_replicas, "renderer_downscale_delay_s": 5.0},
        )

    session, n_events = seed_session(resolve_settings(app_args(1)).journal_url, args.minutes)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    apply_serve_env_defaults()
    apply_high_throughput(data_dir / "haproxy", usual_ports=False)
    ray.init(
        include_dashboard=False, namespace=NAMESPACE, logging_level="warning", log_to_driver=False
    )
    rows: list[tuple[str, str]] = []
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(app_args(1)), name="avatar-service", route_prefix="/", blocking=False)
        await wait_healthy(base)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
            avatar = f"bench-{uuid.uuid4().hex[:8]}"
            body = {"avatar_id": avatar, "emotion": "happy"}
            async with http.post(f"{base}{API}/emotions", json=body) as r:
                assert r.status == 200
            url = f"{base}{API}/{avatar}/render"
            await timed(http, "POST", url, 20, {})  # warm: rig cache, connections
            await timed(http, "GET", f"{base}/health", 20)
            png = await timed(http, "POST", url, args.requests, {})
            health = await timed(http, "GET", f"{base}/health", args.requests)
            rows.append(("PNG 512x512 over HTTP, p50 / p99 ms (target p50 <= 30)", fmt(png)))
            rows.append(("  GET /health alongside, p50 / p99 ms (reference)", fmt(health)))

            seq = {"text": " ".join(LINES[:3]), "duration_ms": 10_000, "width": 512, "height": 512}
            t = time.perf_counter()
            async with http.post(f"{base}{API}/render/sequence", json=seq) as r:
                out = await r.json()
                assert r.status == 200, out
            wall = time.perf_counter() - t
            rows.append(
                (
                    "10 s 512x512 30 fps MP4 + speech, POST /render/sequence (TTS incl.), wall s",
                    f"{wall:.2f} ({10 / wall:.1f}x realtime; renderer {out['render_s']:.2f} s)",
                )
            )

            t = time.perf_counter()
            async with http.post(f"{base}{API}/session/{session}/replay", json={}) as r:
                job = await r.json()
            done = await wait_job(http, base, job["job_id"])
            wall = time.perf_counter() - t
            res = done["result"]
            rows.append(
                (
                    f"replay of a {args.minutes:g}-min session ({n_events} avatar events, "
                    "512x512 30 fps MP4 + speech), wall s (target <= 90)",
                    f"{wall:.1f} ({res['frames']:,} frames, {res['size'] / 2**20:.1f} MiB)",
                )
            )

            rate1, _ = await job_burst(http, base, args.jobs)
            burst = f"{args.jobs} x 10 s 384x384 MP4"
            rows.append((f"render jobs/s, {burst}, 1 replica", f"{rate1:.2f}"))
            serve.run(
                build_app(app_args(args.max_replicas)),
                name="avatar-service",
                route_prefix="/",
                blocking=False,
            )
            await wait_healthy(base)
            await wait_replicas(1)
            rate_n, peak_n = await job_burst(http, base, args.jobs)
            rows.append(
                (
                    f"render jobs/s, same burst, autoscaled up to {args.max_replicas} replicas",
                    f"{rate_n:.2f} (peak {peak_n} replicas)",
                )
            )
            t = time.perf_counter()
            await wait_replicas(1)
            rows.append(
                ("  back to 1 replica after the burst, s", f"{time.perf_counter() - t:.0f}")
            )
    finally:
        serve.shutdown()
        ray.shutdown()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200, help="HTTP requests per latency figure")
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the replayed session")
    ap.add_argument("--jobs", type=int, default=16, help="render jobs per burst")
    ap.add_argument("--max-replicas", type=int, default=4)
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args()

    rows = [
        ("draw frames/s, 512x512 toon/high, cached layers", f"{draw_fps('toon', 'high', 300):,.0f}")
    ]
    track, clip, source = speech()
    timeline = talk_timeline(track, 10.0)
    audio = speech_audio(timeline, {"u1": clip})
    with tempfile.TemporaryDirectory() as tmp:
        best = min(mp4(timeline, audio, Path(tmp) / "talk.mp4") for _ in range(2))
    rows.append(
        (
            "10 s 512x512 30 fps MP4 + speech, in-process, wall s",
            f"{best:.2f} ({10 / best:.1f}x realtime)",
        )
    )
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        rows += asyncio.run(service_figures(args, Path(tmp)))
    notes = (
        f"Speech: {source}. Ray + Serve local (HAProxy HTTP mode, the service default); the "
        "Renderer reserves 0.5 CPU a replica; the machine has 2 cores shared with other work, "
        "so more than 2 replicas cannot add throughput here."
    )
    report(
        "Rendering through the service (Renderer deployment, HTTP, jobs)",
        rows,
        notes,
        save=not args.no_record,
    )


if __name__ == "__main__":
    main()

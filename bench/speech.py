"""Speech benchmark through the service: TTS speed, /lipsync and /lipsync/preview over HTTP,
and speak-to-WebSocket latency.

Figures: TTS x realtime in-process (a paragraph); ``POST /lipsync`` (synthesis + track + Oculus
export + the WAV stored as an asset) and ``POST /lipsync/preview`` (estimated, no audio) p50/p99
for a 20-word sentence over HTTP, with ``GET /health`` alongside; ``POST /{id}/speak`` latency
and the time from sending it to the SpeechStarted frame on the avatar's WebSocket.

Run: ``python -m bench.speech`` (``--no-record`` to only print). Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.common import report
from bench.load import fmt, running_service, timed
from bench.speech_media import PARAGRAPH, SENTENCE_20_WORDS
from media.speech import synthesize

API = "/api/v1/avatars"


def tts_speed(runs: int = 20) -> tuple[float, float]:
    """(audio ms / synthesis ms, synthesis ms) for the paragraph, best of ``runs``."""
    synthesize("warm up")
    best, audio_ms = float("inf"), 0.0
    for _ in range(runs):
        t = time.perf_counter()
        speech = synthesize(PARAGRAPH)
        best = min(best, (time.perf_counter() - t) * 1000)
        audio_ms = speech.duration_ms
    return audio_ms / best, best


async def speak_to_socket(
    http: aiohttp.ClientSession, base: str, ws_base: str, n: int
) -> tuple[list[float], list[float]]:
    """(POST /speak latency, send -> SpeechStarted frame on the socket), in ms."""
    avatar = f"bench-{uuid.uuid4().hex[:8]}"
    posts, frames = [], []
    async with http.ws_connect(f"{ws_base}{API}/{avatar}/stream") as ws:
        await ws.receive_json(timeout=10)  # the snapshot
        for i in range(n + 3):
            t = time.perf_counter()
            post = asyncio.ensure_future(
                http.post(f"{base}{API}/{avatar}/speak", json={"text": SENTENCE_20_WORDS})
            )
            while True:
                frame = json.loads((await ws.receive(timeout=30)).data)
                if frame.get("event", {}).get("type") == "SpeechStarted":
                    arrived = (time.perf_counter() - t) * 1000
                    break
            async with await post as r:
                assert r.status == 200, await r.text()
                await r.read()
            done = (time.perf_counter() - t) * 1000
            if i >= 3:  # warm-up
                frames.append(arrived)
                posts.append(done)
    return posts, frames


async def service_figures(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    async with running_service(data_dir) as base:
        ws_base = base.replace("http://", "ws://")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            lipsync = {"text": SENTENCE_20_WORDS}
            preview = {"text": SENTENCE_20_WORDS}
            for url, body in [(f"{API}/lipsync", lipsync), (f"{API}/lipsync/preview", preview)]:
                await timed(http, "POST", base + url, 20, body)  # warm: engines, connections
            full = await timed(http, "POST", f"{base}{API}/lipsync", args.requests, lipsync)
            inline = await timed(
                http,
                "POST",
                f"{base}{API}/lipsync",
                args.requests,
                {**lipsync, "audio_response": "base64"},
            )
            fast = await timed(http, "POST", f"{base}{API}/lipsync/preview", args.requests, preview)
            health = await timed(http, "GET", f"{base}/health", args.requests)
            posts, frames = await speak_to_socket(http, base, ws_base, args.speaks)
    rows += [
        (
            "POST /lipsync, 20-word sentence, audio as asset URL, p50 / p99 ms (target p50 <= 60)",
            fmt(full),
        ),
        ("POST /lipsync, same, audio inline base64, p50 / p99 ms", fmt(inline)),
        ("POST /lipsync/preview, 20-word sentence, p50 / p99 ms (target p50 <= 15)", fmt(fast)),
        ("  GET /health alongside, p50 / p99 ms (reference)", fmt(health)),
        ("POST /{id}/speak (TTS, audio stored, SpeechStarted recorded), p50 / p99 ms", fmt(posts)),
        ("speak sent -> SpeechStarted frame on the avatar's WebSocket, p50 / p99 ms", fmt(frames)),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200, help="HTTP requests per latency figure")
    ap.add_argument("--speaks", type=int, default=50, help="speak requests for the socket figure")
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args()
    speed, synth_ms = tts_speed()
    rows = [
        (
            "TTS in-process, 88-word paragraph (target >= 200x realtime)",
            f"{speed:,.0f}x realtime ({synth_ms:.1f} ms)",
        )
    ]
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
        rows += asyncio.run(service_figures(args, Path(tmp)))
    notes = (
        "Ray + Serve local (HAProxy HTTP mode, the service default), SQLite journal; one Speech "
        "replica (0.25 CPU) serves these sequential requests. espeak-ng 1.52, 22050 Hz mono."
    )
    report(
        "Speech through the service (Speech deployment, HTTP, WebSocket)",
        rows,
        notes,
        save=not args.no_record,
    )


if __name__ == "__main__":
    main()

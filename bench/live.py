"""Live stream benchmark: the service started with its CLI, watched by aiortc viewers here.

Figures, against the targets of issue 12:

- CPU per live 512x512 30 fps stream: the Live replica's process CPU time (utime + stime from
  ``/proc``) over a window with N streams connected, minus the same window with none, per
  stream; streams per core = 1 / that.
- Offer -> first decoded frame: from posting the offer (the viewer's offer already made, as
  a page does before it posts) to the first frame decoded by the viewer.
- Speech A/V offset: when the received mouth (mouth-region change in the decoded frames)
  lines up with the same utterance's mouth drawn here from its recorded track, minus when the
  received audio envelope lines up with its stored WAV's (cross-correlations, like against
  like), with both tracks on the sender's clock through the RTCP sender reports, as a
  browser's lip sync does. Positive: the picture is late.
  The same on arrival times (no lip sync; aiortc's audio jitter buffer holds audio back) is
  printed alongside.
- Interrupt -> closed mouth: from sending ``speak/interrupt`` to the first decoded frame from
  which the mouth stays closed.

Run: ``python -m bench.live`` (``--no-record`` to only print). Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import tempfile
import time
import uuid
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np

from bench.common import report
from bench.load import cli_service
from events.avatar import AvatarState, FaceState, SpeechStarted
from media.animation import Cue, Timeline, sample
from media.face import FaceRig, RenderOptions
from serve_app.live.ice import use_host_addresses
from serve_app.live.viewer import LiveViewer, Received, mouth_box

API = "/api/v1/avatars"
UNSEEN_SESSIONS: list[str] = []
TARGETS = {"first_frame_s": 1.0, "av_offset_ms": 45.0, "streams_per_core": 4.0, "cut_ms": 150.0}
LINES = [
    "Alright, thanks for joining me today.",
    "Oh, I am glad you asked about that project.",
    "Absolutely, and how did the team react?",
    "Okay, what would you change next time?",
    "Well, tell me more about the migration plan.",
    "I see. Who else was involved in that decision?",
    "Interesting. How long did the whole rollout take?",
    "Great, let us move on to the next question.",
]
LONG = (
    "Let me tell you about the way we work here, how the teams are organised, what a normal "
    "week looks like, and what we expect from someone joining the platform group this year."
)


# ---------------------------------------------------------------------------- HTTP


async def call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as r:
        data = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"{method} {url}: {r.status} {data}")
        return data


async def new_session(http: aiohttp.ClientSession, base: str, still: bool) -> tuple[str, str]:
    aid = f"bench-live-{uuid.uuid4().hex[:8]}"
    if still:
        patch = {"state": {"idle": False, "blink": False}}
        await call(http, "PATCH", f"{base}{API}/{aid}/state", patch)
    s = await call(http, "POST", f"{base}{API}/session", {"avatar_id": aid})
    sid = s["session_id"]
    # Seen twice under heavy load (hosted placement, with or without live streams): a session
    # just created answered 404 for a while. Counted and waited out, so a live figure is not
    # lost to it; reported in the notes.
    for _ in range(100):
        async with http.get(f"{base}{API}/session/{sid}") as r:
            if r.status == 200:
                return aid, sid
        UNSEEN_SESSIONS.append(sid)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"session {sid} stays unknown")


async def watch(
    http: aiohttp.ClientSession, base: str, sid: str
) -> tuple[LiveViewer, float, dict[str, Any]]:
    """Connect a viewer; returns it, the seconds from posting the offer to its first decoded
    frame, and the answer."""
    viewer = LiveViewer()
    offer = await viewer.offer()
    t0 = time.monotonic()
    answer = await call(http, "POST", f"{base}{API}/session/{sid}/live", offer)
    await viewer.accept(answer)
    frames = await viewer.wait_for("video", 1, timeout=30)
    return viewer, frames[0].arrived - t0, answer


def proc_cpu_s(pid: int) -> float:
    """utime + stime of process ``pid`` in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # clock ticks (USER_HZ = 100)


# ---------------------------------------------------------------------------- analysis


def mouth_scores(frames: Sequence[Received], closed: np.ndarray) -> list[float]:
    return [float(np.abs(f.mouth - closed).mean()) for f in frames if f.mouth is not None]


def align_s(
    ref_t: Sequence[float],
    ref: Sequence[float],
    got_t: Sequence[float],
    got: Sequence[float],
) -> float | None:
    """When (on ``got_t``'s clock) the reference signal (times from 0) best matches ``got``:
    cross-correlation of the two, zero-mean, on a 5 ms grid. Like against like (a mouth
    against the same mouth drawn from the source, audio against its source), so the peak is
    unambiguous."""
    if len(ref) < 5 or len(got) < 5:
        return None
    step = 0.005
    r_grid = np.arange(ref_t[0], ref_t[-1], step)
    g_grid = np.arange(got_t[0], got_t[-1], step)
    if len(g_grid) <= len(r_grid):
        return None
    r = np.interp(r_grid, ref_t, ref)
    g = np.interp(g_grid, got_t, got)
    r, g = r - r.mean(), g - g.mean()
    scores = np.correlate(g, r, mode="valid")
    return float(g_grid[int(np.argmax(scores))] - r_grid[0])


Signal = tuple[list[float], list[float]]


def reference_signals(event: SpeechStarted, wav_bytes: bytes) -> tuple[Signal, Signal]:
    """The source's mouth and audio signals, times in s from the utterance's start: the
    recorded track drawn at 30 fps with the same rig and look, the stored WAV in 20 ms frames."""
    initial = AvatarState(face=FaceState(idle=False, blink=False))
    duration = event.duration_ms + 500
    track = sample(Timeline.of(initial, [Cue(0.0, event)], duration), 30, seed=0)
    rig = FaceRig(initial.traits, RenderOptions(512, 512, "toon", "high"))
    left, top, right, bottom = mouth_box(512, 512)

    def luma(params: Any) -> np.ndarray:
        frame = av.VideoFrame.from_ndarray(rig.render(params), format="rgba")
        y = frame.reformat(format="yuv420p").to_ndarray(format="gray")
        return y[top:bottom, left:right].astype(np.float32)

    closed = luma(track[0])
    scores = [float(np.abs(luma(p) - closed).mean()) for p in track]
    with wave.open(io.BytesIO(wav_bytes)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    step = rate // 50
    levels = [float(np.abs(pcm[i : i + step]).mean()) for i in range(0, len(pcm) - step, step)]
    mouth = ([t / 1000.0 for t in track.times_ms], scores)
    audio = ([0.02 * i for i in range(len(levels))], levels)  # a frame's time: its first sample
    return mouth, audio


def av_offsets_ms(
    viewer: LiveViewer, since: float, closed: np.ndarray, ref: tuple[Signal, Signal]
) -> tuple[float | None, float | None]:
    """Where the received mouth lines up with the source's mouth, minus where the received
    audio lines up with the source's audio (ms; + = picture late): on the sender's clock (what
    lip sync aligns) and on arrival."""
    video = [f for f in viewer.video if f.arrived >= since]
    audio = [f for f in viewer.audio if f.arrived >= since]
    scores = mouth_scores(video, closed)
    levels = [a.level for a in audio]
    (ref_mt, ref_m), (ref_at, ref_a) = ref
    out: list[float | None] = []
    for clock in ("sender", "arrival"):
        if clock == "sender":
            vt = [viewer.sender_time("video", f.pts) for f in video]
            at = [viewer.sender_time("audio", a.pts) for a in audio]
        else:
            vt, at = [f.arrived for f in video], [a.arrived for a in audio]
        if None in vt or None in at:
            out.append(None)
            continue
        v_at = align_s(ref_mt, ref_m, [float(t) for t in vt if t is not None], scores)
        a_at = align_s(ref_at, ref_a, [float(t) for t in at if t is not None], levels)
        out.append(None if v_at is None or a_at is None else 1000.0 * (v_at - a_at))
    return out[0], out[1]


async def speech_event(http: aiohttp.ClientSession, base: str, aid: str, uid: str) -> Any:
    page = await call(http, "GET", f"{base}{API}/{aid}/events?from_version=1&limit=1000")
    for e in page["events"]:
        if e["type"] == "SpeechStarted" and e["data"]["utterance_id"] == uid:
            return SpeechStarted.model_validate(e["data"])
    raise RuntimeError(f"no SpeechStarted {uid}")


# ---------------------------------------------------------------------------- measures


async def frames_sent(http: aiohttp.ClientSession, base: str, sids: Sequence[str]) -> int:
    total = 0
    for sid in sids:
        status = await call(http, "GET", f"{base}{API}/session/{sid}/live")
        total += int(status["status"]["frames_sent"])
    return total


async def cpu_per_stream(
    http: aiohttp.ClientSession, base: str, streams: int, window_s: float
) -> tuple[float, float, float]:
    """(CPU s/s of the replica with no stream, CPU s/s per stream with ``streams``, frames
    per second each stream sent meanwhile)."""
    viewers: list[LiveViewer] = []
    sids = []
    try:
        _, sid = await new_session(http, base, still=False)
        viewer, _, answer = await watch(http, base, sid)
        pid = int(answer["status"]["pid"])
        await call(http, "DELETE", f"{base}{API}/session/{sid}/live")
        await viewer.close()
        await asyncio.sleep(2.0)
        c0, t0 = proc_cpu_s(pid), time.monotonic()
        await asyncio.sleep(window_s)
        idle = (proc_cpu_s(pid) - c0) / (time.monotonic() - t0)
        for _ in range(streams):
            _, sid = await new_session(http, base, still=False)
            viewer, _, answer = await watch(http, base, sid)
            if int(answer["status"]["pid"]) != pid:
                raise RuntimeError("streams landed on several replicas: set live_max_replicas=1")
            viewers.append(viewer)
            sids.append(sid)
        await asyncio.sleep(3.0)  # settled: encoders at their bitrate
        sent0 = await frames_sent(http, base, sids)
        c0, t0 = proc_cpu_s(pid), time.monotonic()
        await asyncio.sleep(window_s)
        busy = (proc_cpu_s(pid) - c0) / (time.monotonic() - t0)
        fps = (await frames_sent(http, base, sids) - sent0) / window_s / streams
        return idle, (busy - idle) / streams, fps
    finally:
        for sid in sids:
            with contextlib.suppress(Exception):
                await call(http, "DELETE", f"{base}{API}/session/{sid}/live")
        for v in viewers:
            await v.close()


async def first_frames(http: aiohttp.ClientSession, base: str, trials: int) -> list[float]:
    out = []
    for _ in range(trials):
        _, sid = await new_session(http, base, still=False)
        viewer, first, _ = await watch(http, base, sid)
        out.append(first)
        await call(http, "DELETE", f"{base}{API}/session/{sid}/live")
        await viewer.close()
    return out


async def speech_sync(
    http: aiohttp.ClientSession, base: str
) -> tuple[list[float], list[float], list[float]]:
    """(sender-clock offsets ms, arrival offsets ms, interrupt -> closed mouth ms)."""
    aid, sid = await new_session(http, base, still=True)
    viewer, _, _ = await watch(http, base, sid)
    offsets: list[float] = []
    arrivals: list[float] = []
    cuts: list[float] = []
    try:
        await viewer.wait_for("video", 30, timeout=30)
        closed = viewer.video[-1].mouth
        assert closed is not None
        noise = max(mouth_scores(viewer.video[-20:], closed))
        shut_below = max(1.5, 2.0 * noise)
        for text in LINES:
            since = time.monotonic()
            said = await call(http, "POST", f"{base}{API}/{aid}/speak", {"text": text})
            await asyncio.sleep(said["duration"] + 1.0)
            async with http.get(f"{base}{said['audio']['url']}") as r:
                wav_bytes = await r.read()
            event = await speech_event(http, base, aid, said["utterance_id"])
            ref = await asyncio.to_thread(reference_signals, event, wav_bytes)
            sender, arrival = av_offsets_ms(viewer, since, closed, ref)
            if sender is not None:
                offsets.append(sender)
            if arrival is not None:
                arrivals.append(arrival)
        for _ in range(3):
            await call(http, "POST", f"{base}{API}/{aid}/speak", {"text": LONG})
            await asyncio.sleep(1.5)
            t0 = time.monotonic()
            await call(http, "POST", f"{base}{API}/{aid}/speak/interrupt")
            await asyncio.sleep(1.5)
            frames = [f for f in viewer.video if f.arrived >= t0]
            scores = mouth_scores(frames, closed)
            shut = [s < shut_below for s in scores]
            first = next(i for i in range(len(shut)) if all(shut[i:]))
            cuts.append(1000.0 * (frames[first].arrived - t0))
    finally:
        await call(http, "DELETE", f"{base}{API}/session/{sid}/live")
        await viewer.close()
    return offsets, arrivals, cuts


def fmt_list(values: Sequence[float], digits: int = 0) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


async def main(save: bool, window_s: float, streams: int) -> None:
    use_host_addresses(["127.0.0.1"])
    env = {
        "AVATAR_LIVE_ICE_ADDRESSES": "127.0.0.1",
        "AVATAR_LIVE_MAX_REPLICAS": "1",
        "AVATAR_LIVE_MAX_STREAMS_PER_REPLICA": str(max(8, streams)),
    }
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        async with (
            cli_service(Path(tmp), "--placement", "hosted", env=env) as base,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        ):
            await first_frames(http, base, 1)  # warm: actors, replica imports, encoders
            firsts = await first_frames(http, base, 5)
            offsets, arrivals, cuts = await speech_sync(http, base)
            _, one, fps1 = await cpu_per_stream(http, base, 1, window_s)
            idle_n, per, fps_n = await cpu_per_stream(http, base, streams, window_s)
    load = Path("/proc/loadavg").read_text().split()[0]
    # a stream costs what its frames cost: frames skipped on a loaded machine cost nothing
    at30_one, at30 = one * 30.0 / max(fps1, 1e-9), per * 30.0 / max(fps_n, 1e-9)
    per_core = 1.0 / at30 if at30 > 0 else float("inf")
    rows = [
        ("Live replica CPU with no stream, % of a core", f"{100 * idle_n:.1f}"),
        (
            f"CPU per 512x512 stream as measured, % of a core (1 stream at {fps1:.1f} fps "
            f"sent / {streams} streams at {fps_n:.1f} fps each)",
            f"{100 * one:.1f} / {100 * per:.1f}",
        ),
        (
            "CPU per 512x512 30 fps stream (per frame sent x 30), % of a core (1 / "
            f"{streams} streams)",
            f"{100 * at30_one:.1f} / {100 * at30:.1f}",
        ),
        (
            f"streams per core at {streams} streams (target >= {TARGETS['streams_per_core']:.0f})",
            f"{per_core:.1f}",
        ),
        (
            f"offer -> first decoded frame, s: median, max of 5 (target <= "
            f"{TARGETS['first_frame_s']})",
            f"{statistics.median(firsts):.2f}, {max(firsts):.2f}",
        ),
        (
            f"speech A/V offset on the sender's clock (lip sync), ms: median (per utterance) "
            f"(target within {TARGETS['av_offset_ms']:.0f}; + = picture late)",
            f"{statistics.median(offsets):.0f} ({fmt_list(offsets)})",
        ),
        (
            "speech A/V offset on arrival at the aiortc viewer (no lip sync), ms: median (each)",
            f"{statistics.median(arrivals):.0f} ({fmt_list(arrivals)})",
        ),
        (
            f"interrupt -> closed mouth decoded, ms (target <= {TARGETS['cut_ms']:.0f})",
            fmt_list(cuts),
        ),
    ]
    notes = (
        f"Service from its CLI (hosted placement, haproxy mode), one Live replica; viewers are "
        f"aiortc peers in the benchmark process on loopback (VP8, Opus). Load average at the "
        f"end: {load} (other work shares these 2 cores). Idle motion on in the CPU runs; off in "
        f"the speech runs (only speech moves the mouth). Sessions that answered 404 just "
        f"after their creation (waited out): {len(set(UNSEEN_SESSIONS))}."
    )
    report("Live streams (bench/live.py)", rows, notes, save=save)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument("--window", type=float, default=10.0, help="CPU window, s")
    parser.add_argument("--streams", type=int, default=4, help="streams in the CPU run")
    args = parser.parse_args()
    asyncio.run(main(not args.no_record, args.window, args.streams))

"""What the client subcommands of ``avatar-service`` do (arguments: serve_app/client_cli.py).

Each command is one coroutine on one :class:`AvatarClient`; errors become the documented exit
codes, with the service's code and message on stderr (as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from client.client import AvatarClient
from client.errors import (
    ApiError,
    AvatarError,
    ConnectionFailed,
    JobFailed,
    NotFound,
    Unauthorized,
    Unavailable,
)
from client.settings import ClientSettings
from serve_app.schemas.events import RecordedEvent
from serve_app.schemas.jobs import JobView

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_REFUSED = 0, 1, 2, 3, 4
EXIT_UNAUTHORIZED, EXIT_UNAVAILABLE, EXIT_JOB_FAILED, EXIT_INTERRUPTED = 5, 6, 7, 130

Command = Callable[[AvatarClient, argparse.Namespace], Awaitable[int]]


def run(args: argparse.Namespace) -> int:
    """Run the chosen command; its exit code."""
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


async def _main(args: argparse.Namespace) -> int:
    settings = ClientSettings(timeout_s=args.timeout, retries=args.retries)
    command = COMMANDS[args.command]
    try:
        async with AvatarClient(args.url, args.api_key, settings=settings) as c:
            return await command(c, args)
    except AvatarError as e:
        return _failed(args, e)
    except OSError as e:  # a local file that cannot be read or written
        _error(args, {"code": "local_file", "message": str(e)})
        return EXIT_USAGE
    except ValueError as e:  # a request the service's own models refuse, checked here first
        _error(args, {"code": "validation_error", "message": str(e)})
        return EXIT_REFUSED


def _failed(args: argparse.Namespace, e: AvatarError) -> int:
    if isinstance(e, JobFailed):
        _error(
            args, {"code": e.code, "message": e.message, "status": e.status, "job_id": e.job.job_id}
        )
        return EXIT_JOB_FAILED
    if isinstance(e, ConnectionFailed):
        _error(args, {"code": "unreachable", "message": f"{args.url}: {e}"})
        return EXIT_UNAVAILABLE
    if isinstance(e, ApiError):
        _error(args, {"status": e.status, "code": e.code, "message": e.message, "detail": e.detail})
        if isinstance(e, NotFound):
            return EXIT_NOT_FOUND
        if isinstance(e, Unauthorized):
            return EXIT_UNAUTHORIZED
        if isinstance(e, Unavailable) or e.status == 429:
            return EXIT_UNAVAILABLE
        return EXIT_REFUSED
    _error(args, {"code": "error", "message": str(e)})
    return EXIT_BUG


def _error(args: argparse.Namespace, body: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps({"error": body}), file=sys.stderr)
    else:
        status = f" ({body['status']})" if body.get("status") else ""
        print(f"avatar-service: {body['code']}{status}: {body['message']}", file=sys.stderr)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        if hasattr(data, "model_dump"):
            data = data.model_dump(mode="json")
        print(json.dumps(data), flush=True)
    else:
        print(text, flush=True)


def _options(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _format_of(path: str, allowed: tuple[str, ...]) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = {"jpg": "jpeg"}.get(suffix, suffix)
    if suffix not in allowed:
        raise ValueError(f"{path}: the name must end in one of .{', .'.join(allowed)}")
    return suffix


# ---------------------------------------------------------------------------- commands


async def speak(c: AvatarClient, args: argparse.Namespace) -> int:
    result = await c.avatar(args.avatar).speak(args.text, **_options(args, "voice", "rate"))
    target = args.output
    if (target or args.play) and result.audio is not None:
        if args.play:
            target = str(Path(tempfile.mkdtemp(prefix="avatar-")) / "speech.wav")
        await c.render.download(result.audio.url, to=target)
    _emit(
        args,
        result,
        f"{args.avatar} v{result.version}: {result.utterance_id}, "
        f"{result.duration:.2f} s{f' -> {target}' if args.output else ''}",
    )
    if args.play and target:
        return _play(target)
    return EXIT_OK


def _play(path: str) -> int:
    for player, extra in (
        ("aplay", ["-q"]),
        ("paplay", []),
        ("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"]),
    ):
        exe = shutil.which(player)
        if exe:
            return (
                EXIT_OK
                if subprocess.run([exe, *extra, path], check=False).returncode == 0
                else EXIT_BUG
            )
    print(
        f"avatar-service: no audio player found (aplay, paplay, ffplay); audio at {path}",
        file=sys.stderr,
    )
    return EXIT_USAGE


async def render(c: AvatarClient, args: argparse.Namespace) -> int:
    fmt = _format_of(args.output, ("png", "jpeg", "webp"))
    image = await c.avatar(args.avatar).render(
        format=fmt, **_options(args, "width", "height", "emotion")
    )
    Path(args.output).write_bytes(image)
    _emit(
        args,
        {"avatar_id": args.avatar, "output": args.output, "bytes": len(image), "format": fmt},
        f"{args.avatar} -> {args.output} ({len(image)} bytes)",
    )
    return EXIT_OK


async def video(c: AvatarClient, args: argparse.Namespace) -> int:
    fmt = _format_of(args.output, ("mp4", "webm", "gif"))
    options = _options(args, "width", "height", "fps", "voice")
    if args.avatar:
        options["avatar_id"] = args.avatar
    job = await c.render.start_sequence(text=args.text, format=fmt, **options)
    return await _finish_job(c, args, job)


async def replay(c: AvatarClient, args: argparse.Namespace) -> int:
    fmt = _format_of(args.output, ("mp4", "webm", "gif"))
    job = await c.session(args.session).replay(
        format=fmt, **_options(args, "width", "height", "fps")
    )
    return await _finish_job(c, args, job)


async def _finish_job(c: AvatarClient, args: argparse.Namespace, job: JobView) -> int:
    """Follow the job with a progress bar (stderr), then download its output."""
    from tqdm import tqdm  # noqa: PLC0415

    with tqdm(
        total=None,
        unit="frame",
        desc=job.kind or "render",
        disable=args.json,
        file=sys.stderr,
        leave=False,
    ) as bar:

        def show(step: JobView) -> None:
            if step.frames_total and bar.total != step.frames_total:
                bar.total = step.frames_total
            bar.n = step.frames_done
            bar.set_postfix_str(step.status or "", refresh=False)
            bar.refresh()

        done = await c.jobs.wait(job.job_id, on_progress=show)
    result = done.result or {}
    await c.render.download(str(result["url"]), to=args.output)
    _emit(
        args,
        {**done.model_dump(mode="json"), "output": args.output},
        f"{done.job_id} -> {args.output} ({result.get('frames')} frames, "
        f"{float(result.get('duration_s') or 0):.2f} s, {result.get('size')} bytes)",
    )
    return EXIT_OK


_COLOURS = {
    "Speech": "32",
    "Emotion": "35",
    "Animation": "36",
    "Session": "33",
    "State": "34",
    "Model": "34",
    "Customized": "34",
}


def event_line(event: RecordedEvent, colour: bool) -> str:
    """``  12  SpeechStarted       text='Hello'`` (coloured by the event's family on a tty)."""
    data = {k: v for k, v in event.data.items() if k not in ("track", "schema_version")}
    summary = " ".join(f"{k}={json.dumps(v)}" for k, v in data.items())
    if len(summary) > 100:
        summary = summary[:99] + "…"
    kind = f"{event.type:<20}"
    if colour:
        code = next((v for k, v in _COLOURS.items() if event.type.startswith(k)), "0")
        kind = f"\x1b[{code}m{kind}\x1b[0m"
    return f"{event.version:>6}  {kind}{summary}"


async def watch(c: AvatarClient, args: argparse.Namespace) -> int:
    colour = sys.stdout.isatty() and not args.json
    seen = 0
    stream = c.avatar(args.avatar).events(from_version=args.from_version)
    async for event in stream:
        _emit(args, event, event_line(event, colour))
        seen += 1
        if args.count is not None and seen >= args.count:
            break
    return EXIT_OK


async def sessions(c: AvatarClient, args: argparse.Namespace) -> int:
    if args.action == "open":
        meta = dict(item.split("=", 1) for item in args.meta if "=" in item)
        view = await c.sessions.open(args.avatar, meta or None, args.ttl)
        _emit(
            args,
            view,
            f"{view.session_id} avatar={view.avatar_id} {view.status} expires {view.expires_at}",
        )
        return EXIT_OK
    handle = c.session(args.session)
    if args.action in ("get", "close"):
        view = await (handle.get() if args.action == "get" else handle.close())
        _emit(
            args,
            view,
            f"{view.session_id} avatar={view.avatar_id} {view.status} "
            f"markers={view.markers} lines={view.transcript_lines} v{view.version}",
        )
    elif args.action == "events":
        events, cursor = [], 1
        while True:
            page = await handle.event_page(cursor, 1000)
            events += [RecordedEvent.model_validate(e) for e in page.events]
            if page.next_from_version is None:
                break
            cursor = page.next_from_version
        if args.json:
            print(json.dumps([e.model_dump(mode="json") for e in events]))
        for e in [] if args.json else events:
            print(event_line(e, sys.stdout.isatty()))
    else:
        jobs = await c.jobs.for_session(args.session)
        _emit(
            args,
            [j.model_dump(mode="json") for j in jobs],
            "\n".join(f"{j.job_id} {j.kind} {j.status} {j.progress:.0%}" for j in jobs)
            or "no jobs",
        )
    return EXIT_OK


async def assets(c: AvatarClient, args: argparse.Namespace) -> int:
    if args.action == "upload":
        info = await c.assets.upload(args.file, name=args.name, kind=args.kind, mime=args.mime)
        _emit(
            args,
            info,
            f"{info.asset_id} {info.kind} {info.mime} {info.size} bytes "
            f"sha256={info.sha256[:12]}… {info.name}",
        )
    elif args.action == "ls":
        page = await c.assets.list(args.kind, args.offset, args.limit)
        _emit(
            args,
            page,
            "\n".join(f"{a.asset_id}  {a.kind:<9} {a.size:>10}  {a.name}" for a in page.items)
            + f"\n{len(page.items)} of {page.total}",
        )
    else:
        info = await c.assets.get(args.asset_id)
        target = args.output or Path(info.name).name
        data = await c.assets.download(args.asset_id, to=target)
        _emit(
            args,
            {**info.model_dump(mode="json"), "output": target},
            f"{info.asset_id} -> {target} ({len(data)} bytes)",
        )
    return EXIT_OK


async def status(c: AvatarClient, args: argparse.Namespace) -> int:
    s = await c.status()
    journal = s.get("journal", {})
    _emit(
        args,
        s,
        f"{s.get('status')} v{s.get('version')} up {s.get('uptime_s')} s; journal "
        f"{journal.get('url_scheme')} reachable={journal.get('reachable')}",
    )
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "speak": speak,
    "render": render,
    "video": video,
    "replay": replay,
    "watch": watch,
    "sessions": sessions,
    "assets": assets,
    "status": status,
}

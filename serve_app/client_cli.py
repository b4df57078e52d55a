"""The client subcommands of ``avatar-service`` (speak, render, video, replay, watch, sessions,
assets, status): their arguments and help. The work is in :mod:`client.cli`, imported only when
one of them runs, so ``--help`` stays quick."""

from __future__ import annotations

import argparse
import os
from typing import Any

EXIT_CODES = """\
exit codes:
  0  done
  1  an unexpected error (a bug: please report it)
  2  bad usage (arguments)
  3  not found (an unknown avatar, session, job or asset)
  4  refused by the service (invalid request, version conflict, closed session)
  5  unauthorized (missing or wrong API key)
  6  the service is unreachable or unavailable (after retries): try again later
  7  the render job failed
  130 interrupted (Ctrl-C)
"""

_COMMON = """\
Every client command takes --url (default $AVATAR_URL or http://127.0.0.1:8000), --api-key
(default $AVATAR_API_KEY) and --json (machine-readable output on stdout; errors as JSON on
stderr)."""

EXAMPLES = {
    "speak": """\
examples:
  avatar-service speak ada "Hello! Thanks for joining me." -o hello.wav
  avatar-service speak ada "Tell me about a project you led." --voice en-gb --play
  avatar-service speak ada "Hi" --json | jq .audio.url""",
    "render": """\
examples:
  avatar-service render ada -o face.png
  avatar-service render ada -o face.webp --width 1024 --height 1024 --emotion happy""",
    "video": """\
examples:
  avatar-service video --text "Hello there, welcome to the interview." -o hello.mp4
  avatar-service video --avatar ada --text "Nice to meet you." --fps 30 -o ada.mp4""",
    "replay": """\
examples:
  avatar-service replay s-0123abcd... -o session.mp4
  avatar-service replay s-0123abcd... -o session.webm --width 640 --height 480""",
    "watch": """\
examples:
  avatar-service watch ada                     # live events, one line each (Ctrl-C stops)
  avatar-service watch ada --from-version 1    # the whole history first
  avatar-service watch ada --json --count 10   # JSON lines, stop after 10 events""",
    "sessions": """\
examples:
  avatar-service sessions open --avatar ada --meta candidate=c-17
  avatar-service sessions get s-0123abcd...
  avatar-service sessions events s-0123abcd... --json
  avatar-service sessions jobs s-0123abcd...
  avatar-service sessions close s-0123abcd...""",
    "assets": """\
examples:
  avatar-service assets upload face.glb --kind model
  avatar-service assets ls --kind image
  avatar-service assets get a-0123... -o face.glb""",
    "status": """\
examples:
  avatar-service status --json""",
}

COMMANDS = tuple(EXAMPLES)

MAIN_EPILOG = f"""\
examples:
  avatar-service serve                                  # the service on http://127.0.0.1:8000
  avatar-service speak ada "Hello! Thanks for joining me." -o hello.wav
  avatar-service render ada -o face.png
  avatar-service video --text "Welcome to the interview." -o hello.mp4
  avatar-service watch ada
  avatar-service replay SESSION_ID -o session.mp4

`avatar-service COMMAND --help` shows a command's options and examples.

{EXIT_CODES}"""


def _parser(
    sub: Any, name: str, common: argparse.ArgumentParser, help_text: str
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        parents=[common],
        help=help_text,
        description=f"{help_text}.\n\n{_COMMON}",
        epilog=f"{EXAMPLES[name]}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return p


def register(sub: Any) -> None:
    """Add the client subcommands to ``avatar-service``'s subparsers."""
    # No defaults here (SUPPRESS): a nested subcommand (sessions open) would otherwise reset
    # what was given before it; run() fills them in.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    g = common.add_argument_group("service")
    g.add_argument(
        "--url", help="the service's root URL (default $AVATAR_URL or http://127.0.0.1:8000)"
    )
    g.add_argument("--api-key", help="API key or scoped token (default $AVATAR_API_KEY)")
    g.add_argument("--json", action="store_true", help="JSON output for scripts")
    g.add_argument("--timeout", type=float, help="per request, seconds (60)")
    g.add_argument(
        "--retries", type=int, help="retries of a request on connection errors, 503 and 429 (4)"
    )

    p = _parser(sub, "speak", common, "make an avatar speak (records SpeechStarted)")
    p.add_argument("avatar")
    p.add_argument("text")
    p.add_argument("--voice", help="voice or language (en-us, en-gb, de, fr+f3...)")
    p.add_argument("--rate", type=int, help="words per minute (80..450)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", help="save the speech audio (WAV) here")
    out.add_argument("--play", action="store_true", help="play it (aplay, paplay or ffplay)")

    p = _parser(sub, "render", common, "render one frame of an avatar's current state")
    p.add_argument("avatar")
    p.add_argument("-o", "--output", required=True, help="image file (.png, .jpg, .webp)")
    _picture(p)
    p.add_argument("--emotion", help="draw with this emotion instead of the current one")

    p = _parser(sub, "video", common, "render speech to a video (a job, with a progress bar)")
    p.add_argument("--text", required=True, help="what the avatar says")
    p.add_argument("--avatar", help="start from this avatar's looks and state")
    p.add_argument("--voice", help="voice or language")
    p.add_argument("-o", "--output", required=True, help="video file (.mp4, .webm, .gif)")
    _picture(p)
    p.add_argument("--fps", type=float, help="30..60 (default: the service's config)")

    p = _parser(sub, "replay", common, "rebuild a session's video from its event log")
    p.add_argument("session")
    p.add_argument("-o", "--output", required=True, help="video file (.mp4, .webm, .gif)")
    _picture(p)
    p.add_argument("--fps", type=float, help="30..60 (default: the service's config)")

    p = _parser(sub, "watch", common, "follow an avatar's events live, one line each")
    p.add_argument("avatar")
    p.add_argument("--from-version", type=int, help="start with the history from this version")
    p.add_argument("--count", type=int, help="stop after this many events")

    p = _parser(sub, "sessions", common, "open, read and close sessions")
    s = p.add_subparsers(dest="action", required=True)
    o = s.add_parser("open", parents=[common], help="open a session")
    o.add_argument("--avatar", help="avatar id (default: a new avatar)")
    o.add_argument(
        "--meta", action="append", default=[], metavar="KEY=VALUE", help="metadata (repeatable)"
    )
    o.add_argument("--ttl", type=int, help="lifetime in seconds")
    for action, text in (
        ("get", "show a session"),
        ("close", "close a session"),
        ("events", "a session's events"),
        ("jobs", "a session's render jobs"),
    ):
        s.add_parser(action, parents=[common], help=text).add_argument("session")

    p = _parser(sub, "assets", common, "upload, list and download assets")
    s = p.add_subparsers(dest="action", required=True)
    u = s.add_parser("upload", parents=[common], help="upload a file")
    u.add_argument("file")
    u.add_argument("--kind", help="model, texture, animation, audio, video, image, other")
    u.add_argument("--name", help="name (default: the file's)")
    u.add_argument("--mime", help="content type (default: from the name)")
    ls = s.add_parser("ls", parents=[common], help="list assets")
    ls.add_argument("--kind")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--offset", type=int, default=0)
    get = s.add_parser("get", parents=[common], help="download an asset")
    get.add_argument("asset_id")
    get.add_argument("-o", "--output", help="file (default: the asset's name)")

    _parser(sub, "status", common, "the service's status: journal, actors, renderers")


def _picture(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, help="pixels, 64..4096 (default: the service's config)")
    p.add_argument("--height", type=int, help="pixels, 64..4096 (default: the service's config)")


def run(args: argparse.Namespace) -> int:
    from client.cli import run as run_command  # noqa: PLC0415

    defaults = {
        "url": os.environ.get("AVATAR_URL") or "http://127.0.0.1:8000",
        "api_key": os.environ.get("AVATAR_API_KEY") or None,
        "json": False,
        "timeout": 60.0,
        "retries": 4,
    }
    for name, value in defaults.items():
        if not hasattr(args, name):
            setattr(args, name, value)

    return run_command(args)

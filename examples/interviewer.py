"""An interviewer loop on the Python client: open a session, speak three questions (waiting
for each to be said), watch the avatar's events meanwhile, close, and replay it all to an MP4.

    python examples/interviewer.py --url http://127.0.0.1:8000 -o interview.mp4

Prints one line per event as it arrives, a progress line per replay step, and at the end a
JSON summary (session, events seen, the video's facts) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from typing import Any

from client import AvatarClient, JobView, RecordedEvent

QUESTIONS = (
    "Hello, and thanks for joining me today.",
    "Tell me about a project you are proud of.",
    "What would you do differently next time?",
)


async def watch(
    c: AvatarClient, avatar_id: str, from_version: int, seen: list[RecordedEvent], utterances: int
) -> None:
    """Print the avatar's events from ``from_version`` until ``utterances`` speeches started."""
    async for event in c.avatar(avatar_id).events(from_version=from_version):
        seen.append(event)
        print(f"  event v{event.version} {event.type}", file=sys.stderr, flush=True)
        if sum(e.type == "SpeechStarted" for e in seen) >= utterances:
            return


async def interview(
    c: AvatarClient,
    questions: tuple[str, ...] | list[str],
    output: str,
    size: int = 256,
    voice: str | None = None,
) -> dict[str, Any]:
    avatar_id = f"interviewer-{uuid.uuid4().hex[:8]}"
    session = await c.sessions.open(avatar_id, metadata={"candidate": "c-17"})
    print(f"session {session.session_id} with {avatar_id}", file=sys.stderr)
    seen: list[RecordedEvent] = []
    watcher = asyncio.create_task(
        watch(c, avatar_id, session.avatar_version_start + 1, seen, len(questions))
    )
    s = c.session(session.session_id)
    await c.avatar(avatar_id).set_emotion("happy", 0.6)
    for n, question in enumerate(questions, 1):
        await s.marker(f"q{n}")
        options = {"voice": voice} if voice else {}
        said = await c.avatar(avatar_id).speak(question, **options)
        await s.transcript("avatar", question)
        await asyncio.sleep(said.duration)  # the candidate hears it out
    await asyncio.wait_for(watcher, 30)
    await s.close()

    def progress(job: JobView) -> None:
        print(f"  replay {job.status} {job.progress:.0%}", file=sys.stderr, flush=True)

    job = await s.replay(width=size, height=size, format="mp4")
    done = await c.jobs.wait(job.job_id, on_progress=progress)
    result = done.result or {}
    await c.render.download(str(result["url"]), to=output)
    return {
        "session_id": session.session_id,
        "avatar_id": avatar_id,
        "events": [e.type for e in seen],
        "job_id": done.job_id,
        "output": output,
        "video": result,
    }


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=None, help="default $AVATAR_URL or http://127.0.0.1:8000")
    p.add_argument("--api-key", default=None, help="default $AVATAR_API_KEY")
    p.add_argument("-o", "--output", default="interview.mp4")
    p.add_argument("--size", type=int, default=256, help="video width and height")
    p.add_argument("--question", action="append", help="instead of the three built-in ones")
    args = p.parse_args(argv)
    async with AvatarClient(args.url, args.api_key) as c:
        summary = await interview(c, args.question or QUESTIONS, args.output, args.size)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

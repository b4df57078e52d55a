"""The service's default voice: a tenant-wide stream of VoiceAttached / VoiceDetached events.

Written rarely and read on every speak, so there is no actor: the ingress folds the small
stream and appends with ``expected_version`` set to what it read (optimistic concurrency; a
concurrent writer makes it re-read and decide again). Durable before acknowledged, like
everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.avatar import Voice, VoiceAttached, VoiceDetached
from events.base import Event
from events.errors import VersionConflict
from events.fold import Folder, State
from events.journal import Journal
from events.replay import load_state
from events.types import NO_STREAM, Expected


class DefaultVoiceState(State):
    voice: Voice | None = None


default_voice_folder: Folder[DefaultVoiceState] = Folder(DefaultVoiceState)


@default_voice_folder.mutator(VoiceAttached)
def _attached(s: DefaultVoiceState, e: VoiceAttached, at: float) -> dict[str, Any]:
    return {"voice": e.voice}


@default_voice_folder.mutator(VoiceDetached)
def _detached(s: DefaultVoiceState, e: VoiceDetached, at: float) -> dict[str, Any]:
    return {"voice": None}


def default_voice_stream(tenant: str) -> str:
    return f"voice:{tenant}:default"


class DefaultVoice:
    """Read and change one tenant's default voice in the journal (blocking calls)."""

    def __init__(self, journal: Journal, tenant: str, attempts: int = 5) -> None:
        self.journal = journal
        self.stream = default_voice_stream(tenant)
        self.attempts = attempts

    def get(self) -> DefaultVoiceState:
        return load_state(self.journal, self.stream, default_voice_folder, use_snapshots=False)

    def attach(self, voice: Voice) -> DefaultVoiceState:
        return self._change(lambda s: [VoiceAttached(voice=voice)])

    def detach(self) -> DefaultVoiceState:
        """Detaching when nothing is attached records nothing (DELETE is idempotent)."""
        return self._change(lambda s: [VoiceDetached()] if s.voice is not None else [])

    def _change(self, decide: Callable[[DefaultVoiceState], list[Event]]) -> DefaultVoiceState:
        for attempt in range(self.attempts):
            state = self.get()
            events = decide(state)
            if not events:
                return state
            expected: Expected = state.version if state.version else NO_STREAM
            try:
                self.journal.append(self.stream, events, expected)
            except VersionConflict:
                if attempt == self.attempts - 1:
                    raise
                continue
            return self.get()
        raise AssertionError("unreachable")

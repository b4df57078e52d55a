"""The tenant's default voice (``voice:<tenant>:default``), folded from the same events an
avatar records for its own voice."""

from __future__ import annotations

from typing import Any

from events.avatar import Voice, VoiceAttached, VoiceDetached
from events.fold import Folder, State


class DefaultVoiceState(State):
    """The tenant's default voice (``voice:<tenant>:default``): VoiceAttached / VoiceDetached,
    the same events an avatar records for its own voice."""

    voice: Voice | None = None


default_voice_folder: Folder[DefaultVoiceState] = Folder(DefaultVoiceState)


@default_voice_folder.mutator(VoiceAttached)
def _default_voice_attached(s: DefaultVoiceState, e: VoiceAttached, at: float) -> dict[str, Any]:
    return {"voice": e.voice}


@default_voice_folder.mutator(VoiceDetached)
def _default_voice_detached(s: DefaultVoiceState, e: VoiceDetached, at: float) -> dict[str, Any]:
    return {"voice": None}

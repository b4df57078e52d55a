"""What ``POST /{avatar_id}/speak`` answers (the request body is
:class:`serve_app.speaking.models.SpeakRequest`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from serve_app.schemas.outputs import StoredFile


class SpeakResult(BaseModel):
    """The recorded utterance: its stored WAV, timings and lip-sync track (``visemes`` in the
    requested format)."""

    model_config = ConfigDict(extra="allow")

    avatar_id: str
    utterance_id: str
    version: int
    replayed: bool = False
    text: str
    voice: dict[str, Any]
    resolved_voice: dict[str, Any] | None = None
    audio: StoredFile | None = None
    duration: float
    duration_ms: float
    format: str
    phonemes: list[dict[str, Any]]
    words: list[dict[str, Any]]
    visemes: Any = None

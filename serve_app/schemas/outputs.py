"""What the service answers about a stored file (speech audio, a rendered frame or video)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StoredFile(BaseModel):
    """A file the service stored as an asset: where it downloads from and its checksum.

    Renders and speech add their own facts (size, frames, sample rate...), kept as extra fields.
    """

    model_config = ConfigDict(extra="allow")

    asset_id: str
    url: str = Field(description="Where the content downloads from (a path under the API).")
    sha256: str
    size: int
    mime: str
    name: str
    kind: str


class VideoResult(StoredFile):
    """``POST /render/sequence`` (response json) and a finished render job's ``result``."""

    format: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool

"""The canonical lip-sync track: a value type carried by speech events.

Standard-neutral: phones (ARPAbet without stress digits, plus ``sil``) and words, each with start
and end in milliseconds from the start of the audio. Exporters in ``media.speech`` turn it into
Oculus visemes, ARKit keyframes, Azure viseme ids, Polly speech marks and Rhubarb cues.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The longest text one utterance may hold (the seed's lip-sync limit): events, commands,
#: request bodies and the synthesiser all use this one.
MAX_TEXT_CHARS = 120_000


class TimedPhone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    phone: str = Field(description="ARPAbet phone without stress (AA, P, ...) or 'sil'.")
    start_ms: float = Field(ge=0)
    end_ms: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TimedPhone:
        if self.end_ms < self.start_ms:
            raise ValueError("end_ms must be >= start_ms")
        return self


class TimedWord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    word: str
    start_ms: float = Field(ge=0)
    end_ms: float = Field(ge=0)


class LipSyncTrack(BaseModel):
    """Phones and words of one utterance with their times, and the audio's duration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    duration_ms: float = Field(ge=0)
    phones: tuple[TimedPhone, ...] = ()
    words: tuple[TimedWord, ...] = ()

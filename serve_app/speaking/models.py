"""Speech request bodies (HTTP) and the voice settings a synthesis uses.

Length limits that deserve a 413 (text over 120,000 characters, audio over the upload limit) are
checked by the work functions, not here, so that pydantic's 422 does not swallow them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from events.avatar import Voice
from media.speech.visemes import ARPABET_PHONES, normalize_phone
from media.speech.voices import DEFAULT_VOICE

_KNOWN_PHONES = frozenset(ARPABET_PHONES) | {"sil"}

LipSyncFormat = Literal[
    "oculus", "arkit", "azure", "polly", "polly_jsonl", "rhubarb", "rhubarb_tsv"
]
AudioResponse = Literal["url", "base64", "none"]

RATE = Field(None, ge=80, le=450, description="Words per minute (default 175).")
PITCH = Field(None, ge=0, le=100, description="0..100 (default 50).")
VOLUME = Field(None, ge=0, le=200, description="0..200, 100 is normal.")
FORMAT_DOC = (
    "Lip-sync export: oculus (TalkingHead speakAudio fields, ms), arkit "
    "(blendshape keyframes), azure (viseme ids 0..21), polly / polly_jsonl (speech marks), "
    "rhubarb / rhubarb_tsv (mouth cues A-H, X)."
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VoiceChoice(_Body):
    """Voice and prosody of one synthesis; unset fields come from the avatar's voice, then the
    service's default voice, then espeak-ng's en-us."""

    voice: str | None = Field(
        None,
        validation_alias=AliasChoices("voice", "voice_id"),
        max_length=200,
        description="Voice name, identifier or language (en-us, en-gb, de, fr, es, de+f3...).",
    )
    rate: int | None = RATE
    pitch: int | None = PITCH
    volume: int | None = VOLUME

    def over(self, base: Voice | None) -> Voice:
        """These settings on top of ``base`` (a stored voice) and the built-in defaults."""
        values: dict[str, Any] = (
            base.model_dump() if base is not None else {"voice_id": DEFAULT_VOICE}
        )
        if self.voice is not None:
            values["voice_id"] = self.voice
        for name in ("rate", "pitch", "volume"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return Voice.model_validate(values)


class LipSyncRequest(VoiceChoice):
    """Text to synthesise, or client audio to analyse (exactly one of them)."""

    text: str | None = Field(None, description="Text (or SSML with ssml=true), up to 120,000.")
    ssml: bool = False
    audio_base64: str | None = Field(
        None,
        validation_alias=AliasChoices("audio_base64", "audio"),
        description="Client audio, base64: a WAV file, or raw 16-bit mono PCM with sample_rate.",
    )
    sample_rate: int | None = Field(None, ge=4000, le=192_000, description="Of raw PCM audio.")
    transcript: str | None = Field(
        None, description="What the client audio says: its phones are aligned to the audio."
    )
    format: LipSyncFormat = Field("oculus", description=FORMAT_DOC)
    audio_response: AudioResponse = Field(
        "url",
        description="How synthesised audio comes back: an asset URL (stored, with sha256), "
        "inline base64, or not at all.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LipSyncRequest:
        if (self.text is None) == (self.audio_base64 is None):
            raise ValueError("give exactly one of text or audio_base64")
        return self


class PreviewRequest(_Body):
    text: str = Field(description="Text, up to 120,000 characters.")
    voice: str | None = Field(None, validation_alias=AliasChoices("voice", "voice_id"))
    rate: int | None = RATE
    format: LipSyncFormat = Field("oculus", description=FORMAT_DOC)


class PhonemesRequest(_Body):
    text: str = Field(description="Text, up to 120,000 characters.")
    voice: str | None = Field(None, validation_alias=AliasChoices("voice", "voice_id"))
    rate: int | None = RATE
    synthesize: bool = Field(
        True,
        description="true: exact timings from espeak-ng's synthesis; false: estimated from the "
        "dictionary and phone classes, without audio.",
    )


class TimingRequest(_Body):
    phonemes: list[str] = Field(
        min_length=1, max_length=200_000, description="ARPAbet phones (stress digits allowed)."
    )
    duration_ms: float | None = Field(None, gt=0, le=24 * 3600 * 1000)
    duration: float | None = Field(None, gt=0, le=24 * 3600, description="Seconds.")

    @field_validator("phonemes")
    @classmethod
    def _known(cls, phones: list[str]) -> list[str]:
        unknown = sorted({p for p in phones if normalize_phone(p) not in _KNOWN_PHONES})
        if unknown:
            raise ValueError(f"not ARPAbet phones: {unknown[:10]} (GET /visemes lists them)")
        return phones

    @model_validator(mode="after")
    def _one_duration(self) -> TimingRequest:
        if (self.duration_ms is None) == (self.duration is None):
            raise ValueError("give exactly one of duration_ms or duration (seconds)")
        return self

    @property
    def total_ms(self) -> float:
        return (
            self.duration_ms if self.duration_ms is not None else float(self.duration or 0) * 1000
        )


class SpeakRequest(VoiceChoice):
    text: str = Field(description="Text (or SSML with ssml=true), up to 120,000 characters.")
    ssml: bool = False
    format: LipSyncFormat = Field("oculus", description=FORMAT_DOC)


class VoiceAttachRequest(VoiceChoice):
    """A voice to attach: ``voice`` (or ``voice_id``) is required here."""

    @model_validator(mode="after")
    def _voice_given(self) -> VoiceAttachRequest:
        if not self.voice:
            raise ValueError("voice (or voice_id) is required")
        return self

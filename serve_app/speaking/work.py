"""What a Speech replica does: synthesis, lip-sync from text or audio, phonemes, timing.

Plain functions over :mod:`media.speech` (no Ray, no HTTP), so unit tests drive them directly.
Errors of the speech layer become :class:`SpeechFailure` with a stable code; the ingress's one
table (``serve_app.errors.STATUS_BY_CODE``) gives each its HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from events.avatar import Voice
from events.speech import MAX_TEXT_CHARS, LipSyncTrack
from media.speech import (
    DEFAULT_VOICE,
    EngineUnavailable,
    InvalidSpeechInput,
    Speech,
    SpeechError,
    TextTooLong,
    UnknownVoice,
    align_phones,
    export,
    lipsync_audio,
    list_variants,
    list_voices,
    resolve_voice,
    synthesize,
    text_track,
)
from serve_app.errors import Failure
from serve_app.rendering.outputs import OutputStore
from serve_app.speaking.models import (
    LipSyncRequest,
    PhonemesRequest,
    PreviewRequest,
    TimingRequest,
)


class SpeechFailure(Failure):
    """A request the speech layer refused or could not serve, with its stable code.

    Raised in the ingress too (:func:`check_text`), where the error handlers answer it;
    replicas send :meth:`to_json` back.
    """


def failure(e: SpeechError) -> SpeechFailure:
    """The code of a speech-layer error."""
    match e:
        case TextTooLong():
            return SpeechFailure("text_too_long", str(e))
        case UnknownVoice():
            return SpeechFailure("unknown_voice", str(e))
        case InvalidSpeechInput():
            return SpeechFailure("invalid_speech_input", str(e))
        case EngineUnavailable():
            return SpeechFailure("speech_engine_unavailable", str(e))
    return SpeechFailure("synthesis_failed", str(e))


def check_text(text: str) -> str:
    """``text_too_long`` beyond the limit, ``empty_text`` when there is nothing to say."""
    if len(text) > MAX_TEXT_CHARS:
        raise SpeechFailure(
            "text_too_long", f"text has {len(text)} characters; the limit is {MAX_TEXT_CHARS}"
        )
    if not text.strip():
        raise SpeechFailure("empty_text", "text is empty")
    return text


def voices() -> dict[str, Any]:
    """The voices espeak-ng offers, their variants, and the built-in default."""
    return {
        "default": DEFAULT_VOICE,
        "voices": [v.as_dict() for v in list_voices()],
        "variants": [v.as_dict() for v in list_variants()],
    }


def describe_voice(voice_id: str) -> dict[str, Any]:
    """The installed voice ``voice_id`` resolves to; 422 naming the voice list when none."""
    try:
        return resolve_voice(voice_id).as_dict()
    except SpeechError as e:
        raise failure(e) from e


def track_payload(track: LipSyncTrack, fmt: str) -> dict[str, Any]:
    """The canonical track (phones and words, ms) and its export in ``fmt``."""
    try:
        visemes = export(track, fmt)
    except SpeechError as e:
        raise failure(e) from e
    return {
        "duration": round(track.duration_ms / 1000.0, 4),
        "duration_ms": track.duration_ms,
        "format": fmt,
        "phonemes": [p.model_dump() for p in track.phones],
        "words": [w.model_dump() for w in track.words],
        "visemes": visemes,
    }


def speak_text(text: str, voice: Voice, ssml: bool = False) -> Speech:
    check_text(text)
    try:
        return synthesize(
            text, voice.voice_id, rate=voice.rate, pitch=voice.pitch, volume=voice.volume, ssml=ssml
        )
    except SpeechError as e:
        raise failure(e) from e


def decode_audio(data: str, limit: int) -> bytes:
    if len(data) * 3 // 4 > limit:
        raise SpeechFailure("audio_too_large", f"audio over {limit} bytes")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise SpeechFailure("invalid_audio", f"audio_base64 is not base64: {e}") from e


class SpeechWorker:
    """The work of one Speech replica; audio it makes goes to ``outputs``."""

    def __init__(self, outputs: OutputStore, max_audio_bytes: int) -> None:
        self.outputs = outputs
        self.max_audio_bytes = max_audio_bytes

    def store_audio(self, speech: Speech, name: str) -> dict[str, Any]:
        stored = self.outputs.put_bytes(
            speech.wav_bytes(), name=f"{name}.wav", kind="audio", mime="audio/wav"
        )
        return {**stored.to_json(), "sample_rate": speech.sample_rate}

    def audio_out(self, speech: Speech, how: str, name: str) -> dict[str, Any] | None:
        if how == "url":
            return self.store_audio(speech, name)
        if how == "base64":
            return {
                "mime": "audio/wav",
                "sample_rate": speech.sample_rate,
                "base64": base64.b64encode(speech.wav_bytes()).decode("ascii"),
            }
        return None

    def lipsync(self, req: LipSyncRequest, voice: Voice) -> dict[str, Any]:
        """From text: real audio and its track. From client audio: a track estimated from it."""
        if req.text is not None:
            speech = speak_text(req.text, voice, req.ssml)
            name = "speech-" + hashlib.sha256(req.text.encode()).hexdigest()[:16]
            return {
                "source": "text",
                "voice": speech.voice.as_dict(),
                **track_payload(speech.track, req.format),
                "audio": self.audio_out(speech, req.audio_response, name),
            }
        data = decode_audio(req.audio_base64 or "", self.max_audio_bytes)
        if req.transcript is not None and len(req.transcript) > MAX_TEXT_CHARS:
            check_text(req.transcript)
        try:
            track = lipsync_audio(data, req.sample_rate, req.transcript, voice.voice_id)
        except SpeechError as e:
            raise failure(e) from e
        return {"source": "audio", "voice": None, **track_payload(track, req.format), "audio": None}

    def lipsync_upload(
        self, data: bytes, sample_rate: int | None, transcript: str | None, voice: Voice, fmt: str
    ) -> dict[str, Any]:
        """Lip-sync for an uploaded audio file (multipart or raw body)."""
        if len(data) > self.max_audio_bytes:
            raise SpeechFailure("audio_too_large", f"audio over {self.max_audio_bytes} bytes")
        if transcript is not None:
            check_text(transcript)
        try:
            track = lipsync_audio(data, sample_rate, transcript, voice.voice_id)
        except SpeechError as e:
            raise failure(e) from e
        return {"source": "audio", "voice": None, **track_payload(track, fmt), "audio": None}

    def preview(self, req: PreviewRequest) -> dict[str, Any]:
        """Visemes estimated from the text alone: no audio, no synthesis."""
        check_text(req.text)
        try:
            track = text_track(
                req.text, req.voice or DEFAULT_VOICE, synthesize_audio=False, rate=req.rate or 175
            )
        except SpeechError as e:
            raise failure(e) from e
        payload = track_payload(track, req.format)
        return {k: payload[k] for k in ("duration", "duration_ms", "format", "visemes")}

    def phonemes(self, req: PhonemesRequest) -> dict[str, Any]:
        check_text(req.text)
        try:
            track = text_track(
                req.text,
                req.voice or DEFAULT_VOICE,
                synthesize_audio=req.synthesize,
                rate=req.rate or 175,
            )
        except SpeechError as e:
            raise failure(e) from e
        return {
            "source": "tts" if req.synthesize else "estimate",
            "duration_ms": track.duration_ms,
            "phonemes": [p.model_dump() for p in track.phones],
            "words": [w.model_dump() for w in track.words],
        }

    def timing(self, req: TimingRequest) -> dict[str, Any]:
        """Given phones spread over a duration by phone class (vowels longer than stops)."""
        track = align_phones(req.phonemes, req.total_ms)
        return {
            "duration_ms": track.duration_ms,
            "phonemes": [p.model_dump() for p in track.phones],
        }

    def speak(self, text: str, voice: Voice, ssml: bool, fmt: str, name: str) -> dict[str, Any]:
        """Synthesise and store the audio; what the SpeechStarted event and the client need."""
        speech = speak_text(text, voice, ssml)
        return {
            "voice": speech.voice.as_dict(),
            "track": speech.track.model_dump(mode="json"),
            **track_payload(speech.track, fmt),
            "audio": self.store_audio(speech, name),
        }

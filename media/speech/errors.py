"""The errors of the speech layer.

::

    SpeechError                  anything that went wrong in media.speech
    ├── EngineUnavailable        libespeak-ng could not be loaded or initialised
    ├── SynthesisFailed          espeak-ng returned an error while speaking or phonemising
    ├── UnknownVoice             (also LookupError) no voice matches; names where the list is
    └── InvalidSpeechInput       (also ValueError) bad text, parameter or audio from the caller
        └── TextTooLong          more text than one utterance may hold (HTTP 413)

Foreign errors (ctypes, OSError, wave) are translated here, at the edge, with ``from e``, so
callers map one small tree to HTTP statuses.
"""

from __future__ import annotations

VOICE_LIST_HINT = "GET /api/v1/avatars/voices or media.speech.list_voices()"


class SpeechError(Exception):
    """Base of every error raised by ``media.speech``."""


class EngineUnavailable(SpeechError):
    """The espeak-ng library or its data could not be loaded or initialised."""


class SynthesisFailed(SpeechError):
    """espeak-ng reported an error code while synthesising or phonemising."""

    def __init__(self, operation: str, code: int) -> None:
        super().__init__(f"espeak-ng {operation} failed with error code {code}")
        self.operation = operation
        self.code = code


class UnknownVoice(SpeechError, LookupError):
    """No installed voice matches the requested name, identifier or language."""

    def __init__(self, voice: str) -> None:
        super().__init__(
            f"unknown voice {voice!r}; the available voices are listed by {VOICE_LIST_HINT}"
        )
        self.voice = voice


class InvalidSpeechInput(SpeechError, ValueError):
    """The caller passed text, a parameter or audio that the speech layer cannot use."""


class TextTooLong(InvalidSpeechInput):
    """The text exceeds the length one synthesis or estimate accepts."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"text has {length} characters; the limit is {limit}")
        self.length = length
        self.limit = limit

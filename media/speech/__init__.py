"""Speech: TTS, phonemes, the lip-sync track and its exporters.

Pure functions over :class:`events.speech.LipSyncTrack`; no Ray, no HTTP. Modules, bottom up:
``errors``; ``visemes`` (viseme sets and phone tables); ``espeak`` (the ctypes binding, one
lock per process); ``voices``; ``ipa`` (espeak IPA -> ARPAbet); ``normalize`` and ``phonemes``
(CMU dictionary + espeak fallback); ``timing`` (durations by phone class); ``tts``;
``audio`` (WAV/PCM); ``arkit`` (blendshape curves with coarticulation); ``exporters``;
``audio_lipsync`` (tracks from client audio).
"""

from media.speech.arkit import arkit_weights, to_arkit
from media.speech.audio_lipsync import lipsync_audio, lipsync_samples
from media.speech.errors import (
    EngineUnavailable,
    InvalidSpeechInput,
    SpeechError,
    SynthesisFailed,
    TextTooLong,
    UnknownVoice,
)
from media.speech.exporters import (
    FORMATS,
    export,
    to_azure,
    to_oculus,
    to_polly,
    to_polly_jsonl,
    to_rhubarb,
    to_rhubarb_tsv,
)
from media.speech.normalize import normalize_text
from media.speech.phonemes import PhonemizedWord, cmu_lookup, phonemize
from media.speech.timing import align_phones, estimate_track
from media.speech.tts import Speech, synthesize, text_track
from media.speech.visemes import OCULUS_VISEMES, phone_to_oculus, viseme_sets
from media.speech.voices import DEFAULT_VOICE, Voice, list_variants, list_voices, resolve_voice

__all__ = [
    "DEFAULT_VOICE",
    "FORMATS",
    "OCULUS_VISEMES",
    "EngineUnavailable",
    "InvalidSpeechInput",
    "PhonemizedWord",
    "Speech",
    "SpeechError",
    "SynthesisFailed",
    "TextTooLong",
    "UnknownVoice",
    "Voice",
    "align_phones",
    "arkit_weights",
    "cmu_lookup",
    "estimate_track",
    "export",
    "lipsync_audio",
    "lipsync_samples",
    "list_variants",
    "list_voices",
    "normalize_text",
    "phone_to_oculus",
    "phonemize",
    "resolve_voice",
    "synthesize",
    "text_track",
    "to_arkit",
    "to_azure",
    "to_oculus",
    "to_polly",
    "to_polly_jsonl",
    "to_rhubarb",
    "to_rhubarb_tsv",
    "viseme_sets",
]

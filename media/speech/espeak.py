"""The ctypes binding to libespeak-ng from the ``espeakng-loader`` wheel.

libespeak-ng is one global state machine and is not thread-safe (concurrent calls corrupted
audio or crashed in a probe here), so every call into it goes through :data:`ENGINE`, which holds
one process-wide lock and initialises the library lazily, once. Nothing above this module
touches ctypes. Phoneme events are requested in IPA, which is the same alphabet for every
language, so one IPA -> ARPAbet table (:mod:`media.speech.ipa`) serves all voices.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from media.speech.errors import EngineUnavailable, InvalidSpeechInput, SynthesisFailed

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_INITIALIZE_PHONEME_EVENTS: Final = 0x0001
_INITIALIZE_PHONEME_IPA: Final = 0x0002
_INITIALIZE_DONT_EXIT: Final = 0x8000  # return an error instead of exit() on missing data
_CHARS_UTF8: Final = 0x1
_SSML: Final = 0x10
_ENDPAUSE: Final = 0x1000
_POS_CHARACTER: Final = 1
_EE_OK: Final = 0
_PHONEMES_IPA: Final = 0x02
_VARIANT_LANGUAGE: Final = ctypes.create_string_buffer(b"variant")  # ListVoices filter


class Param(IntEnum):
    """espeak_PARAMETER ids used here."""

    RATE = 1  # words per minute, 80..450
    VOLUME = 2  # 0..200, 100 = normal
    PITCH = 3  # 0..100, 50 = normal
    RANGE = 4  # pitch range 0..100


class EventType(IntEnum):
    """espeak_EVENT_TYPE."""

    LIST_TERMINATED = 0
    WORD = 1
    SENTENCE = 2
    MARK = 3
    PLAY = 4
    END = 5
    MSG_TERMINATED = 6
    PHONEME = 7
    SAMPLERATE = 8


_KNOWN_EVENTS: Final = frozenset(int(t) for t in EventType)


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_void_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One espeak event, decoded: times in samples of the output, positions in characters."""

    kind: EventType
    text_position: int  # 1-based character index into the text that was spoken
    length: int  # characters of the word (WORD events)
    sample: int  # sample index in the output where the event happens
    phoneme: str = ""  # IPA of the phoneme (PHONEME events); "" for a pause
    mark: str = ""  # SSML <mark name> (MARK events)


@dataclass(frozen=True, slots=True)
class RawVoice:
    """An entry of ``espeak_ListVoices``: (priority, language) pairs, best (lowest) first."""

    name: str
    identifier: str
    languages: tuple[tuple[int, str], ...]
    gender: int  # 0 unknown, 1 male, 2 female
    age: int


@dataclass(frozen=True, slots=True)
class RawSynthesis:
    """What one ``espeak_Synth`` call produced."""

    pcm: bytes  # 16-bit little-endian mono
    sample_rate: int
    events: tuple[RawEvent, ...]


def _c_str(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _languages(address: int | None) -> tuple[tuple[int, str], ...]:
    """Decode espeak's ``languages`` field: (priority byte, NUL-terminated name)*, then 0."""
    if not address:
        return ()
    out: list[tuple[int, str]] = []
    while True:
        priority = ctypes.string_at(address, 1)[0]
        if priority == 0:
            break
        name = ctypes.string_at(address + 1)
        out.append((priority, name.decode("ascii", "replace")))
        address += len(name) + 2
    return tuple(sorted(out, key=lambda pair: pair[0]))


def _load_library() -> tuple[ctypes.CDLL, str]:
    """The library and the folder holding ``espeak-ng-data``, from the espeakng-loader wheel."""
    try:
        import espeakng_loader  # noqa: PLC0415 - optional until speech is first used

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_dir = os.path.dirname(espeakng_loader.get_data_path())
    except (ImportError, OSError, RuntimeError) as e:
        raise EngineUnavailable(f"libespeak-ng could not be loaded: {e}") from e
    int_, uint, ptr = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
    lib.espeak_Initialize.argtypes = [int_, int_, ctypes.c_char_p, int_]
    lib.espeak_Initialize.restype = int_
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_Synth.argtypes = [
        ptr,
        ctypes.c_size_t,
        uint,
        int_,
        uint,
        uint,
        ctypes.POINTER(uint),
        ptr,
    ]
    lib.espeak_Synth.restype = int_
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = int_
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = int_
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_SetParameter.argtypes = [int_, int_, int_]
    lib.espeak_SetParameter.restype = int_
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ptr), int_, int_]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    return lib, data_dir


class Espeak:
    """The one espeak-ng engine of this process. Every method takes :attr:`lock`."""

    def __init__(self, loader: Callable[[], tuple[ctypes.CDLL, str]] = _load_library) -> None:
        self.lock = threading.Lock()
        self._loader = loader
        self._lib: ctypes.CDLL | None = None
        self._sample_rate = 0
        self._voice_spec = ""
        self._pcm: list[bytes] = []
        self._events: list[RawEvent] = []
        self._callback_error: BaseException | None = None
        # Kept referenced for the life of the process: libespeak-ng holds the raw pointer.
        self._callback = _SynthCallback(self._on_synth)
        self._voices: tuple[RawVoice, ...] | None = None
        self._variants: tuple[RawVoice, ...] | None = None

    # -- life cycle ------------------------------------------------------------------------

    def _ready(self) -> ctypes.CDLL:
        """The initialised library; call with the lock held."""
        if self._lib is None:
            lib, data_dir = self._loader()
            options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_dir.encode(), options)
            if rate <= 0:
                raise EngineUnavailable(f"espeak_Initialize failed ({rate}); data in {data_dir}")
            lib.espeak_SetSynthCallback(self._callback)
            self._lib, self._sample_rate = lib, rate
        return self._lib

    def _reset_after_fork(self) -> None:
        # A lock held by another thread at fork time would never be released in the child.
        self.lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        with self.lock:
            self._ready()
            return self._sample_rate

    # -- voices ----------------------------------------------------------------------------

    def _list(self, spec: _Voice | None) -> tuple[RawVoice, ...]:
        lib = self._ready()
        array = lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
        voices: list[RawVoice] = []
        i = 0
        while array[i]:
            v = array[i].contents
            voices.append(
                RawVoice(
                    _c_str(v.name),
                    _c_str(v.identifier),
                    _languages(v.languages),
                    int(v.gender),
                    int(v.age),
                )
            )
            i += 1
        return tuple(voices)

    def voices(self) -> tuple[RawVoice, ...]:
        """The language voices (141 in espeak-ng 1.52), cached."""
        with self.lock:
            if self._voices is None:
                self._voices = self._list(None)
            return self._voices

    def variants(self) -> tuple[RawVoice, ...]:
        """The voice variants (``!v/f3``...), which change timbre and gender of any voice."""
        with self.lock:
            if self._variants is None:
                spec = _Voice()
                spec.languages = ctypes.addressof(_VARIANT_LANGUAGE)
                self._variants = self._list(spec)
            return self._variants

    def _select(self, lib: ctypes.CDLL, voice_spec: str) -> None:
        """Load ``voice_spec`` (an identifier, optionally ``+variant``); lock held."""
        if voice_spec == self._voice_spec:
            return
        code = lib.espeak_SetVoiceByName(voice_spec.encode())
        if code != _EE_OK:
            raise SynthesisFailed(f"SetVoiceByName({voice_spec!r})", code)
        self._voice_spec = voice_spec

    @staticmethod
    def _set_params(lib: ctypes.CDLL, params: dict[Param, int]) -> None:
        for param, value in params.items():
            code = lib.espeak_SetParameter(int(param), value, 0)
            if code != _EE_OK:
                raise SynthesisFailed(f"SetParameter({param.name}={value})", code)

    # -- synthesis -------------------------------------------------------------------------

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        """espeak's callback: copy audio and events out before espeak reuses its buffers."""
        try:
            if count > 0:
                self._pcm.append(ctypes.string_at(wav, count * 2))
            i = 0
            while events[i].type != EventType.LIST_TERMINATED:
                if events[i].type in _KNOWN_EVENTS:
                    self._events.append(self._decode(events[i]))
                i += 1
        except BaseException as e:  # never unwind through C
            self._callback_error = e
            return 1  # abort synthesis
        return 0

    @staticmethod
    def _decode(ev: _Event) -> RawEvent:
        kind = EventType(ev.type)
        phoneme = mark = ""
        if kind == EventType.PHONEME:
            phoneme = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "ignore")
        elif kind == EventType.MARK and ev.id.name:
            mark = _c_str(ctypes.string_at(ev.id.name))
        return RawEvent(kind, ev.text_position, ev.length, ev.sample, phoneme, mark)

    def synthesize(
        self, text: str, voice_spec: str, params: dict[Param, int], ssml: bool = False
    ) -> RawSynthesis:
        """Speak ``text`` with a resolved voice; return all audio and events of the call."""
        data = text.encode("utf-8")
        if b"\0" in data:
            raise InvalidSpeechInput("text contains a NUL character")
        buffer = ctypes.create_string_buffer(data)
        flags = _CHARS_UTF8 | _ENDPAUSE | (_SSML if ssml else 0)
        with self.lock:
            lib = self._ready()
            self._select(lib, voice_spec)
            self._set_params(lib, params)
            self._pcm, self._events, self._callback_error = [], [], None
            try:
                code = lib.espeak_Synth(
                    buffer, len(data) + 1, 0, _POS_CHARACTER, 0, flags, None, None
                )
                sync = lib.espeak_Synchronize()
                pcm, events, error = b"".join(self._pcm), tuple(self._events), self._callback_error
            finally:
                self._pcm, self._events, self._callback_error = [], [], None
                if ssml:  # <voice> tags may have switched voices inside espeak
                    self._voice_spec = ""
            if error is not None:
                raise SynthesisFailed("synth callback", -1) from error
            if code != _EE_OK or sync != _EE_OK:
                raise SynthesisFailed("Synth", code or sync)
            return RawSynthesis(pcm, self._sample_rate, events)

    def text_to_ipa(self, text: str, voice_spec: str) -> list[list[str]]:
        """Phonemise ``text`` without audio: words, each a list of IPA phonemes."""
        data = text.encode("utf-8")
        if b"\0" in data:
            raise InvalidSpeechInput("text contains a NUL character")
        buffer = ctypes.create_string_buffer(data)
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        mode = _PHONEMES_IPA | (ord("_") << 8)  # IPA, phonemes separated by "_"
        words: list[list[str]] = []
        with self.lock:
            lib = self._ready()
            self._select(lib, voice_spec)
            while pointer.value:
                out = lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
                if out is None:
                    break
                for word in out.decode("utf-8", "replace").split():
                    phones = [p for p in word.split("_") if p]
                    if phones:
                        words.append(phones)
        return words


ENGINE: Final = Espeak()
os.register_at_fork(after_in_child=ENGINE._reset_after_fork)

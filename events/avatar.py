"""The avatar stream: its events, its state, and the mutators that fold one into the other."""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.base import Event
from events.fold import Folder, State
from events.speech import LipSyncTrack

Emotion = Literal[
    "neutral",
    "happy",
    "sad",
    "surprised",
    "angry",
    "fearful",
    "disgusted",
    "confused",
    "thoughtful",
    "professional",
]
EMOTIONS: tuple[str, ...] = typing.get_args(Emotion)

# The bounds of emotions and animations, for events, commands and request bodies alike.
Intensity = Annotated[float, Field(ge=0, le=1, description="0 (none) to 1 (full)")]
TransitionMs = Annotated[int, Field(ge=0, le=10_000, description="Blend time in ms")]
AnimationMs = Annotated[int, Field(ge=50, le=60_000, description="Length of one play in ms")]

AnimationName = Literal[
    "nod",
    "shake",
    "tilt",
    "look_around",
    "eyebrow_raise",
    "smile",
    "think",
    "wink",
    "blink",
]
ANIMATIONS: tuple[str, ...] = typing.get_args(AnimationName)

HexColor = str  # validated by the pattern on each field
_HEX = r"^#[0-9a-fA-F]{6}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Traits(_Frozen):
    """How an avatar looks. Every field is validated; unknown traits are refused."""

    skin_tone: str = Field("#e0ac69", pattern=_HEX, description="Skin colour, #rrggbb.")
    hair_style: Literal["short", "long", "bob", "curly", "bun", "ponytail", "bald"] = "short"
    hair_color: str = Field("#3b2a1a", pattern=_HEX)
    eye_color: str = Field("#4a6fa5", pattern=_HEX)
    outfit: Literal["blazer", "shirt", "hoodie", "sweater", "tshirt"] = "blazer"
    outfit_color: str = Field("#2f3e5c", pattern=_HEX)
    background: str = Field("#dfe7ef", pattern=_HEX, description="Background colour, #rrggbb.")
    glasses: Literal["none", "round", "square"] = "none"
    accessories: tuple[Literal["earrings", "headset", "beard", "freckles"], ...] = ()


class FaceState(_Frozen):
    """Directly settable face fields (``StatePatched``). Angles in degrees, gaze in -1..1."""

    gaze_x: float = Field(0.0, ge=-1, le=1, description="Gaze, -1 left .. 1 right.")
    gaze_y: float = Field(0.0, ge=-1, le=1, description="Gaze, -1 down .. 1 up.")
    head_yaw: float = Field(0.0, ge=-45, le=45)
    head_pitch: float = Field(0.0, ge=-30, le=30)
    head_roll: float = Field(0.0, ge=-30, le=30)
    idle: bool = Field(True, description="Idle motion (breathing, micro head moves) on/off.")
    blink: bool = Field(True, description="Automatic blinking on/off.")
    eyes_closed: bool = False
    mouth_open: float = Field(0.0, ge=0, le=1, description="Mouth opening outside speech.")
    listening: bool = False


class StatePatch(_Frozen):
    """A partial :class:`FaceState`; only the fields given change."""

    gaze_x: float | None = Field(None, ge=-1, le=1)
    gaze_y: float | None = Field(None, ge=-1, le=1)
    head_yaw: float | None = Field(None, ge=-45, le=45)
    head_pitch: float | None = Field(None, ge=-30, le=30)
    head_roll: float | None = Field(None, ge=-30, le=30)
    idle: bool | None = None
    blink: bool | None = None
    eyes_closed: bool | None = None
    mouth_open: float | None = Field(None, ge=0, le=1)
    listening: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Voice(_Frozen):
    voice_id: str
    rate: int = Field(175, ge=80, le=450, description="Words per minute.")
    pitch: int = Field(50, ge=0, le=100)
    volume: int = Field(100, ge=0, le=200)


class EmotionState(_Frozen):
    emotion: Emotion = "neutral"
    intensity: Intensity = 0.5
    transition_ms: TransitionMs = 300


class AnimationState(_Frozen):
    name: AnimationName
    loop: bool = False
    duration_ms: AnimationMs = 1000
    intensity: Intensity = 1.0
    started_at: float | None = None


class SpeechState(_Frozen):
    utterance_id: str
    text: str
    voice_id: str
    audio_asset_id: str | None = None
    duration_ms: float
    started_at: float | None = None
    interrupted_at_ms: float | None = None


# ---------------------------------------------------------------------------- events


class AvatarCreated(Event):
    type: Literal["AvatarCreated"] = "AvatarCreated"
    avatar_id: str
    tenant: str
    name: str | None = None


class Customized(Event):
    type: Literal["Customized"] = "Customized"
    traits: Traits
    preset_id: str | None = None


class ModelSelected(Event):
    type: Literal["ModelSelected"] = "ModelSelected"
    model_id: str


class VoiceAttached(Event):
    type: Literal["VoiceAttached"] = "VoiceAttached"
    voice: Voice


class VoiceDetached(Event):
    type: Literal["VoiceDetached"] = "VoiceDetached"


class EmotionSet(Event):
    type: Literal["EmotionSet"] = "EmotionSet"
    emotion: Emotion
    intensity: Intensity = 0.5
    transition_ms: TransitionMs = 300


class StatePatched(Event):
    type: Literal["StatePatched"] = "StatePatched"
    patch: StatePatch


class AnimationTriggered(Event):
    type: Literal["AnimationTriggered"] = "AnimationTriggered"
    name: AnimationName
    loop: bool = False
    duration_ms: AnimationMs = 1000
    intensity: Intensity = 1.0


class SpeechStarted(Event):
    type: Literal["SpeechStarted"] = "SpeechStarted"
    utterance_id: str
    text: str
    voice_id: str
    audio_asset_id: str | None = None
    duration_ms: float = Field(ge=0)
    track: LipSyncTrack


class SpeechInterrupted(Event):
    type: Literal["SpeechInterrupted"] = "SpeechInterrupted"
    utterance_id: str
    at_ms: float = Field(ge=0)


class SnapshotTaken(Event):
    type: Literal["SnapshotTaken"] = "SnapshotTaken"
    asset_id: str
    width: int
    height: int


# ---------------------------------------------------------------------------- state


class AvatarState(State):
    """Current state of one avatar, the fold of its stream."""

    schema_version: ClassVar[int] = 1

    avatar_id: str = ""
    tenant: str = ""
    name: str | None = None
    created_at: float | None = None
    traits: Traits = Traits()
    preset_id: str | None = None
    model_id: str = "classic"
    voice: Voice | None = None
    emotion: EmotionState = EmotionState()
    face: FaceState = FaceState()
    animation: AnimationState | None = None
    speech: SpeechState | None = None
    last_snapshot_asset_id: str | None = None


avatar_folder: Folder[AvatarState] = Folder(AvatarState)
on = avatar_folder.mutator


@on(AvatarCreated)
def _created(s: AvatarState, e: AvatarCreated, at: float) -> dict[str, Any]:
    return {"avatar_id": e.avatar_id, "tenant": e.tenant, "name": e.name, "created_at": at}


@on(Customized)
def _customized(s: AvatarState, e: Customized, at: float) -> dict[str, Any]:
    return {"traits": e.traits, "preset_id": e.preset_id}


@on(ModelSelected)
def _model(s: AvatarState, e: ModelSelected, at: float) -> dict[str, Any]:
    return {"model_id": e.model_id}


@on(VoiceAttached)
def _voice(s: AvatarState, e: VoiceAttached, at: float) -> dict[str, Any]:
    return {"voice": e.voice}


@on(VoiceDetached)
def _voice_off(s: AvatarState, e: VoiceDetached, at: float) -> dict[str, Any]:
    return {"voice": None}


@functools.lru_cache(maxsize=4096)
def _emotion_state(emotion: Emotion, intensity: float, transition_ms: int) -> EmotionState:
    """Flyweight: emotion states are immutable and repeat a lot, so replay shares them."""
    return EmotionState(emotion=emotion, intensity=intensity, transition_ms=transition_ms)


@on(EmotionSet)
def _emotion(s: AvatarState, e: EmotionSet, at: float) -> dict[str, Any]:
    return {"emotion": _emotion_state(e.emotion, e.intensity, e.transition_ms)}


@on(StatePatched)
def _patched(s: AvatarState, e: StatePatched, at: float) -> dict[str, Any]:
    return {"face": s.face.model_copy(update=e.patch.changes())}


@on(AnimationTriggered)
def _animation(s: AvatarState, e: AnimationTriggered, at: float) -> dict[str, Any]:
    return {
        "animation": AnimationState(
            name=e.name,
            loop=e.loop,
            duration_ms=e.duration_ms,
            intensity=e.intensity,
            started_at=at,
        )
    }


@on(SpeechStarted)
def _speech(s: AvatarState, e: SpeechStarted, at: float) -> dict[str, Any]:
    return {
        "speech": SpeechState(
            utterance_id=e.utterance_id,
            text=e.text,
            voice_id=e.voice_id,
            audio_asset_id=e.audio_asset_id,
            duration_ms=e.duration_ms,
            started_at=at,
        )
    }


@on(SpeechInterrupted)
def _interrupted(s: AvatarState, e: SpeechInterrupted, at: float) -> dict[str, Any]:
    if s.speech is None or s.speech.utterance_id != e.utterance_id:
        return {}
    return {"speech": s.speech.model_copy(update={"interrupted_at_ms": e.at_ms})}


@on(SnapshotTaken)
def _snapshot(s: AvatarState, e: SnapshotTaken, at: float) -> dict[str, Any]:
    return {"last_snapshot_asset_id": e.asset_id}

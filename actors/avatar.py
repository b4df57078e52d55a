"""The avatar entity's decisions."""

from __future__ import annotations

from pydantic import BaseModel

from actors.aggregate import Aggregate, Context
from actors.commands import (
    AttachVoice,
    Customize,
    DetachVoice,
    InterruptSpeech,
    PatchEmotion,
    PatchState,
    SelectModel,
    SetEmotion,
    StartSpeech,
    TakeSnapshot,
    Touch,
    TriggerAnimation,
)
from actors.errors import Conflict, EntityError
from actors.traits import merge_traits
from events.avatar import (
    AnimationTriggered,
    AvatarCreated,
    AvatarState,
    Customized,
    EmotionSet,
    ModelSelected,
    SnapshotTaken,
    SpeechInterrupted,
    SpeechStarted,
    StatePatched,
    VoiceAttached,
    VoiceDetached,
    avatar_folder,
)
from events.base import Event


class AvatarAggregate(Aggregate[AvatarState]):
    kind = "avatar"
    folder = avatar_folder

    def decide(self, state: AvatarState, command: BaseModel, ctx: Context) -> list[Event]:
        events: list[Event] = []
        if state.version == 0:  # created on first use, and recorded
            events.append(AvatarCreated(avatar_id=ctx.entity_id, tenant=ctx.tenant))
        match command:
            case Touch():
                pass
            case SetEmotion(emotion=emotion, intensity=intensity, transition_ms=ms):
                events.append(EmotionSet(emotion=emotion, intensity=intensity, transition_ms=ms))
            case PatchEmotion():
                now = state.emotion
                events.append(
                    EmotionSet(
                        emotion=now.emotion if command.emotion is None else command.emotion,
                        intensity=now.intensity if command.intensity is None else command.intensity,
                        transition_ms=now.transition_ms
                        if command.transition_ms is None
                        else command.transition_ms,
                    )
                )
            case PatchState(state=patch):
                if not patch.changes():
                    raise EntityError("the patch changes nothing")
                events.append(StatePatched(patch=patch))
            case TriggerAnimation():
                events.append(
                    AnimationTriggered(
                        name=command.name,
                        loop=command.loop,
                        duration_ms=command.duration_ms,
                        intensity=command.intensity,
                    )
                )
            case TakeSnapshot(asset_id=asset_id, width=width, height=height):
                events.append(SnapshotTaken(asset_id=asset_id, width=width, height=height))
            case Customize(changes=changes, base=base, preset_id=preset_id):
                if base is None:  # over its own looks, keeping the preset it came from
                    base, preset_id = state.traits, state.preset_id
                try:
                    traits = merge_traits(base, changes)
                except ValueError as e:
                    raise EntityError(f"bad traits: {e}") from e
                events.append(Customized(traits=traits, preset_id=preset_id))
            case SelectModel(model_id=model_id):
                events.append(ModelSelected(model_id=model_id))
            case AttachVoice(voice=voice):
                events.append(VoiceAttached(voice=voice))
            case DetachVoice():
                if state.voice is not None:  # detaching twice is a no-op, like DELETE
                    events.append(VoiceDetached())
            case StartSpeech():
                events.append(
                    SpeechStarted(
                        utterance_id=command.utterance_id,
                        text=command.text,
                        voice_id=command.voice_id,
                        audio_asset_id=command.audio_asset_id,
                        duration_ms=command.duration_ms,
                        track=command.track,
                    )
                )
            case InterruptSpeech():
                events.append(self._interrupt(state, ctx))
            case _:
                raise EntityError(f"an avatar does not take {type(command).__name__}")
        return events

    @staticmethod
    def _interrupt(state: AvatarState, ctx: Context) -> SpeechInterrupted:
        speech = state.speech
        if speech is None or speech.interrupted_at_ms is not None or speech.started_at is None:
            raise Conflict("the avatar is not speaking")
        playhead_ms = (ctx.now - speech.started_at) * 1000.0
        if playhead_ms >= speech.duration_ms:
            raise Conflict("the avatar is not speaking (the utterance already ended)")
        at_ms = round(max(0.0, playhead_ms), 1)
        return SpeechInterrupted(utterance_id=speech.utterance_id, at_ms=at_ms)

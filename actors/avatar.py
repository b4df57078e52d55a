"""The avatar entity's decisions."""

from __future__ import annotations

from pydantic import BaseModel

from actors.aggregate import Aggregate, Context
from actors.commands import PatchState, SetEmotion, TakeSnapshot, Touch, TriggerAnimation
from actors.errors import EntityError
from events.avatar import (
    AnimationTriggered,
    AvatarCreated,
    AvatarState,
    EmotionSet,
    SnapshotTaken,
    StatePatched,
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
            case _:
                raise EntityError(f"an avatar does not take {type(command).__name__}")
        return events

"""What a still frame shows: the avatar's state with a request's overrides, its face
parameters, and the drawing options (size, shading, quality)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assets import look_of
from events.avatar import AvatarState
from events.picture import Shading
from media.animation import FaceParams, still
from media.animation.params import clamp, vector
from media.face import RenderOptions
from serve_app.rendering.models import FaceOverrides, Picture


def options_of(
    picture: Picture, model_id: str | None, configured: Callable[[], Shading]
) -> RenderOptions:
    """Drawing options. Shading: the request's, else the avatar's model's look, else the
    service configuration's (the default ``classic`` rig draws with the configured shading);
    ``configured`` reads the config stream, so it is asked only when it decides."""
    shading = picture.shading or look_of(model_id).shading or configured()
    return RenderOptions(
        picture.width, picture.height, shading, picture.quality, picture.antialiasing
    )


def frame_state(state: AvatarState, overrides: FaceOverrides) -> AvatarState:
    """``state`` with the request's appearance, emotion and face fields applied."""
    update: dict[str, Any] = {}
    if overrides.traits is not None:
        update["traits"] = overrides.traits
    if overrides.emotion is not None or overrides.intensity is not None:
        update["emotion"] = state.emotion.model_copy(
            update={
                k: v
                for k, v in (("emotion", overrides.emotion), ("intensity", overrides.intensity))
                if v is not None
            }
        )
    if overrides.state is not None:
        update["face"] = state.face.model_copy(update=overrides.state.changes())
    return state.model_copy(update=update) if update else state


def frame_params(state: AvatarState, parameters: dict[str, float] | None) -> FaceParams:
    """The still face of ``state``, plus explicit blendshape/pose values (then clamped)."""
    face = still(state)
    if not parameters:
        return face
    return FaceParams.from_row(clamp(face.to_row() + vector(parameters)))

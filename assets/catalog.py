"""The built-in face rigs: the models an avatar can use without uploading one.

Each has a look the 2D renderer draws differently (its shading style), so selecting a model
is visible in every frame and video. ``classic`` is :class:`~events.avatar.AvatarState`'s
default. Uploaded glTF/GLB models are for 3D clients; the server renders them with the classic
look.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from events.picture import Quality, Shading


@dataclass(frozen=True, slots=True)
class BuiltinModel:
    model_id: str
    name: str
    quality: Quality
    shading: Shading | None
    """``None``: the service's configured shading (``GET /config``, toon by default)."""
    description: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "source": "builtin"}


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.model_id: m
    for m in (
        BuiltinModel(
            "classic",
            "Classic",
            "high",
            None,
            "The default face, drawn with the configured shading (cel-shaded toon unless "
            "PUT /config says otherwise).",
        ),
        BuiltinModel("flat", "Flat", "medium", "flat", "Flat colours, no shading: light and fast."),
        BuiltinModel(
            "studio", "Studio", "ultra", "pbr", "Smooth gradient shading, supersampled edges."
        ),
    )
}
DEFAULT_MODEL = "classic"


def look_of(model_id: str | None) -> BuiltinModel:
    """The built-in look used to draw ``model_id`` (uploaded models draw as the default)."""
    return BUILTIN_MODELS.get(model_id or DEFAULT_MODEL, BUILTIN_MODELS[DEFAULT_MODEL])

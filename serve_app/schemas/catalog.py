"""Preset and customisation bodies (traits are checked as the service checks them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from actors.naming import ID_PATTERN
from actors.traits import TRAIT_NAMES, check_trait_patch
from events.avatar import Traits

_TRAITS_DOC = f"Some or all of the traits ({', '.join(TRAIT_NAMES)}); unknown or bad -> 422."


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TraitPatch(_Body):
    traits: dict[str, Any] = Field(default_factory=dict, description=_TRAITS_DOC)

    @field_validator("traits")
    @classmethod
    def _valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_trait_patch(value)


class PresetCreate(_TraitPatch):
    preset_id: str = Field(pattern=ID_PATTERN, description="Unique id; taken -> 409.")
    name: str | None = Field(None, min_length=1, max_length=100, description="Default: the id.")
    description: str = Field("", max_length=1000)


class PresetPatch(_TraitPatch):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)


class PresetView(BaseModel):
    preset_id: str
    name: str
    description: str
    traits: Traits
    builtin: bool = Field(description="One of the presets that ship with the service.")
    created_at: float | None = Field(description="None for a built-in.")
    updated_at: float | None


class PresetList(BaseModel):
    presets: list[PresetView]
    count: int
    version: int = Field(description="Version of the tenant's preset stream.")


class CustomizeRequest(_TraitPatch):
    avatar_id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Record on this avatar (created on first use); absent: a preview only.",
    )
    preset_id: str | None = Field(None, description="Start from this preset's traits (404).")


class CustomizeView(BaseModel):
    avatar_id: str | None
    preset_id: str | None
    traits: Traits
    recorded: bool = Field(description="False for a preview (no avatar_id).")
    version: int | None = Field(description="The avatar's version after the change.")

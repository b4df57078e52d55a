"""Model routes' bodies: built-in rigs and uploaded models, selecting one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actors.naming import ID_PATTERN


class ModelView(BaseModel):
    model_id: str
    name: str
    source: Literal["builtin", "uploaded"]
    quality: str | None = Field(None, description="Built-in rigs: their drawing quality.")
    shading: str | None = Field(None, description="Built-in rigs: how the renderer draws them.")
    description: str | None = None
    format: str | None = Field(None, description="Uploaded models: gltf, glb or fbx.")
    asset_id: str | None = None
    url: str | None = None
    size: int | None = None
    sha256: str | None = None
    morph_targets: list[str] | None = Field(None, description="glTF/GLB: named morph targets.")
    arkit: bool | None = Field(None, description="Has ARKit blendshape targets (jawOpen...).")
    arkit_blendshapes: list[str] | None = None
    visemes: bool | None = Field(None, description="Has Oculus viseme targets (viseme_sil...).")
    oculus_visemes: list[str] | None = None
    animations: list[str] | None = None


class ModelList(BaseModel):
    models: list[ModelView]
    total: int


class SelectModelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    avatar_id: str = Field(pattern=ID_PATTERN)
    model_id: str = Field(min_length=1, max_length=200)


class SelectedModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    avatar_id: str
    model_id: str
    version: int
    state: dict[str, Any]

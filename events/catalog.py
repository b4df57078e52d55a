"""The tenant-wide catalog streams, by name (each defined in its own module): avatar presets
(:mod:`events.presets`), the render configuration (:mod:`events.render_config`) and the default
voice (:mod:`events.default_voice`); the picture vocabulary they share is :mod:`events.picture`.

Kept so that ``from events.catalog import ...`` still works while other branches move to the
modules themselves.
"""

from __future__ import annotations

from events.default_voice import DefaultVoiceState, default_voice_folder
from events.picture import (
    MAX_FPS,
    MAX_SIZE,
    MIN_FPS,
    MIN_SIZE,
    QUALITIES,
    SHADINGS,
    Quality,
    Shading,
    split_resolution,
)
from events.presets import (
    Preset,
    PresetCatalogState,
    PresetCreated,
    PresetDeleted,
    PresetUpdated,
    effective_presets,
    preset_folder,
)
from events.render_config import ConfigSet, ConfigState, RenderConfig, config_folder

__all__ = [
    "MAX_FPS",
    "MAX_SIZE",
    "MIN_FPS",
    "MIN_SIZE",
    "QUALITIES",
    "SHADINGS",
    "ConfigSet",
    "ConfigState",
    "DefaultVoiceState",
    "Preset",
    "PresetCatalogState",
    "PresetCreated",
    "PresetDeleted",
    "PresetUpdated",
    "Quality",
    "RenderConfig",
    "Shading",
    "config_folder",
    "default_voice_folder",
    "effective_presets",
    "preset_folder",
    "split_resolution",
]

"""The catalog streams' fold (presets overlaid on built-ins, the configuration) and the
configuration's validation, without Ray."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from events.avatar import Traits
from events.base import Event
from events.presets import (
    Preset,
    PresetCreated,
    PresetDeleted,
    PresetUpdated,
    effective_presets,
    preset_folder,
)
from events.records import RecordedEvent
from events.render_config import ConfigSet, RenderConfig, config_folder

pytestmark = pytest.mark.timeout(10)

BUILTINS = {
    "a": Preset(preset_id="a", name="A", traits=Traits(hair_style="bob")),
    "b": Preset(preset_id="b", name="B", traits=Traits(glasses="round")),
}


def records(*events: Event) -> list[RecordedEvent]:
    return [
        RecordedEvent(i, "catalog:t:presets", i, e, 100.0 + i, {})
        for i, e in enumerate(events, start=1)
    ]


def test_the_stream_overlays_the_builtins() -> None:
    state = preset_folder.fold(
        preset_folder.initial(),
        records(
            PresetCreated(preset_id="c", name="C", traits=Traits(outfit="hoodie")),
            PresetUpdated(preset_id="a", name="A2", traits=Traits(hair_style="bun")),
            PresetDeleted(preset_id="b"),
        ),
    )
    seen = effective_presets(state, BUILTINS)
    assert list(seen) == ["a", "c"]
    assert seen["a"].name == "A2" and seen["a"].traits.hair_style == "bun"
    assert seen["a"].created_at is None and seen["a"].updated_at == 102.0  # still a built-in
    assert seen["c"].created_at == seen["c"].updated_at == 101.0
    assert state.version == 3


def test_delete_then_create_again_brings_an_id_back() -> None:
    state = preset_folder.fold(
        preset_folder.initial(),
        records(
            PresetDeleted(preset_id="a"),
            PresetCreated(preset_id="a", name="New A", traits=Traits()),
            PresetCreated(preset_id="x", name="X", traits=Traits()),
            PresetDeleted(preset_id="x"),
        ),
    )
    seen = effective_presets(state, BUILTINS)
    assert sorted(seen) == ["a", "b"] and seen["a"].name == "New A"
    assert "x" not in state.presets


def test_the_fold_never_changes_an_earlier_state() -> None:
    first = preset_folder.fold(
        preset_folder.initial(),
        records(PresetCreated(preset_id="c", name="C", traits=Traits())),
    )
    later = preset_folder.fold(first, records(PresetDeleted(preset_id="c"))[:1])
    assert "c" in first.presets and "c" not in later.presets


def test_config_fold_keeps_the_last_config() -> None:
    a, b = RenderConfig(fps=40), RenderConfig(fps=50, quality="fast")
    state = config_folder.fold(
        config_folder.initial(), records(ConfigSet(config=a), ConfigSet(config=b))
    )
    assert state.config == b and state.version == 2
    assert config_folder.initial().config == RenderConfig()


@pytest.mark.parametrize(
    ("given", "size"),
    [
        ({"resolution": "1280x720"}, (1280, 720)),
        ({"resolution": [640, 480]}, (640, 480)),
        ({"resolution": 256}, (256, 256)),
        ({"resolution": "64X4096"}, (64, 4096)),
        ({"width": 300, "resolution": "100x200"}, (300, 200)),
    ],
)
def test_resolution_forms(given: dict[str, Any], size: tuple[int, int]) -> None:
    c = RenderConfig.model_validate(given)
    assert (c.width, c.height) == size and c.resolution == f"{size[0]}x{size[1]}"


@pytest.mark.parametrize(
    "bad",
    [
        {"fps": 29},
        {"fps": 61},
        {"resolution": 5000},
        {"resolution": "16384x16384"},
        {"resolution": "wide"},
        {"width": 63},
        {"quality": "max"},
        {"shading": "cel"},
        {"antialiasing": "maybe"},
        {"colour": "red"},
    ],
)
def test_bad_config_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RenderConfig.model_validate(bad)


@pytest.mark.parametrize("fps", [30, 45, 60])
def test_fps_bounds_are_inclusive(fps: int) -> None:
    assert RenderConfig(fps=fps).fps == fps

"""Preset catalog and configuration store decisions, and optimistic concurrency between two
replicas sharing one journal, without Ray."""

from __future__ import annotations

import pytest

from actors.catalog import (
    ATTEMPTS,
    CatalogStream,
    ConfigStore,
    PresetCatalog,
    PresetExists,
    PresetNotFound,
    decide_config,
    decide_create,
    decide_delete,
    decide_update,
)
from actors.errors import Unavailable
from actors.presets import BUILTIN_PRESETS
from actors.traits import TRAIT_NAMES, check_trait_patch, merge_traits
from events.avatar import Traits
from events.base import Event
from events.memory import MemoryJournal
from events.presets import PresetCatalogState, PresetCreated, PresetUpdated, preset_folder
from events.render_config import ConfigState, RenderConfig

pytestmark = pytest.mark.timeout(10)

EMPTY = PresetCatalogState()


def test_builtins_are_many_distinct_and_valid() -> None:
    assert len(BUILTIN_PRESETS) >= 5
    looks = {p.traits for p in BUILTIN_PRESETS.values()}
    assert len(looks) == len(BUILTIN_PRESETS)
    for key, p in BUILTIN_PRESETS.items():
        assert key == p.preset_id and p.name and p.description


def test_create_refuses_a_taken_id_builtin_or_not() -> None:
    with pytest.raises(PresetExists):
        decide_create(EMPTY, BUILTIN_PRESETS, "classic", "C", "", Traits())
    [event] = decide_create(EMPTY, BUILTIN_PRESETS, "mine", "Mine", "", Traits())
    assert isinstance(event, PresetCreated)


def test_update_merges_traits_and_records_nothing_without_change() -> None:
    [event] = decide_update(
        EMPTY, BUILTIN_PRESETS, "professor", traits={"glasses": "square"}, name="Prof"
    )
    assert isinstance(event, PresetUpdated)
    assert event.traits.glasses == "square" and event.traits.accessories == ("beard",)
    assert event.name == "Prof" and event.description == BUILTIN_PRESETS["professor"].description
    same = BUILTIN_PRESETS["professor"].traits.glasses
    assert decide_update(EMPTY, BUILTIN_PRESETS, "professor", traits={"glasses": same}) == []


def test_unknown_presets_are_not_found() -> None:
    with pytest.raises(PresetNotFound):
        decide_update(EMPTY, BUILTIN_PRESETS, "nope", name="x")
    with pytest.raises(PresetNotFound):
        decide_delete(EMPTY, BUILTIN_PRESETS, "nope")


def test_catalog_crud_on_a_journal() -> None:
    journal = MemoryJournal()
    catalog = PresetCatalog(journal, "t")
    created = catalog.create("mine", "Mine", "d", Traits(hair_style="bun"))
    assert created.created_at is not None and catalog.get("mine") == created
    catalog.update("mine", traits={"outfit": "hoodie"})
    assert catalog.get("mine").traits.outfit == "hoodie"
    catalog.delete("classic")  # a built-in: the deletion is recorded
    assert "classic" not in catalog.all() and catalog.is_builtin("classic")
    with pytest.raises(PresetNotFound):
        catalog.get("classic")
    assert journal.highest_version("catalog:t:presets") == 3
    # another replica (or a restart) folds the same stream to the same catalog
    assert PresetCatalog(journal, "t").all() == catalog.all()


def test_racing_replicas_create_the_same_id_once() -> None:
    journal = MemoryJournal()
    a, b = PresetCatalog(journal, "t"), PresetCatalog(journal, "t")
    decided: list[int] = []

    def create_same(state: PresetCatalogState) -> list[Event]:
        decided.append(state.version)
        if len(decided) == 1:  # a creates the same id between b's read and b's append
            a.create("same", "A", "", Traits())
        return decide_create(state, b.builtins, "same", "B", "", Traits())

    with pytest.raises(PresetExists):
        b.stream.execute(create_same)  # b's append conflicts; on the newer state: 409
    assert decided == [0, 1] and b.get("same").name == "A"


def test_a_conflict_is_re_decided_on_the_newer_state() -> None:
    journal = MemoryJournal()
    mine = CatalogStream(journal, "catalog:t:presets", preset_folder)
    other = PresetCatalog(journal, "t")
    seen: list[int] = []

    def decide(state: PresetCatalogState) -> list[Event]:
        seen.append(state.version)
        if len(seen) == 1:  # another replica writes between our read and our append
            other.create("theirs", "T", "", Traits())
        return [PresetCreated(preset_id="ours", name="O", traits=Traits())]

    state = mine.execute(decide)
    assert seen == [0, 1]
    assert set(state.presets) == {"theirs", "ours"} and state.version == 2


def test_a_stream_that_keeps_changing_gives_up_as_unavailable() -> None:
    journal = MemoryJournal()
    mine = CatalogStream(journal, "catalog:t:presets", preset_folder)
    other = PresetCatalog(journal, "t")

    def decide(state: PresetCatalogState) -> list[Event]:
        other.create(f"p{state.version}", "T", "", Traits())
        return [PresetCreated(preset_id="ours", name="O", traits=Traits())]

    with pytest.raises(Unavailable):
        mine.execute(decide)
    assert journal.highest_version("catalog:t:presets") == ATTEMPTS


def test_config_store_merges_and_skips_no_ops() -> None:
    journal = MemoryJournal()
    store = ConfigStore(journal, "t")
    assert store.get().config == RenderConfig() and store.get().version == 0
    state = store.update({"fps": 60, "resolution": "320x200"})
    assert (state.config.fps, state.config.width, state.config.height) == (60, 320, 200)
    assert store.update({"fps": 60}).version == 1  # nothing changed, nothing recorded
    assert ConfigStore(journal, "t").get().config.quality == "high"
    assert decide_config(ConfigState(), {}) == []


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"tail": 1}, "unknown trait"),
        ({"hair_style": "mohawk"}, "hair_style"),
        ({"eye_color": "#12345"}, "eye_color"),
        ({"accessories": ["cape"]}, "accessories"),
    ],
)
def test_bad_trait_patches_are_refused(patch: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_trait_patch(patch)


def test_merge_traits_changes_only_what_is_given() -> None:
    base = Traits(hair_style="curly", glasses="round")
    merged = merge_traits(base, {"glasses": "none", "accessories": ["beard"]})
    assert merged == base.model_copy(update={"glasses": "none", "accessories": ("beard",)})
    assert merge_traits(base, {}) is base
    assert set(TRAIT_NAMES) == set(Traits.model_fields)

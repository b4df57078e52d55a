"""The preset catalog and the service configuration: small event-sourced streams, no actor.

They are written rarely and read often, by any ingress replica. Each replica keeps the folded
state and catches up from the journal before every read or decision; a write appends with
``expected_version`` = the version it decided on, so two replicas racing cannot both win: the
loser re-reads and decides again (a create of the same id then fails with 409). Events are
durable before the caller hears back, like an entity's.

Blocking (journal I/O): async callers run these methods in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from actors.errors import Conflict, NotFound, Unavailable
from actors.naming import config_stream_id, default_voice_stream_id, presets_stream_id
from actors.presets import BUILTIN_PRESETS
from actors.traits import merge_traits
from events.avatar import Traits, Voice, VoiceAttached, VoiceDetached
from events.base import Event
from events.default_voice import DefaultVoiceState, default_voice_folder
from events.errors import JournalError, VersionConflict
from events.fold import Folder, State
from events.journal import Journal
from events.picture import split_resolution
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

S = TypeVar("S", bound=State)

ATTEMPTS = 5  # racing writers on a rarely written stream: a handful of retries is plenty


class PresetNotFound(NotFound):
    code = "preset_not_found"


class PresetExists(Conflict):
    code = "preset_exists"


class CatalogStream(Generic[S]):
    """One stream's folded state, kept current, and optimistic-concurrency writes to it."""

    def __init__(
        self,
        journal: Journal,
        stream_id: str,
        folder: Folder[S],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.stream_id = stream_id
        self.folder = folder
        self.clock = clock
        self._state = folder.initial()
        self._lock = threading.Lock()  # one catch-up at a time; the state is replaced whole

    def state(self) -> S:
        """The current state (reads the journal's tail)."""
        with self._lock:
            return self._catch_up()

    def execute(self, decide: Callable[[S], list[Event]]) -> S:
        """Append what ``decide(current state)`` returns; re-decide on a version conflict.

        ``decide`` may raise (EntityError) to refuse; an empty list records nothing.
        Returns the state after the append (it may include other writers' later events).
        """
        for _ in range(ATTEMPTS):
            with self._lock:
                state = self._catch_up()
                events = decide(state)
                if not events:
                    return state
                try:
                    self.journal.append(
                        self.stream_id, events, state.version, recorded_at=self.clock()
                    )
                except VersionConflict:
                    continue  # someone else wrote first: read what they did and decide again
                except JournalError as e:
                    raise Unavailable(f"could not record the change: {e}") from e
                return self._catch_up()
        raise Unavailable(f"{self.stream_id} kept changing under {ATTEMPTS} attempts; retry")

    def _catch_up(self) -> S:
        try:
            records = self.journal.read(self.stream_id, self._state.version + 1)
        except JournalError as e:
            raise Unavailable(f"could not read {self.stream_id}: {e}") from e
        if records:
            self._state = self.folder.fold(self._state, records)
        return self._state


# ---------------------------------------------------------------------------- presets


def decide_create(
    state: PresetCatalogState,
    builtins: Mapping[str, Preset],
    preset_id: str,
    name: str,
    description: str,
    traits: Traits,
) -> list[Event]:
    if preset_id in effective_presets(state, dict(builtins)):
        raise PresetExists(f"preset {preset_id!r} already exists", preset_id=preset_id)
    return [PresetCreated(preset_id=preset_id, name=name, description=description, traits=traits)]


def decide_update(
    state: PresetCatalogState,
    builtins: Mapping[str, Preset],
    preset_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    traits: Mapping[str, Any] | None = None,
) -> list[Event]:
    """Changes only the fields given; traits are merged over the preset's. No change, no event."""
    current = _require(state, builtins, preset_id)
    new_name = current.name if name is None else name
    new_description = current.description if description is None else description
    new_traits = merge_traits(current.traits, traits or {})
    if (new_name, new_description, new_traits) == (
        current.name,
        current.description,
        current.traits,
    ):
        return []
    return [
        PresetUpdated(
            preset_id=preset_id, name=new_name, description=new_description, traits=new_traits
        )
    ]


def decide_delete(
    state: PresetCatalogState, builtins: Mapping[str, Preset], preset_id: str
) -> list[Event]:
    _require(state, builtins, preset_id)
    return [PresetDeleted(preset_id=preset_id)]


def _require(state: PresetCatalogState, builtins: Mapping[str, Preset], preset_id: str) -> Preset:
    preset = effective_presets(state, dict(builtins)).get(preset_id)
    if preset is None:
        raise PresetNotFound(f"preset {preset_id!r} not found", preset_id=preset_id)
    return preset


class PresetCatalog:
    """The tenant's presets: built-ins from code overlaid by the ``catalog:<tenant>:presets``
    stream (created, updated and deleted presets, built-ins included)."""

    def __init__(
        self,
        journal: Journal,
        tenant: str,
        builtins: Mapping[str, Preset] = BUILTIN_PRESETS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.builtins = dict(builtins)
        self.stream = CatalogStream(journal, presets_stream_id(tenant), preset_folder, clock)

    def listing(self) -> tuple[dict[str, Preset], int]:
        """Every preset, by id, and the stream version they reflect."""
        state = self.stream.state()
        return effective_presets(state, self.builtins), state.version

    def all(self) -> dict[str, Preset]:
        return self.listing()[0]

    def get(self, preset_id: str) -> Preset:
        return _require(self.stream.state(), self.builtins, preset_id)

    def is_builtin(self, preset_id: str) -> bool:
        return preset_id in self.builtins

    def create(self, preset_id: str, name: str, description: str, traits: Traits) -> Preset:
        state = self.stream.execute(
            lambda s: decide_create(s, self.builtins, preset_id, name, description, traits)
        )
        return _require(state, self.builtins, preset_id)

    def update(
        self,
        preset_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        traits: Mapping[str, Any] | None = None,
    ) -> Preset:
        state = self.stream.execute(
            lambda s: decide_update(
                s, self.builtins, preset_id, name=name, description=description, traits=traits
            )
        )
        return _require(state, self.builtins, preset_id)

    def delete(self, preset_id: str) -> None:
        self.stream.execute(lambda s: decide_delete(s, self.builtins, preset_id))


# ---------------------------------------------------------------------------- configuration


def decide_config(state: ConfigState, changes: Mapping[str, Any]) -> list[Event]:
    """``changes`` merged over the current configuration; no event when nothing changes.

    Raises ``pydantic.ValidationError`` for a bad value (the route validated already).
    """
    given = split_resolution(dict(changes))  # a resolution replaces the current sizes
    new = RenderConfig.model_validate({**state.config.model_dump(), **given})
    return [] if new == state.config else [ConfigSet(config=new)]


class ConfigStore:
    """The tenant's render configuration, kept in the ``config:<tenant>:service`` stream."""

    def __init__(
        self, journal: Journal, tenant: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.stream = CatalogStream(journal, config_stream_id(tenant), config_folder, clock)

    def get(self) -> ConfigState:
        return self.stream.state()

    def update(self, changes: Mapping[str, Any]) -> ConfigState:
        return self.stream.execute(lambda s: decide_config(s, changes))


# ---------------------------------------------------------------------------- default voice


class DefaultVoice:
    """The voice avatars without their own speak with, in the ``voice:<tenant>:default`` stream."""

    def __init__(
        self, journal: Journal, tenant: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.stream = CatalogStream(
            journal, default_voice_stream_id(tenant), default_voice_folder, clock
        )

    def get(self) -> DefaultVoiceState:
        return self.stream.state()

    def attach(self, voice: Voice) -> DefaultVoiceState:
        return self.stream.execute(
            lambda s: [] if s.voice == voice else [VoiceAttached(voice=voice)]
        )

    def detach(self) -> DefaultVoiceState:
        """Detaching when nothing is attached records nothing (DELETE is idempotent)."""
        return self.stream.execute(lambda s: [VoiceDetached()] if s.voice is not None else [])

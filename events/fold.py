"""Folding events into state: one mutator per event type, ``Folder.fold(state, records)``.

A mutator is a pure function ``(state, event, recorded_at) -> dict of changed fields``; the
folder copies the state once with those changes plus the record's version and time. States are
frozen pydantic models, so a fold never mutates what a caller already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from events.base import Event
from events.errors import EventsError
from events.records import RecordedEvent


class FoldError(EventsError):
    """An event reached a folder that has no mutator for its type."""


class State(BaseModel):
    """Base of every folded state: the stream version it reflects and when that was recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[int] = 1

    version: int = 0
    updated_at: float | None = None


S = TypeVar("S", bound=State)
E = TypeVar("E", bound=Event)
Mutator = Callable[[S, Any, float], dict[str, Any]]


class Folder(Generic[S]):
    """The mutators of one state type."""

    def __init__(self, state_type: type[S]) -> None:
        self.state_type = state_type
        self._mutators: dict[type[Event], Mutator[S]] = {}

    def mutator(
        self, event_type: type[E]
    ) -> Callable[
        [Callable[[S, E, float], dict[str, Any]]], Callable[[S, E, float], dict[str, Any]]
    ]:
        def register(
            fn: Callable[[S, E, float], dict[str, Any]],
        ) -> Callable[[S, E, float], dict[str, Any]]:
            self._mutators[event_type] = fn
            return fn

        return register

    def handles(self, event_type: type[Event]) -> bool:
        return event_type in self._mutators

    def initial(self) -> S:
        return self.state_type()

    def apply(self, state: S, event: Event, version: int, recorded_at: float) -> S:
        """The state after one event."""
        fn = self._mutators.get(type(event))
        if fn is None:
            raise FoldError(f"{self.state_type.__name__} has no mutator for {event.type}")
        changes = fn(state, event, recorded_at)
        changes["version"] = version
        changes["updated_at"] = recorded_at
        return state.model_copy(update=changes)

    def fold(self, state: S, records: Iterable[RecordedEvent]) -> S:
        """Apply ``records`` (oldest first) to ``state``; ``state`` itself is left untouched.

        Works on one private copy whose ``__dict__`` is updated in place (a frozen model's
        copy per event costs more than the rest of a replay); nobody sees the copy until it is
        returned, so callers still only ever see immutable states.
        """
        mutators = self._mutators
        work = state.model_copy()
        fields = work.__dict__
        changed: set[str] = set()
        for r in records:
            fn = mutators.get(type(r.event))
            if fn is None:
                raise FoldError(f"{self.state_type.__name__} has no mutator for {r.event.type}")
            changes = fn(work, r.event, r.recorded_at)
            fields.update(changes)
            fields["version"] = r.version
            fields["updated_at"] = r.recorded_at
            changed.update(changes)
        if changed or fields["version"] != state.version:
            work.__pydantic_fields_set__.update(changed, ("version", "updated_at"))
        return work

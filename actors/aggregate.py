"""What an entity type decides: the ``Aggregate`` contract, pure and Ray-free."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from actors.naming import Kind
from events.base import Event
from events.fold import Folder, State
from events.journal import Journal

S = TypeVar("S", bound=State)


@dataclass(frozen=True)
class Context:
    """What a decision may look at besides the state: the time, and the journal (read only)."""

    now: float
    tenant: str
    entity_id: str
    journal: Journal


class Aggregate(ABC, Generic[S]):
    """Turns a command and the current state into events (or refuses with an EntityError)."""

    kind: ClassVar[Kind]
    folder: Folder[S]

    @abstractmethod
    def decide(self, state: S, command: BaseModel, ctx: Context) -> list[Event]: ...

    def due(self, state: S, ctx: Context) -> BaseModel | None:
        """A command the entity owes itself now (e.g. expiry), or ``None``."""
        return None

    def next_due(self, state: S) -> float | None:
        """When :meth:`due` will next have something to do (seconds since the epoch)."""
        return None

    def view(self, state: S) -> dict[str, Any]:
        """The state as clients see it."""
        return state.model_dump(mode="json")

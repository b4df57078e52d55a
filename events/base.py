"""The ``Event`` base class and the registry of event types and upcasters.

Every event is a frozen pydantic model with a ``type`` discriminator (a ``Literal`` field whose
default is the type's name) and a ``schema_version`` class variable. Subclasses register
themselves when they are defined, so the codec can decode any type that has been imported.

An upcaster turns the payload of an old schema version into the next one::

    @upcaster("EmotionSet", from_version=1)
    def _v1_to_v2(payload: dict) -> dict: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.errors import CodecError
from events.ids import new_event_id

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Event(BaseModel):
    """Base class of all events. Subclasses declare ``type: Literal["Name"] = "Name"``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[int] = 1

    type: str
    event_id: UUID = Field(default_factory=new_event_id, description="Unique id; retries reuse it.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("type")
        name = field.default if field is not None else None
        if isinstance(name, str) and name:
            registry.register(cls)


class EventRegistry:
    """Maps type names to event classes, and (type, version) to upcasters."""

    def __init__(self) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[Event]) -> None:
        name = cls.model_fields["type"].default
        known = self._types.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise CodecError(f"event type {name!r} registered twice ({known} and {cls})")
        self._types[name] = cls

    def get(self, name: str) -> type[Event]:
        try:
            return self._types[name]
        except KeyError:
            raise CodecError(f"unknown event type {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def add_upcaster(self, name: str, from_version: int, fn: Upcaster) -> None:
        self._upcasters[(name, from_version)] = fn

    def upcast(self, name: str, version: int, payload: Payload) -> Payload:
        """Bring ``payload`` from ``version`` to the registered class's current version."""
        current = self.get(name).schema_version
        if version > current:
            raise CodecError(
                f"event {name!r} has schema version {version}, newer than this code's {current}"
            )
        while version < current:
            fn = self._upcasters.get((name, version))
            if fn is None:
                raise CodecError(f"no upcaster for event {name!r} from schema version {version}")
            payload = fn(payload)
            version += 1
        return payload


registry = EventRegistry()


def upcaster(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator registering ``fn`` to upcast ``name`` payloads from ``from_version``."""

    def decorate(fn: Upcaster) -> Upcaster:
        registry.add_upcaster(name, from_version, fn)
        return fn

    return decorate

"""msgpack codec for events, metadata and snapshots.

Payloads are the JSON-mode dump of the model (datetimes and UUIDs as strings), packed with
msgpack: compact, language-neutral, and round-trips through pydantic validation.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgpack
from pydantic import BaseModel, ValidationError

from events.base import Event, EventRegistry, registry
from events.errors import CodecError

_EXCLUDE = {"type", "event_id"}
S = TypeVar("S", bound=BaseModel)


def pack(obj: Any) -> bytes:
    try:
        return msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as e:
        raise CodecError(f"cannot pack {type(obj).__name__}: {e}") from e


def unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as e:
        raise CodecError(f"corrupt msgpack data: {e}") from e


class EventCodec:
    """Encodes events to ``(type, schema_version, payload)`` and back."""

    def __init__(self, types: EventRegistry = registry) -> None:
        self._types = types
        # type name -> (validator, current schema version); decode is the replay hot path
        self._decoders: dict[str, tuple[Any, int]] = {}
        # (class, type name) -> (serializer, schema version), once checked against the registry;
        # encode is every command's hot path
        self._encoders: dict[tuple[type[Event], str], tuple[Any, int]] = {}

    def encode(self, event: Event) -> tuple[str, int, bytes]:
        key = (type(event), event.type)
        encoder = self._encoders.get(key)
        if encoder is None:
            cls = self._types.get(event.type)
            if not isinstance(event, cls):
                raise CodecError(f"event {event!r} is not an instance of registered {cls}")
            encoder = (type(event).__pydantic_serializer__, cls.schema_version)
            self._encoders[key] = encoder
        serializer, schema_version = encoder
        payload = serializer.to_python(event, mode="json", exclude=_EXCLUDE)
        return event.type, schema_version, pack(payload)

    def decode(self, type_name: str, schema_version: int, event_id: Any, payload: bytes) -> Event:
        decoder = self._decoders.get(type_name)
        if decoder is None:
            cls = self._types.get(type_name)
            decoder = self._decoders[type_name] = (cls.__pydantic_validator__, cls.schema_version)
        validator, current = decoder
        try:
            data = msgpack.unpackb(payload)
        except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as e:
            raise CodecError(f"event {type_name!r} payload is corrupt: {e}") from e
        if type(data) is not dict:
            raise CodecError(f"event {type_name!r} payload is not a map")
        if schema_version != current:
            data = self._types.upcast(type_name, schema_version, data)
        data["event_id"] = event_id
        try:
            return validator.validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as e:
            raise CodecError(f"event {type_name!r} v{schema_version} does not validate: {e}") from e


def encode_state(state: BaseModel) -> bytes:
    """Snapshot payload of a state model."""
    return pack(state.model_dump(mode="json"))


def decode_state(cls: type[S], data: bytes) -> S:
    try:
        return cls.model_validate(unpack(data))
    except ValidationError as e:
        raise CodecError(f"snapshot of {cls.__name__} does not validate: {e}") from e


default_codec = EventCodec()

from typing import Any, Literal

import msgpack
import pytest

from events.base import Event, EventRegistry, registry
from events.codec import EventCodec, pack
from events.errors import CodecError
from tests.unit.events.samples import SAMPLES

codec = EventCodec()


def test_every_registered_type_has_a_sample() -> None:
    assert {e.type for e in SAMPLES} == set(registry.names())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_round_trip(event: Event) -> None:
    name, version, payload = codec.encode(event)
    assert name == event.type and version == type(event).schema_version
    assert isinstance(msgpack.unpackb(payload), dict)
    assert codec.decode(name, version, str(event.event_id), payload) == event


def test_events_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        SAMPLES[0].avatar_id = "other"  # type: ignore[attr-defined]


def test_unknown_type_fails_loudly() -> None:
    with pytest.raises(CodecError, match="unknown event type"):
        codec.decode("NoSuchEvent", 1, "00000000-0000-0000-0000-000000000000", pack({}))


def test_newer_schema_version_fails_loudly() -> None:
    _, _, payload = codec.encode(SAMPLES[0])
    with pytest.raises(CodecError, match="newer"):
        codec.decode(SAMPLES[0].type, 99, str(SAMPLES[0].event_id), payload)


def test_corrupt_payload_fails_loudly() -> None:
    with pytest.raises(CodecError):
        codec.decode("EmotionSet", 1, str(SAMPLES[0].event_id), b"\xc1garbage")
    with pytest.raises(CodecError, match="does not validate"):
        codec.decode("EmotionSet", 1, str(SAMPLES[0].event_id), pack({"emotion": "bored"}))


def test_upcaster_chain_brings_old_payloads_forward() -> None:
    types = EventRegistry()

    class Greeted(Event):
        type: Literal["TestGreetedV3"] = "TestGreetedV3"
        schema_version = 3
        full_name: str
        polite: bool

    types.register(Greeted)
    types.add_upcaster("TestGreetedV3", 1, lambda p: {"full_name": p.pop("name")})

    def v2(p: dict[str, Any]) -> dict[str, Any]:
        return {**p, "polite": True}

    types.add_upcaster("TestGreetedV3", 2, v2)
    local = EventCodec(types)
    eid = "00000000-0000-0000-0000-000000000001"
    old = local.decode("TestGreetedV3", 1, eid, pack({"name": "Ada"}))
    assert old == Greeted(full_name="Ada", polite=True, event_id=eid)  # type: ignore[arg-type]
    types2 = EventRegistry()
    types2.register(Greeted)
    with pytest.raises(CodecError, match="no upcaster"):
        EventCodec(types2).decode("TestGreetedV3", 1, eid, pack({"name": "Ada"}))


def test_encoding_an_unregistered_type_fails() -> None:
    class Stray(Event):
        type: Literal["TestStray"] = "TestStray"

    other = EventRegistry()
    with pytest.raises(CodecError):
        EventCodec(other).encode(Stray())

"""The avatar's decisions on looks, model, voice and speech, without Ray."""

from __future__ import annotations

import pytest

from actors.commands import (
    AttachVoice,
    Customize,
    DetachVoice,
    InterruptSpeech,
    SelectModel,
    StartSpeech,
)
from actors.errors import Conflict
from events import MemoryJournal
from events.avatar import Traits, Voice
from events.speech import LipSyncTrack, TimedPhone
from tests.fakes import Clock
from tests.unit.actors.test_entity import avatar

pytestmark = pytest.mark.timeout(10)


def speech(duration_ms: float = 2000.0) -> StartSpeech:
    track = LipSyncTrack(
        duration_ms=duration_ms,
        phones=(TimedPhone(phone="AA", start_ms=0, end_ms=duration_ms),),
    )
    return StartSpeech(
        utterance_id="u1", text="ah", voice_id="en-us", duration_ms=duration_ms, track=track
    )


async def test_customize_select_model_and_voice_are_recorded() -> None:
    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    traits = Traits(hair_style="curly", glasses="round")
    await rt.execute(Customize(base=traits, preset_id="p1"))
    await rt.execute(SelectModel(model_id="round"))
    await rt.execute(AttachVoice(voice=Voice(voice_id="en-gb", rate=200)))
    assert rt.state.traits == traits and rt.state.preset_id == "p1"
    assert rt.state.model_id == "round"
    assert rt.state.voice is not None and rt.state.voice.voice_id == "en-gb"
    first = await rt.execute(DetachVoice())
    again = await rt.execute(DetachVoice())
    assert [e["type"] for e in first.events] == ["VoiceDetached"]
    assert again.events == [] and rt.state.voice is None


async def test_interrupt_records_the_playhead_within_the_utterance() -> None:
    journal = MemoryJournal()
    clock = Clock()
    rt = avatar(journal, clock)
    await rt.activate()
    with pytest.raises(Conflict):
        await rt.execute(InterruptSpeech())
    await rt.execute(speech(2000))
    clock.now += 0.75
    result = await rt.execute(InterruptSpeech())
    assert result.events[0]["type"] == "SpeechInterrupted"
    assert result.events[0]["data"]["at_ms"] == pytest.approx(750, abs=1)
    assert rt.state.speech is not None and rt.state.speech.interrupted_at_ms == pytest.approx(750)
    with pytest.raises(Conflict):  # already interrupted
        await rt.execute(InterruptSpeech())


async def test_interrupt_after_the_end_is_a_conflict() -> None:
    clock = Clock()
    rt = avatar(MemoryJournal(), clock)
    await rt.activate()
    await rt.execute(speech(500))
    clock.now += 1.0
    with pytest.raises(Conflict):
        await rt.execute(InterruptSpeech())


async def test_concurrent_emotion_patches_of_different_fields_both_take_effect() -> None:
    """The avatar fills in the fields a patch leaves out, from its own state, one command at a
    time: neither patch overwrites the other's field with a stale value."""
    import asyncio

    from actors.commands import PatchEmotion, SetEmotion

    journal = MemoryJournal()
    rt = avatar(journal)
    await rt.activate()
    await rt.execute(SetEmotion(emotion="happy", intensity=0.2, transition_ms=100))
    await asyncio.gather(
        rt.execute(PatchEmotion(intensity=0.9)), rt.execute(PatchEmotion(emotion="sad"))
    )
    e = rt.state.emotion
    assert (e.emotion, e.intensity, e.transition_ms) == ("sad", 0.9, 100)
    await rt.execute(PatchEmotion(transition_ms=700))
    assert rt.state.emotion.transition_ms == 700 and rt.state.emotion.emotion == "sad"


async def test_customize_merges_over_its_own_looks_and_keeps_its_preset() -> None:
    rt = avatar(MemoryJournal())
    await rt.activate()
    await rt.execute(Customize(base=Traits(hair_style="curly"), preset_id="p1"))
    await rt.execute(Customize(changes={"glasses": "round"}))
    t = rt.state.traits
    assert (t.hair_style, t.glasses, rt.state.preset_id) == ("curly", "round", "p1")
    await rt.execute(Customize(changes={"hair_style": "bob"}, base=Traits(), preset_id="p2"))
    t = rt.state.traits
    assert (t.hair_style, t.glasses, rt.state.preset_id) == ("bob", Traits().glasses, "p2")

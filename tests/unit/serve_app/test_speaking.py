"""The Speech replica's work and the default voice stream, without Ray (memory journal, a
temporary output folder)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from actors.catalog import DefaultVoice
from assets import LocalAssetStore
from events import MemoryJournal
from events.avatar import Voice
from serve_app.errors import status_of
from serve_app.rendering.outputs import AssetOutputs
from serve_app.speaking.models import LipSyncRequest, TimingRequest, VoiceChoice
from serve_app.speaking.work import SpeechFailure, SpeechWorker, check_text

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def worker(tmp_path: Path) -> SpeechWorker:
    return SpeechWorker(AssetOutputs(LocalAssetStore(tmp_path), "t"), max_audio_bytes=1_000_000)


def test_text_limits() -> None:
    with pytest.raises(SpeechFailure) as info:
        check_text("x" * 120_001)
    assert status_of(info.value.code) == 413
    with pytest.raises(SpeechFailure) as info:
        check_text(" \n")
    assert status_of(info.value.code) == 422
    assert check_text("hi") == "hi"


def test_voice_choice_layers_over_a_stored_voice() -> None:
    stored = Voice(voice_id="de", rate=220, pitch=40)
    assert VoiceChoice(rate=100).over(stored) == Voice(voice_id="de", rate=100, pitch=40)
    assert VoiceChoice(voice="fr").over(None) == Voice(voice_id="fr")


def test_lipsync_text_stores_the_audio(worker: SpeechWorker, tmp_path: Path) -> None:
    out = worker.lipsync(LipSyncRequest(text="Hello world."), Voice(voice_id="en-us"))
    assert out["audio"]["size"] > 1000 and out["words"][0]["word"].lower() == "hello"
    found = worker.outputs.lookup(out["audio"]["asset_id"])  # type: ignore[attr-defined]
    assert found is not None and found[0].read_bytes()[:4] == b"RIFF"
    assert found[1].sha256 == out["audio"]["sha256"] and found[1].mime == "audio/wav"


def test_lipsync_audio_limits_and_bad_base64(worker: SpeechWorker) -> None:
    voice = Voice(voice_id="en-us")
    too_big = base64.b64encode(b"\0" * 1_100_000).decode()
    with pytest.raises(SpeechFailure) as info:
        worker.lipsync(LipSyncRequest(audio_base64=too_big, sample_rate=16000), voice)
    assert info.value.code == "audio_too_large" and status_of(info.value.code) == 413
    with pytest.raises(SpeechFailure) as info:
        worker.lipsync(LipSyncRequest(audio_base64="!!!"), voice)
    assert info.value.code == "invalid_audio" and status_of(info.value.code) == 422
    with pytest.raises(SpeechFailure) as info:
        worker.speak("hi", Voice(voice_id="no-such-voice"), False, "oculus", "x")
    assert info.value.code == "unknown_voice" and "/voices" in info.value.message
    assert status_of(info.value.code) == 422


def test_timing_requires_known_phones_and_one_duration(worker: SpeechWorker) -> None:
    with pytest.raises(ValueError, match="not ARPAbet"):
        TimingRequest(phonemes=["ZZ"], duration_ms=100)
    with pytest.raises(ValueError, match="exactly one"):
        TimingRequest(phonemes=["AA"], duration_ms=100, duration=0.1)
    out = worker.timing(TimingRequest(phonemes=["S", "IY1"], duration=0.4))
    assert out["phonemes"][-1]["end_ms"] == pytest.approx(400)


def test_default_voice_stream_is_event_sourced() -> None:
    journal = MemoryJournal()
    voices = DefaultVoice(journal, "t1")
    assert voices.get().voice is None
    assert voices.detach().version == 0  # nothing to detach: nothing recorded
    state = voices.attach(Voice(voice_id="en-gb"))
    assert state.version == 1 and state.voice == Voice(voice_id="en-gb")
    assert DefaultVoice(journal, "t1").detach().voice is None
    assert DefaultVoice(journal, "t2").get().version == 0  # tenants are separate
    assert [r.type for r in journal.read("voice:t1:default")] == ["VoiceAttached", "VoiceDetached"]

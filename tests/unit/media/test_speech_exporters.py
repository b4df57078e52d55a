"""Exports of a track, each checked against its format, and the ARKit mouth against audio."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from functools import cache

import numpy as np
import pytest

from events.speech import LipSyncTrack, TimedPhone, TimedWord
from media.speech.arkit import arkit_weights, frame_times, to_arkit
from media.speech.errors import InvalidSpeechInput
from media.speech.exporters import (
    FORMATS,
    export,
    to_azure,
    to_oculus,
    to_polly,
    to_polly_jsonl,
    to_rhubarb,
    to_rhubarb_tsv,
)
from media.speech.tts import Speech, synthesize
from media.speech.visemes import (
    ARKIT_MOUTH_SHAPES,
    OCULUS_VISEMES,
    POLLY_VISEMES,
    RHUBARB_SHAPES,
)

pytestmark = pytest.mark.timeout(60)

TEXT = (
    "Maybe the big problem is simple. Bob bought a map, a pen and some paper; "
    "we will probably meet by the main building before lunch."
)
PARAGRAPH = (
    "Welcome back. Today we are going to talk about how you approach a problem that you have "
    "never seen before. Imagine a small company that sells handmade furniture online, and "
    "their website becomes very slow every Monday morning. Walk me through what you would "
    "check first, what you would measure, and how you would explain the fix to the owner."
)


@cache
def speech() -> Speech:
    return synthesize(TEXT)


def _monotonic(values: Sequence[float]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def test_oculus_matches_talkinghead_speakaudio() -> None:
    out = to_oculus(speech().track)
    assert set(out) == {"visemes", "vtimes", "vdurations", "words", "wtimes", "wdurations"}
    n = len(out["visemes"])
    assert n > 20
    assert len(out["vtimes"]) == len(out["vdurations"]) == n
    assert set(out["visemes"]) <= set(OCULUS_VISEMES) - {"sil"}
    assert _monotonic(out["vtimes"])
    assert all(d > 0 for d in out["vdurations"])
    words = out["words"]
    assert words[:3] == ["Maybe", "the", "big"]
    assert len(out["wtimes"]) == len(out["wdurations"]) == len(words)
    assert _monotonic(out["wtimes"])
    json.dumps(out)
    with_sil = to_oculus(speech().track, include_silence=True)
    assert "sil" in with_sil["visemes"]
    assert len(with_sil["visemes"]) > n


def test_arkit_keyframes_shape() -> None:
    track = speech().track
    out = to_arkit(track, fps=30)
    assert out["names"] == list(ARKIT_MOUTH_SHAPES)
    times, frames = out["times"], out["frames"]
    assert isinstance(times, list) and isinstance(frames, list)
    assert len(times) == len(frames) == int(track.duration_ms * 30 / 1000) + 1
    assert times[0] == 0.0 and _monotonic(times)
    assert times[-1] <= track.duration_ms
    assert all(len(row) == len(ARKIT_MOUTH_SHAPES) for row in frames)
    assert all(0.0 <= w <= 1.0 for row in frames for w in row)
    json.dumps(out)


def test_every_p_b_m_closes_the_mouth_over_its_span() -> None:
    track = speech().track
    closures = [p for p in track.phones if p.phone in {"P", "B", "M"}]
    assert len(closures) >= 15
    jaw = ARKIT_MOUTH_SHAPES.index("jawOpen")
    close = ARKIT_MOUTH_SHAPES.index("mouthClose")
    for p in closures:
        times = np.linspace(p.start_ms, p.end_ms, 5)
        weights = arkit_weights(track, times)
        assert weights[:, jaw].max() <= 0.02, p
        assert weights[:, close].min() >= 0.6, p
    # the sampled export agrees
    frames = np.array(to_arkit(track, fps=100)["frames"])
    t = frame_times(track.duration_ms, 100)
    for p in closures:
        inside = (t >= p.start_ms) & (t <= p.end_ms)
        assert (frames[inside, jaw] <= 0.02).all()


def test_smoothing_blends_neighbours_but_unsmoothed_steps() -> None:
    track = LipSyncTrack(
        duration_ms=400.0,
        phones=(
            TimedPhone(phone="AA", start_ms=0.0, end_ms=200.0),
            TimedPhone(phone="IY", start_ms=200.0, end_ms=400.0),
        ),
    )
    jaw = ARKIT_MOUTH_SHAPES.index("jawOpen")
    times = np.array([100.0, 190.0, 199.0, 201.0, 210.0, 300.0])
    smooth = arkit_weights(track, times)[:, jaw]
    step = arkit_weights(track, times, smoothing=False)[:, jaw]
    assert step[2] - step[3] > 0.3  # a jump at the boundary
    assert abs(smooth[2] - smooth[3]) < 0.05  # no jump when smoothed
    assert smooth[0] > smooth[-1]  # AA more open than IY in the middles
    assert np.all(np.diff(smooth) <= 1e-9)  # a monotonic transition


def test_mouth_opening_follows_the_audio_envelope() -> None:
    spoken = synthesize(PARAGRAPH)
    samples = spoken.pcm.astype(np.float64)
    hop = spoken.sample_rate // 100  # 10 ms
    n = len(samples) // hop
    rms = np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    envelope = np.convolve(rms, np.ones(5) / 5, mode="same")  # 50 ms
    times = np.arange(n, dtype=np.float64) * 10.0 + 5.0
    jaw = arkit_weights(spoken.track, times)[:, ARKIT_MOUTH_SHAPES.index("jawOpen")]
    r = float(np.corrcoef(jaw, envelope)[0, 1])
    assert r >= 0.5, r


def test_azure_viseme_ids_and_offsets() -> None:
    track = speech().track
    events = to_azure(track)
    ids = [e["visemeId"] for e in events]
    offsets = [e["audioOffset"] for e in events]
    assert all(isinstance(i, int) and 0 <= i <= 21 for i in ids)
    assert 21 in ids and ids[0] == 0 and ids[-1] == 0
    assert offsets[0] == 0 and _monotonic(offsets)
    assert all(a != b for a, b in itertools.pairwise(ids))  # runs merged
    assert offsets[-1] <= track.duration_ms * 10_000
    for e in events:  # ticks of 100 ns and ms agree (ms rounded to 0.1)
        assert abs(e["audioOffset"] - e["offsetMs"] * 10_000) <= 500


def test_polly_speech_marks() -> None:
    track = speech().track
    marks = to_polly(track, TEXT)
    assert {m["type"] for m in marks} == {"word", "viseme"}
    assert _monotonic([m["time"] for m in marks])
    encoded = TEXT.encode()
    for m in marks:
        assert isinstance(m["time"], int)
        if m["type"] == "word":
            assert set(m) == {"time", "type", "start", "end", "value"}
            assert encoded[m["start"] : m["end"]].decode() == m["value"]
        else:
            assert set(m) == {"time", "type", "value"}
            assert m["value"] in set(POLLY_VISEMES.values())
    lines = to_polly_jsonl(track, TEXT).splitlines()
    assert [json.loads(line) for line in lines] == marks


def test_polly_byte_offsets_with_multibyte_text() -> None:
    track = LipSyncTrack(
        duration_ms=1000.0,
        words=(
            TimedWord(word="café", start_ms=0.0, end_ms=400.0),
            TimedWord(word="olé", start_ms=500.0, end_ms=900.0),
        ),
    )
    words = [m for m in to_polly(track, "café, olé!") if m["type"] == "word"]
    assert [(m["start"], m["end"]) for m in words] == [(0, 5), (7, 11)]


def test_rhubarb_json_and_tsv() -> None:
    track = speech().track
    out = to_rhubarb(track, sound_file="a.wav")
    assert out["metadata"] == {"soundFile": "a.wav", "duration": round(track.duration_ms / 1000, 2)}
    cues = out["mouthCues"]
    assert isinstance(cues, list)
    assert cues[0]["start"] == 0.0 and cues[-1]["value"] == "X"
    assert cues[-1]["end"] == pytest.approx(track.duration_ms / 1000, abs=0.011)
    for a, b in itertools.pairwise(cues):
        assert a["end"] == b["start"] and a["value"] != b["value"]
    assert all(c["end"] > c["start"] for c in cues)
    assert {c["value"] for c in cues} <= set(RHUBARB_SHAPES)
    assert "A" in {c["value"] for c in cues}
    tsv = to_rhubarb_tsv(track).splitlines()
    rows = [line.split("\t") for line in tsv]
    assert all(len(r) == 2 and r[1] in RHUBARB_SHAPES for r in rows)
    assert [float(r[0]) for r in rows[: len(cues)]] == [c["start"] for c in cues]


def test_export_dispatch() -> None:
    """Each format name reaches its own exporter (a swapped entry would fail here)."""
    track = speech().track
    expected = {
        "oculus": to_oculus,
        "arkit": to_arkit,
        "azure": to_azure,
        "polly": to_polly,
        "polly_jsonl": to_polly_jsonl,
        "rhubarb": to_rhubarb,
        "rhubarb_tsv": to_rhubarb_tsv,
    }
    assert set(FORMATS) == set(expected)
    outputs = {fmt: export(track, fmt) for fmt in FORMATS}
    for fmt, exporter in expected.items():
        assert outputs[fmt] == exporter(track), fmt
    distinct = {json.dumps(o, sort_keys=True) for o in outputs.values()}
    assert len(distinct) == len(FORMATS), "two formats gave the same output"
    with pytest.raises(InvalidSpeechInput, match="oculus"):
        export(track, "bogus")


def test_empty_track_exports() -> None:
    empty = LipSyncTrack(duration_ms=0.0)
    assert to_oculus(empty)["visemes"] == []
    assert to_azure(empty) == [{"visemeId": 0, "audioOffset": 0, "offsetMs": 0.0}]
    assert to_rhubarb(empty)["mouthCues"] == []
    assert len(to_arkit(empty)["frames"]) == 1

"""Speech routes on a real Ray + Serve: espeak-ng audio from the Speech deployment, lip-sync
exports, client-audio analysis, voices, and speak/interrupt recorded as avatar events.

Audio comes back through the asset URL and is decoded here (``wave`` + numpy); concurrent
requests are checked against a sequential synthesis of the same text by their RMS envelopes
(espeak-ng is not sample-deterministic between runs, its envelope is).
"""

from __future__ import annotations

import asyncio
import base64
import io
import wave

import aiohttp
import numpy as np
import pytest

from media.speech import synthesize
from tests.integration.conftest import Service
from tests.integration.helpers import all_events, call, frames, new_id

pytestmark = pytest.mark.timeout(120)
# Speech does not depend on how entities are placed: one placement, except where events are
# recorded through the avatar's actor.
dedicated = pytest.mark.parametrize("service", ["dedicated"], indirect=True)

SENTENCE = (
    "Thank you for coming in today, could you please tell me a little about "
    "the last project you worked on?"
)
TALKINGHEAD_KEYS = {"visemes", "vtimes", "vdurations", "words", "wtimes", "wdurations"}


async def get_bytes(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, str]:
    async with http.get(url) as r:
        return r.status, await r.read(), r.content_type


def wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate()


def envelope(pcm: np.ndarray, rate: int) -> np.ndarray:
    hop = rate // 50
    n = len(pcm) // hop
    return np.sqrt((pcm[: n * hop].astype(float).reshape(n, hop) ** 2).mean(1))


def same_speech(a: np.ndarray, b: np.ndarray, rate: int) -> float:
    ea, eb = envelope(a, rate), envelope(b, rate)
    n = min(len(ea), len(eb))
    return float(np.corrcoef(ea[:n], eb[:n])[0, 1])


def check_track(body: dict, duration_ms: float) -> None:
    phones = body["phonemes"]
    assert phones, body
    starts = [p["start_ms"] for p in phones]
    assert starts == sorted(starts)
    assert all(0 <= p["start_ms"] <= p["end_ms"] <= duration_ms + 1 for p in phones)


@dedicated
async def test_lipsync_text_gives_real_audio_and_a_talkinghead_track(
    service: Service, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "POST", f"{service.api}/lipsync", {"text": SENTENCE})
    assert status == 200, body
    assert body["format"] == "oculus" and body["source"] == "text"
    assert set(body["visemes"]) >= TALKINGHEAD_KEYS
    v = body["visemes"]
    assert len(v["visemes"]) == len(v["vtimes"]) == len(v["vdurations"]) > 10
    assert len(v["words"]) == len(v["wtimes"]) == 20
    assert "PP" in v["visemes"]  # "please", "project", "about": lips closed at some point
    audio = body["audio"]
    assert audio["mime"] == "audio/wav" and len(audio["sha256"]) == 64
    status, data, ctype = await get_bytes(http, f"{service.base}{audio['url']}")
    assert status == 200 and ctype.startswith("audio/")
    pcm, rate = wav_samples(data)
    assert abs(len(pcm) * 1000 / rate - body["duration_ms"]) < 1.0
    assert body["duration"] == pytest.approx(body["duration_ms"] / 1000, abs=1e-3)
    check_track(body, body["duration_ms"])


@dedicated
@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("arkit", lambda v: "jawOpen" in v["names"] and len(v["frames"]) == len(v["times"])),
        ("azure", lambda v: all(0 <= x["visemeId"] <= 21 for x in v)),
        ("polly", lambda v: {m["type"] for m in v} >= {"viseme", "word"}),
        ("polly_jsonl", lambda v: all(line.startswith("{") for line in v.splitlines())),
        ("rhubarb", lambda v: {c["value"] for c in v["mouthCues"]} <= set("ABCDEFGHX")),
        ("rhubarb_tsv", lambda v: all(len(line.split("\t")) == 2 for line in v.splitlines())),
    ],
)
async def test_every_export_format(
    service: Service, http: aiohttp.ClientSession, fmt: str, check: object
) -> None:
    body = {"text": "Maybe we can begin.", "format": fmt, "audio_response": "none"}
    status, out, _ = await call(http, "POST", f"{service.api}/lipsync", body)
    assert status == 200, out
    assert out["format"] == fmt and out["audio"] is None
    assert check(out["visemes"])  # type: ignore[operator]


@dedicated
async def test_lipsync_inline_audio_and_bad_input(
    service: Service, http: aiohttp.ClientSession
) -> None:
    url = f"{service.api}/lipsync"
    status, body, _ = await call(
        http, "POST", url, {"text": "Hello.", "audio_response": "base64", "voice": "en-gb"}
    )
    assert status == 200, body
    pcm, rate = wav_samples(base64.b64decode(body["audio"]["base64"]))
    assert abs(len(pcm) * 1000 / rate - body["duration_ms"]) < 1.0
    assert body["voice"]["language"] == "en-gb"
    cases = [
        ({"text": ""}, 422),
        ({"text": "   "}, 422),
        ({"text": "a" * 120_001}, 413),
        ({"text": "hi", "voice": "no-such-voice"}, 422),
        ({"text": "hi", "format": "mp3"}, 422),
        ({"text": "hi", "audio_base64": "AAAA"}, 422),
        ({}, 422),
    ]
    for req, expected in cases:
        status, err, _ = await call(http, "POST", url, req)
        assert status == expected, (req, err)
        assert err["code"] and err["message"]
    status, err, _ = await call(http, "POST", url, {"text": "hi", "voice": "no-such-voice"})
    assert "/voices" in err["message"]


@dedicated
async def test_lipsync_from_client_audio_three_ways(
    service: Service, http: aiohttp.ClientSession
) -> None:
    spoken = synthesize("Please tell me about your team.")
    wav = spoken.wav_bytes()
    url = f"{service.api}/lipsync"
    status, body, _ = await call(
        http,
        "POST",
        url,
        {
            "audio_base64": base64.b64encode(wav).decode(),
            "transcript": "Please tell me about your team.",
        },
    )
    assert status == 200, body
    assert body["source"] == "audio" and body["audio"] is None
    assert body["duration_ms"] == pytest.approx(spoken.duration_ms, abs=1)
    assert [w["word"].lower().strip(".") for w in body["words"]][:2] == ["please", "tell"]
    check_track(body, body["duration_ms"])
    raw = {
        "audio_base64": base64.b64encode(spoken.pcm_bytes()).decode(),
        "sample_rate": spoken.sample_rate,
        "format": "rhubarb",
    }
    status, body, _ = await call(http, "POST", url, raw)
    assert status == 200 and body["visemes"]["mouthCues"], body

    form = aiohttp.FormData()
    form.add_field("audio", wav, filename="a.wav", content_type="audio/wav")
    form.add_field("transcript", "Please tell me about your team.")
    async with http.post(url, data=form) as r:
        assert r.status == 200, await r.text()
        multipart = await r.json()
    assert multipart["duration_ms"] == pytest.approx(spoken.duration_ms, abs=1)
    async with http.post(
        f"{url}?format=azure", data=wav, headers={"Content-Type": "audio/wav"}
    ) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["format"] == "azure"
    async with http.post(url, data=b"not audio", headers={"Content-Type": "audio/wav"}) as r:
        assert r.status == 422
    async with http.post(url, data=b"x", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415


@dedicated
async def test_preview_phonemes_timing_visemes_voices(
    service: Service, http: aiohttp.ClientSession
) -> None:
    status, pre, _ = await call(http, "POST", f"{service.api}/lipsync/preview", {"text": SENTENCE})
    assert status == 200 and "audio" not in pre and set(pre["visemes"]) >= TALKINGHEAD_KEYS
    status, tts, _ = await call(http, "POST", f"{service.api}/phonemes", {"text": "Good morning"})
    assert status == 200 and tts["source"] == "tts"
    status, est, _ = await call(
        http, "POST", f"{service.api}/phonemes", {"text": "Good morning", "synthesize": False}
    )
    assert status == 200 and est["source"] == "estimate"
    assert [p["phone"] for p in est["phonemes"] if p["phone"] != "sil"][:3] == ["G", "UH", "D"]
    status, timed, _ = await call(
        http,
        "POST",
        f"{service.api}/phonemes/timing",
        {"phonemes": ["P", "AA1", "T"], "duration_ms": 600},
    )
    assert status == 200, timed
    p, aa, t = timed["phonemes"]
    assert aa["end_ms"] - aa["start_ms"] > p["end_ms"] - p["start_ms"]  # vowels outlast stops
    assert t["end_ms"] == pytest.approx(600)
    status, _, _ = await call(
        http, "POST", f"{service.api}/phonemes/timing", {"phonemes": ["QQ"], "duration_ms": 5}
    )
    assert status == 422
    status, sets, _ = await call(http, "GET", f"{service.api}/visemes")
    assert status == 200 and len(sets["oculus"]["visemes"]) == 15 and "arkit" in sets["formats"]
    assert sets["oculus"]["phone_to_viseme"]["P"] == "PP"
    status, voices, _ = await call(http, "GET", f"{service.api}/voices")
    assert status == 200 and len(voices["voices"]) > 50
    assert voices["voices"][0]["gender"] in {"male", "female", "unknown"}
    for lang in ("en-us", "en-gb", "de", "fr", "es"):
        status, body, _ = await call(
            http, "POST", f"{service.api}/lipsync", {"text": "one two", "voice": lang}
        )
        assert status == 200 and body["duration_ms"] > 100, (lang, body)


@dedicated
async def test_default_and_avatar_voices(service: Service, http: aiohttp.ClientSession) -> None:
    api = service.api
    status, st, _ = await call(http, "POST", f"{api}/voice/attach", {"voice": "en-gb", "rate": 200})
    assert status == 200 and st["attached"] and st["voice"]["voice_id"] == "en-gb"
    _, st, _ = await call(http, "GET", f"{api}/voice/status")
    assert st["effective"]["rate"] == 200 and st["resolved"]["language"] == "en-gb"
    status, _, _ = await call(http, "POST", f"{api}/voice/attach", {"voice": "nope-xx"})
    assert status == 422
    aid = new_id()
    _, st, _ = await call(http, "GET", f"{api}/{aid}/voice/status")
    assert not st["attached"] and st["effective"]["voice_id"] == "en-gb"  # the service default
    status, st, headers = await call(http, "POST", f"{api}/{aid}/voice/attach", {"voice_id": "de"})
    assert status == 200 and st["voice"]["voice_id"] == "de" and headers["etag"]
    status, said, _ = await call(http, "POST", f"{api}/{aid}/speak", {"text": "Guten Tag"})
    assert status == 200 and said["voice"]["voice_id"] == "de", said
    status, st, _ = await call(http, "DELETE", f"{api}/{aid}/voice/detach")
    assert status == 200 and not st["attached"]
    status, again, _ = await call(http, "DELETE", f"{api}/{aid}/voice/detach")
    assert status == 200 and again["version"] == st["version"]  # nothing more recorded
    types = [e["type"] for e in await all_events(http, f"{api}/{aid}/events")]
    assert types == ["AvatarCreated", "VoiceAttached", "SpeechStarted", "VoiceDetached"]
    status, st, _ = await call(http, "DELETE", f"{api}/voice/detach")
    assert status == 200 and not st["attached"] and st["effective"]["voice_id"] == "en-us"


@pytest.mark.parametrize("service", ["dedicated", "hosted"], indirect=True)
async def test_speak_reaches_the_stream_then_interrupt(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    long_text = " ".join([SENTENCE] * 6)
    async with http.ws_connect(f"{service.ws_api}/{aid}/stream") as ws:
        await frames(ws, 1)  # the snapshot
        status, said, _ = await call(
            http, "POST", f"{service.api}/{aid}/speak", {"text": long_text}
        )
        assert status == 200, said
        [frame] = await frames(ws, 1)
        event = frame["event"]
        if event["type"] == "AvatarCreated":
            [frame] = await frames(ws, 1)
            event = frame["event"]
        assert event["type"] == "SpeechStarted"
        assert event["data"]["utterance_id"] == said["utterance_id"]
        assert event["data"]["track"]["phones"] and event["data"]["audio_asset_id"]
        assert event["data"]["duration_ms"] == pytest.approx(said["duration_ms"])
        await asyncio.sleep(0.3)
        status, cut, _ = await call(http, "POST", f"{service.api}/{aid}/speak/interrupt")
        assert status == 200, cut
        assert 250 <= cut["at_ms"] < said["duration_ms"]
        [frame] = await frames(ws, 1)
        assert frame["event"]["type"] == "SpeechInterrupted"
    status, err, _ = await call(http, "POST", f"{service.api}/{aid}/speak/interrupt")
    assert status == 409 and err["code"] == "conflict"
    status, data, _ = await get_bytes(http, f"{service.base}{said['audio']['url']}")
    pcm, rate = wav_samples(data)
    assert abs(len(pcm) * 1000 / rate - said["duration_ms"]) < 1.0
    _, state, _ = await call(http, "GET", f"{service.api}/{aid}/state")
    assert state["state"]["speech"]["interrupted_at_ms"] == cut["at_ms"]


@dedicated
async def test_speak_errors_record_nothing(service: Service, http: aiohttp.ClientSession) -> None:
    aid = new_id()
    url = f"{service.api}/{aid}/speak"
    for body, expected in [
        ({"text": ""}, 422),
        ({"text": "x" * 120_001}, 413),
        ({"text": "hi", "voice": "no-such-voice"}, 422),
        ({"text": "hi", "rate": 5}, 422),
    ]:
        status, err, _ = await call(http, "POST", url, body)
        assert status == expected, (body, err)
    status, page, _ = await call(http, "GET", f"{service.api}/{aid}/events")
    assert page["highest_version"] == 0

    async def audio_assets() -> set[str]:
        ids: set[str] = set()
        offset: int | None = 0
        while offset is not None:
            status, page, _ = await call(
                http, "GET", f"{service.api}/assets?kind=audio&limit=500&offset={offset}"
            )
            assert status == 200, page
            ids |= {a["asset_id"] for a in page["items"]}
            offset = page["next_offset"]
        return ids

    # refused after synthesis (a stale If-Match): nothing recorded, nothing left stored
    before = await audio_assets()
    status, err, _ = await call(http, "POST", url, {"text": "Stale."}, {"If-Match": '"7"'})
    assert status == 409, err
    assert await audio_assets() == before
    key = {"Idempotency-Key": f"k-{aid}"}
    _, first, _ = await call(http, "POST", url, {"text": "Once."}, key)
    stored = await audio_assets()
    assert stored == before | {first["audio"]["asset_id"]}
    _, again, _ = await call(http, "POST", url, {"text": "Once."}, key)
    assert again["replayed"] and again["utterance_id"] == first["utterance_id"]
    assert again["audio"] == first["audio"]  # the recorded audio, sample rate included
    assert again["version"] == first["version"]
    assert again["phonemes"] == first["phonemes"] and again["visemes"] == first["visemes"]
    assert again["resolved_voice"] == first["resolved_voice"]
    assert await audio_assets() == stored, "a retry stored audio again"


@dedicated
async def test_concurrent_lipsync_never_mixes_audio(
    service: Service, http: aiohttp.ClientSession
) -> None:
    texts = [
        "One, two, three, four.",
        "Please describe the architecture of your last system in detail.",
        "Yes.",
        "How do you handle a disagreement with a colleague about design?",
        "Tell me more.",
        "What would you change if you started that project again today?",
    ]

    async def one(text: str) -> tuple[str, np.ndarray, int]:
        status, body, _ = await call(http, "POST", f"{service.api}/lipsync", {"text": text})
        assert status == 200, body
        _, data, _ = await get_bytes(http, f"{service.base}{body['audio']['url']}")
        pcm, rate = wav_samples(data)
        assert abs(len(pcm) * 1000 / rate - body["duration_ms"]) < 1.0
        return text, pcm, rate

    results = await asyncio.gather(*(one(t) for t in texts * 2))
    alone = {t: synthesize(t).pcm.astype(np.int16) for t in texts}
    for text, pcm, rate in results:
        assert abs(len(pcm) - len(alone[text])) < rate * 0.05, text
        own = same_speech(pcm, alone[text], rate)
        others = [same_speech(pcm, alone[t], rate) for t in texts if t != text]
        assert own > 0.8 and own > max(others) + 0.2, (text, own, others)

"""The render worker without Ray: frames, sequences, session replays from a memory journal,
jobs, the output store and the request models' limits."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from assets import LocalAssetStore
from events.avatar import (
    AnimationTriggered,
    AvatarCreated,
    AvatarState,
    EmotionSet,
    StatePatch,
    StatePatched,
)
from events.base import Event
from events.memory import MemoryJournal
from events.picture import Shading
from events.session import MarkerAdded, SessionClosed, SessionStarted, TranscriptLine
from serve_app.rendering.jobs import STALE_AFTER_S, JobStore
from serve_app.rendering.models import FrameRequest, ReplayRequest, SequenceRequest
from serve_app.rendering.outputs import AssetOutputs
from serve_app.rendering.timelines import events_timeline, session_timeline
from serve_app.rendering.work import RenderWorker
from tests.fakes import Clock
from tests.ffmpeg_decode import framemd5

pytestmark = pytest.mark.timeout(120)

T0 = 1_700_000_000.0


def stream_of(kind: str, entity_id: str) -> str:
    return f"{kind}:t:{entity_id}"


@pytest.fixture
def journal() -> MemoryJournal:
    return MemoryJournal()


@pytest.fixture
def worker(journal: MemoryJournal, tmp_path: Path) -> RenderWorker:
    return RenderWorker(
        journal,
        stream_of,
        AssetOutputs(LocalAssetStore(tmp_path / "assets"), "t"),
        JobStore(journal, "t"),
        tmp_path / "tmp",
    )


def put(journal: MemoryJournal, stream: str, at: float, *events: Event) -> None:
    journal.append(stream, list(events), recorded_at=at)


def recorded_session(journal: MemoryJournal, closed: bool = True) -> None:
    """An avatar made sad before the session; during it: happy at +0.5 s, a nod at +1 s, a
    gaze change at +1.5 s; closed at +2.4 s; an event after the close is outside the window."""
    a, s = stream_of("avatar", "ada"), stream_of("session", "s1")
    put(journal, a, T0 - 10, AvatarCreated(avatar_id="ada", tenant="t"))
    put(journal, a, T0 - 5, EmotionSet(emotion="sad", intensity=0.9, transition_ms=0))
    put(
        journal,
        s,
        T0,
        SessionStarted(
            session_id="s1",
            tenant="t",
            avatar_id="ada",
            avatar_version=2,
            ttl_seconds=600,
            expires_at=T0 + 600,
        ),
    )
    put(journal, a, T0 + 0.5, EmotionSet(emotion="happy", intensity=0.8, transition_ms=200))
    put(journal, s, T0 + 0.7, MarkerAdded(label="q1"))
    put(journal, a, T0 + 1.0, AnimationTriggered(name="nod", duration_ms=800))
    put(journal, s, T0 + 1.2, TranscriptLine(speaker="user", text="hi"))
    put(journal, a, T0 + 1.5, StatePatched(patch=StatePatch(gaze_x=0.5)))
    if closed:
        put(journal, s, T0 + 2.4, SessionClosed(avatar_version=5))
        put(journal, a, T0 + 3.0, EmotionSet(emotion="angry", intensity=1.0, transition_ms=0))


def file_of(tmp_path: Path, result: dict[str, Any]) -> Path:
    path, _ = LocalAssetStore(tmp_path / "assets").open_path("t", result["asset_id"])
    return path


# ---------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    "body",
    [
        {"width": 16384, "height": 16384},
        {"width": 4097},
        {"height": 63},
        {"format": "bmp"},
        {"resolution": "15360x8640"},
        {"parameters": {"noSuchShape": 1.0}},
        {"emotion": "ecstatic"},
    ],
)
def test_frame_request_refuses_bad_input(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FrameRequest.model_validate(body)


def test_frame_request_accepts_seed_forms() -> None:
    req = FrameRequest.model_validate({"resolution": "1920x1080", "format": "JPG"})
    assert (req.width, req.height, req.format) == (1920, 1080, "jpeg")
    assert FrameRequest.model_validate({"width": 4096, "height": 64}).width == 4096


@pytest.mark.parametrize(
    "body",
    [
        {},  # nothing to render
        {"text": "hi", "format": "avi"},
        {"text": "hi", "fps": 120},
        {"text": "hi", "width": 16384},
        {"events": {"from_version": 1}},  # events need an avatar
        {"avatar_id": "a", "events": {"from_version": 1}, "text": "hi"},
    ],
)
def test_sequence_request_refuses_bad_input(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SequenceRequest.model_validate(body)


# ---------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    ("fmt", "magic", "mime"),
    [
        ("png", b"\x89PNG", "image/png"),
        ("jpeg", b"\xff\xd8\xff", "image/jpeg"),
        ("webp", b"RIFF", "image/webp"),
    ],
)
def test_frame_formats(worker: RenderWorker, fmt: str, magic: bytes, mime: str) -> None:
    data, got = worker.frame(FrameRequest(format=fmt, width=96, height=80), None)  # type: ignore[arg-type]
    assert data.startswith(magic) and got == mime


def decode_png(data: bytes) -> np.ndarray[Any, Any]:
    import skia

    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(data))
    return np.asarray(image.toarray())


def test_frame_parameters_and_emotion_change_the_picture(worker: RenderWorker) -> None:
    base = decode_png(worker.frame(FrameRequest(width=128, height=128), None)[0])
    opened = decode_png(
        worker.frame(FrameRequest(width=128, height=128, parameters={"jawOpen": 1.0}), None)[0]
    )
    happy = decode_png(worker.frame(FrameRequest(width=128, height=128, emotion="happy"), None)[0])
    assert base.shape[:2] == (128, 128)
    assert not np.array_equal(base, opened)
    assert not np.array_equal(base, happy)
    # drawing the same request twice gives the same pixels (rig cache reused)
    again = decode_png(worker.frame(FrameRequest(width=128, height=128), None)[0])
    assert np.array_equal(base, again)


# ---------------------------------------------------------------------------- replays


def test_session_timeline_comes_from_the_journal_window(
    worker: RenderWorker, journal: MemoryJournal
) -> None:
    recorded_session(journal)
    timeline, session, _ = session_timeline(worker.journal, worker.stream_of, "s1")
    assert timeline.initial.emotion.emotion == "sad"  # folded up to the start version
    assert timeline.duration_ms == pytest.approx(2400.0)
    kinds = [(round(c.at_ms), type(c.event).__name__) for c in timeline.cues]
    assert kinds == [(500, "EmotionSet"), (1000, "AnimationTriggered"), (1500, "StatePatched")]
    assert session.status == "closed"


def test_open_session_plays_to_its_last_event(worker: RenderWorker, journal: MemoryJournal) -> None:
    recorded_session(journal, closed=False)
    timeline, _, _ = session_timeline(worker.journal, worker.stream_of, "s1")
    assert timeline.duration_ms == pytest.approx(2300.0)  # the nod ends at 1.8 s, + 0.5 s


def test_two_replays_have_identical_frames(
    worker: RenderWorker, journal: MemoryJournal, tmp_path: Path
) -> None:
    recorded_session(journal)
    opts = ReplayRequest(width=96, height=96, fps=30)
    first = worker.replay("s1", opts)
    hashes = framemd5(file_of(tmp_path, first))
    second = worker.replay("s1", opts)
    assert first["frames"] == 72 and len(hashes) == 72  # 2.4 s x 30 fps
    assert framemd5(file_of(tmp_path, second)) == hashes
    assert len(set(hashes)) > 10  # it moves
    assert [m["label"] for m in first["markers"]] == ["q1"]
    assert first["transcript"][0]["at_ms"] == pytest.approx(1200.0)
    path = file_of(tmp_path, first)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first["sha256"]


def test_unknown_session_fails_the_job_with_404(worker: RenderWorker) -> None:
    job = worker.jobs.create("replay", {"session_id": "nope", "options": {}}, "ingress:t")
    done = worker.run_job(job.job_id, 1)
    assert done["status"] == "failed" and done["error"]["status"] == 404
    assert done["error"]["code"] == "session_not_found"


def test_replay_job_records_progress_and_result(
    worker: RenderWorker, journal: MemoryJournal, tmp_path: Path
) -> None:
    recorded_session(journal)
    opts = ReplayRequest(width=64, height=64, format="webm")
    job = worker.jobs.create(
        "replay", {"session_id": "s1", "options": opts.model_dump()}, "ingress:t", session_id="s1"
    )
    assert job.status == "queued"
    done = worker.run_job(job.job_id, 1)
    assert done["status"] == "done" and done["progress"] == 1.0 and done["attempts"] == 1
    assert done["frames_done"] == done["frames_total"] == 72
    assert done["result"]["mime"] == "video/webm"
    assert file_of(tmp_path, done["result"]).stat().st_size == done["result"]["size"]
    assert worker.run_job(job.job_id, 1)["finished_at"] == done["finished_at"]  # runs once
    types = [r.type for r in journal.read(worker.jobs.stream(job.job_id))]
    assert types[:3] == ["JobQueued", "JobClaimed", "JobProgress"] and types[-1] == "JobFinished"
    assert types.count("JobProgress") <= 3  # throttled: start, about 1/s, the last frame


def test_a_job_taken_over_mid_render_stops_and_records_nothing(
    journal: MemoryJournal, tmp_path: Path
) -> None:
    """Attempt 1 is taken over while its renderer works (the renderer looked dead); its next
    progress write is refused, the render stops, and the job is left to attempt 2."""
    recorded_session(journal)
    clock = Clock(T0 + 100)
    jobs = JobStore(journal, "t", clock)
    opts = ReplayRequest(width=64, height=64)
    job = jobs.create("replay", {"session_id": "s1", "options": opts.model_dump()}, "ingress:a")

    def shading_after_a_take_over() -> Shading:
        # asked once the attempt has started, before the first frame: the stall happens here
        clock.now += STALE_AFTER_S + 1
        assert jobs.take_over(job.job_id, "ingress:b") is not None
        return "toon"

    assets = LocalAssetStore(tmp_path / "assets")
    worker = RenderWorker(
        journal,
        stream_of,
        AssetOutputs(assets, "t"),
        jobs,
        tmp_path / "tmp",
        shading_after_a_take_over,
    )
    out = worker.run_job(job.job_id, 1)
    assert (out["status"], out["attempts"], out["result"]) == ("queued", 2, None)
    assert assets.page("t").total == 0  # no output stored
    types = [r.type for r in journal.read(jobs.stream(job.job_id))]
    assert types == ["JobQueued", "JobClaimed", "JobProgress", "JobClaimed"]
    assert worker.run_job(job.job_id, 1)["attempts"] == 2  # the old attempt cannot start again


def test_event_range_sequence(worker: RenderWorker, journal: MemoryJournal) -> None:
    recorded_session(journal)
    req = SequenceRequest(
        avatar_id="ada", events={"from_version": 3, "to_version": 4}, width=64, height=64
    )
    timeline = events_timeline(worker.journal, worker.stream_of, "ada", 3, 4)
    assert [round(c.at_ms) for c in timeline.cues] == [0, 500]
    out = worker.sequence(req, None)
    assert out["frames"] == round(timeline.duration_ms / 1000 * 30)


def test_outputs_are_assets_of_the_tenant(tmp_path: Path) -> None:
    assets = LocalAssetStore(tmp_path / "o")
    store = AssetOutputs(assets, "t")
    a = store.put_bytes(b"abc", name="a.png", kind="image", mime="image/png")
    b = store.put_bytes(b"abc", name="b.png", kind="image", mime="image/png")
    assert a.sha256 == b.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert a.url == f"/api/v1/avatars/assets/{a.asset_id}/content"
    assert assets.get("t", a.asset_id).kind == "image"
    found = store.lookup(a.asset_id)
    assert found is not None and found[0].read_bytes() == b"abc"
    assert AssetOutputs(assets, "other").lookup(a.asset_id) is None
    assert store.lookup("as-../../etc/passwd") is None
    assert store.lookup("r-" + "0" * 64) is None


def test_each_builtin_model_draws_its_own_look(worker: RenderWorker) -> None:
    from assets import BUILTIN_MODELS

    req = FrameRequest(width=128, height=128, format="png")
    frames = {m: worker.frame(req, AvatarState(model_id=m))[0] for m in BUILTIN_MODELS}
    assert len(set(frames.values())) == len(BUILTIN_MODELS)
    shaded = FrameRequest(width=128, height=128, format="png", shading="flat")
    assert worker.frame(shaded, AvatarState(model_id="studio"))[0] == frames["flat"]


def test_the_classic_rig_draws_with_the_configured_shading(
    worker: RenderWorker, tmp_path: Path
) -> None:
    req = FrameRequest(width=128, height=128, format="png")
    toon = worker.frame(req, AvatarState())[0]
    worker.configured_shading = lambda: "pbr"
    assert worker.frame(req, AvatarState())[0] != toon
    assert (
        worker.frame(req, AvatarState())[0] == worker.frame(req, AvatarState(model_id="studio"))[0]
    )
    assert worker.frame(req, AvatarState(model_id="flat"))[0] != toon  # the model's look wins


def test_replays_reuse_the_stored_speech_audio(worker: RenderWorker) -> None:
    from events.avatar import SpeechStarted
    from events.speech import LipSyncTrack
    from media.animation import Cue, Timeline
    from media.speech.audio import wav_bytes
    from serve_app.rendering.audio import recorded_audio

    tone = (np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)
    stored = worker.outputs.put_bytes(
        wav_bytes(tone, 16000), name="u.wav", kind="audio", mime="audio/wav"
    )

    def said(uid: str, asset_id: str | None) -> Cue:
        track = LipSyncTrack(duration_ms=500)
        event = SpeechStarted(
            utterance_id=uid,
            text="Hello.",
            voice_id="en-us",
            audio_asset_id=asset_id,
            duration_ms=500,
            track=track,
        )
        return Cue(0.0, event)

    timeline = Timeline.of(
        AvatarState(), [said("u1", stored.asset_id), said("u2", None), said("u3", "as-gone")], 600
    )
    clips = recorded_audio(timeline, worker._find_audio)
    assert clips["u1"].sample_rate == 16000 and np.array_equal(clips["u1"].samples, tone)
    assert clips["u2"].sample_rate == 22050 and clips["u3"].sample_rate == 22050  # spoken again

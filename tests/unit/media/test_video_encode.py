"""Encoding, decoded back with the same ffmpeg: frames, size, audio, formats, errors."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from events.avatar import (
    AvatarState,
    Customized,
    EmotionSet,
    FaceState,
    SpeechInterrupted,
    SpeechStarted,
    Traits,
)
from events.speech import LipSyncTrack, TimedPhone
from media.animation import Cue, Timeline
from media.face import RenderOptions
from media.video import (
    EncodeError,
    PcmAudio,
    VideoEncoder,
    encode_image,
    render_timeline,
    speech_audio,
)
from tests.ffmpeg_decode import audio_seconds, decode_frames, probe

pytestmark = pytest.mark.timeout(120)


W, H, FPS = 128, 96, 25
RATE = 22050


def tone(seconds: float) -> PcmAudio:
    t = np.arange(round(seconds * RATE)) / RATE
    return PcmAudio((np.sin(2 * np.pi * 330 * t) * 9000).astype(np.int16), RATE)


def frames(n: int) -> list[npt.NDArray[np.uint8]]:
    """Distinct frames: a bar moving across a gradient."""
    out = []
    for i in range(n):
        f = np.zeros((H, W, 4), np.uint8)
        f[..., 0] = np.linspace(0, 255, W, dtype=np.uint8)[None, :]
        f[..., 3] = 255
        f[:, (i * 5) % W : (i * 5) % W + 8, 1] = 255
        out.append(f)
    return out


def encode(path: Path, fmt: str, n: int, audio: PcmAudio | None = None) -> Path:
    with VideoEncoder(path, W, H, FPS, fmt, audio=audio) as enc:
        for f in frames(n):
            enc.write(f)
    return path


def test_mp4_has_h264_aac_frames_size_and_the_speech_duration(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.mp4", "mp4", 2 * FPS, tone(1.6))
    info = probe(path)
    assert re.search(r"Video: h264.*yuv420p.*128x96", info), info
    assert "Audio: aac" in info
    assert abs(len(decode_frames(path, W, H)) - 2 * FPS) <= 1
    assert audio_seconds(path) == pytest.approx(1.6, abs=0.1)
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart


def test_webm_has_vp9_and_opus(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.webm", "webm", FPS, tone(0.8))
    info = probe(path)
    assert "Video: vp9" in info
    assert "Audio: opus" in info
    assert abs(len(decode_frames(path, W, H)) - FPS) <= 1
    assert audio_seconds(path) == pytest.approx(0.8, abs=0.1)


def test_gif_has_every_frame_and_no_audio(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.gif", "gif", 10, tone(0.5))
    info = probe(path)
    assert "Video: gif" in info
    assert "Audio" not in info
    assert len(decode_frames(path, W, H)) == 10


def test_fragmented_mp4_for_streaming(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.mp4", "fmp4", 10)
    assert b"moof" in path.read_bytes()
    assert len(decode_frames(path, W, H)) == 10


def test_odd_sizes_are_padded_to_even_for_yuv420p(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    with VideoEncoder(path, 65, 67, FPS, "mp4") as enc:
        enc.write(np.full((67, 65, 4), 200, np.uint8))
    assert "66x68" in probe(path)


@pytest.mark.parametrize(
    ("fmt", "magic"), [("png", b"\x89PNG"), ("jpeg", b"\xff\xd8"), ("webp", b"RIFF")]
)
def test_single_frames_decode_back(tmp_path: Path, fmt: str, magic: bytes) -> None:
    frame = frames(1)[0]
    data = encode_image(frame, fmt)
    assert data.startswith(magic)
    path = tmp_path / f"f.{fmt}"
    path.write_bytes(data)
    decoded = decode_frames(path, W, H)
    assert decoded.shape == (1, H, W, 3)
    tolerance = 0 if fmt == "png" else 12
    assert np.abs(decoded[0].astype(int) - frame[..., :3]).mean() <= tolerance


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_skia_engine_encodes_the_same_picture(tmp_path: Path, fmt: str) -> None:
    frame = frames(1)[0]
    path = tmp_path / f"s.{fmt}"
    path.write_bytes(encode_image(frame, fmt, engine="skia"))
    decoded = decode_frames(path, W, H)[0].astype(int)
    assert np.abs(decoded - frame[..., :3]).mean() <= (0 if fmt == "png" else 12)


def test_progress_is_reported_per_frame(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    with VideoEncoder(
        tmp_path / "p.mp4",
        W,
        H,
        FPS,
        "mp4",
        total_frames=5,
        progress=lambda done, total: seen.append((done, total)),
    ) as enc:
        for f in frames(5):
            enc.write(f)
    assert seen == [(i, 5) for i in range(1, 6)]


def test_ffmpeg_failure_raises_encode_error_with_its_message(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "a.mp4"
    with (  # noqa: PT012
        pytest.raises(EncodeError, match="No such file or directory") as err,
        VideoEncoder(missing, W, H, FPS, "mp4") as enc,
    ):
        for f in frames(200):  # more than the pipe buffer: ffmpeg is gone by then
            enc.write(f)
    assert err.value.stderr


def test_bad_codec_option_raises_encode_error(tmp_path: Path) -> None:
    enc = VideoEncoder(tmp_path / "a.mp4", W, H, FPS, "mp4", extra_output_args={"preset": "nope"})
    with pytest.raises(EncodeError, match="preset") as err:  # noqa: PT012
        for f in frames(3):
            enc.write(f)
        enc.close()
    assert err.value.returncode != 0


def test_unknown_format_and_wrong_frame_size_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EncodeError, match="unknown video format"):
        VideoEncoder(tmp_path / "a.avi", W, H, FPS, "avi")
    with pytest.raises(EncodeError, match="unknown image format"):
        encode_image(frames(1)[0], "bmp")
    enc = VideoEncoder(tmp_path / "a.mp4", W, H, FPS, "mp4")
    with pytest.raises(EncodeError, match="does not match"):
        enc.write(np.zeros((H, W + 1, 4), np.uint8))


def _speaking_timeline() -> tuple[Timeline, PcmAudio]:
    phones = (
        [("sil", 0, 200)]
        + [("AA" if i % 2 else "M", 200 + i * 120.0, 320 + i * 120.0) for i in range(8)]
        + [("sil", 1160, 1400)]
    )
    track = LipSyncTrack(
        duration_ms=1400,
        phones=tuple(TimedPhone(phone=p, start_ms=s, end_ms=e) for p, s, e in phones),
    )
    tl = Timeline.of(
        AvatarState(face=FaceState(idle=False, blink=False)),
        [
            Cue(
                400,
                SpeechStarted(
                    utterance_id="u", text="mama", voice_id="v", duration_ms=1400, track=track
                ),
            ),
            Cue(500, EmotionSet(emotion="happy")),
        ],
        2400,
    )
    return tl, tone(1.4)


def test_render_timeline_streams_a_video_with_speech_in_sync(tmp_path: Path) -> None:
    tl, clip = _speaking_timeline()
    audio = speech_audio(tl, {"u": clip})
    assert audio is not None
    lead = np.abs(audio.samples[: int(0.39 * RATE)]).max()
    assert lead == 0  # silent until the speech cue at 400 ms
    opts = RenderOptions(W, H)
    result = render_timeline(tl, tmp_path / "s.mp4", fps=FPS, options=opts, audio=audio)
    assert result.frames == 60
    video = decode_frames(result.path, W, H)
    assert abs(len(video) - 60) <= 1
    assert audio_seconds(result.path) == pytest.approx(1.8, abs=0.1)  # 0.4 s lead + 1.4 s
    mouth = video[:, 55:85, 40:88].astype(int)  # lower-middle of the face
    still_part = np.abs(np.diff(mouth[: int(0.5 * FPS)], axis=0)).mean()
    speaking = np.abs(np.diff(mouth[int(0.7 * FPS) : int(1.5 * FPS)], axis=0)).mean()
    assert speaking > 4 * max(still_part, 0.05)


def test_two_renders_give_identical_frames(tmp_path: Path) -> None:
    tl, _ = _speaking_timeline()
    hashes = []
    for name in ("a.mp4", "b.mp4"):
        render_timeline(tl, tmp_path / name, fps=FPS, options=RenderOptions(W, H), seed=3)
        hashes.append(hashlib.sha256(decode_frames(tmp_path / name, W, H).tobytes()).hexdigest())
    assert hashes[0] == hashes[1]


def test_a_customization_changes_the_look_from_its_frame_on(tmp_path: Path) -> None:
    tl = Timeline.of(
        AvatarState(traits=Traits(background="#ffffff")),
        [Cue(400, Customized(traits=Traits(background="#0000ff")))],
        800,
    )
    result = render_timeline(
        tl, tmp_path / "c.mp4", fps=FPS, options=RenderOptions(W, H, shading="flat")
    )
    corner = decode_frames(result.path, W, H)[:, 2, 2].astype(int)  # top-left background pixel
    assert corner[: int(0.35 * FPS)].min() > 230  # white
    assert (corner[int(0.45 * FPS) :, 2] > 200).all() and (corner[int(0.45 * FPS) :, 0] < 40).all()


def test_speech_audio_is_cut_at_an_interruption() -> None:
    track = LipSyncTrack(
        duration_ms=2000, phones=(TimedPhone(phone="AA", start_ms=0, end_ms=2000),)
    )
    tl = Timeline.of(
        AvatarState(),
        [
            Cue(
                500,
                SpeechStarted(
                    utterance_id="u", text="a", voice_id="v", duration_ms=2000, track=track
                ),
            ),
            Cue(1500, SpeechInterrupted(utterance_id="u", at_ms=1000)),
        ],
        4000,
    )
    audio = speech_audio(tl, {"u": tone(2.0)})
    assert audio is not None
    assert audio.duration_s == pytest.approx(1.5, abs=0.01)
    assert speech_audio(tl, {}) is None

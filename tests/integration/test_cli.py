"""``avatar-service`` client subcommands against the real service: outputs decoded back, JSON
for scripts, and the documented exit codes. Commands run in-process through ``main()`` (one
through the installed script); they share the dedicated placement with the client's tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serve_app.cli import main
from serve_app.ports import free_port
from tests.ffmpeg_decode import audio_seconds, decode_frames
from tests.integration.conftest import Service
from tests.integration.helpers import new_id

pytestmark = [pytest.mark.configurations("dedicated"), pytest.mark.timeout(180)]


def run(capsys: pytest.CaptureFixture[str], service: Service, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([argv[0], "--url", service.base, *argv[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], service: Service, *argv: str) -> object:
    code, out, err = run(capsys, service, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_speak_render_video_and_watch(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = new_id()
    wav = tmp_path / "hello.wav"
    code, out, err = run(capsys, service, "speak", ada, "Hello there.", "-o", str(wav))
    assert code == 0, err
    assert out.startswith(f"{ada} v2: u-") and str(wav) in out
    assert wav.read_bytes()[:4] == b"RIFF" and audio_seconds(wav) > 0.4
    said = run_json(capsys, service, "speak", ada, "Thanks for coming.", "--voice", "en-gb")
    assert isinstance(said, dict) and said["version"] == 3 and said["voice"]["voice_id"] == "en-gb"

    face = tmp_path / "face.png"
    code, out, err = run(
        capsys, service, "render", ada, "-o", str(face), "--width", "128", "--height", "96"
    )
    assert code == 0, err
    assert face.read_bytes()[:4] == b"\x89PNG"
    assert decode_frames(face, 128, 96).shape == (1, 96, 128, 3)

    video = tmp_path / "hello.mp4"
    code, out, err = run(
        capsys,
        service,
        "video",
        "--text",
        "Hi there.",
        "--avatar",
        ada,
        "-o",
        str(video),
        "--width",
        "96",
        "--height",
        "96",
    )
    assert code == 0, err
    assert "frames" in out and str(video) in out
    frames = decode_frames(video, 96, 96)
    assert len(frames) > 15 and audio_seconds(video) > 0.4

    code, out, err = run(
        capsys, service, "watch", ada, "--from-version", "1", "--count", "3", "--json"
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["version"] for e in lines] == [1, 2, 3]
    assert [e["type"] for e in lines] == ["AvatarCreated", "SpeechStarted", "SpeechStarted"]
    code, out, _ = run(capsys, service, "watch", ada, "--from-version", "2", "--count", "1")
    assert code == 0 and "SpeechStarted" in out and 'text="Hello there."' in out
    assert "\x1b[" not in out  # no colours when not on a terminal


def test_sessions_replay_and_assets(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = new_id()
    opened = run_json(
        capsys, service, "sessions", "open", "--avatar", ada, "--meta", "candidate=c-17"
    )
    assert isinstance(opened, dict) and opened["metadata"] == {"candidate": "c-17"}
    sid = opened["session_id"]
    said = run_json(capsys, service, "speak", ada, "Tell me about yourself.")
    assert isinstance(said, dict)
    time.sleep(said["duration"])  # the session lasts while it is said: the replay shows it
    code, out, _ = run(capsys, service, "sessions", "close", sid)
    assert code == 0 and "closed" in out
    got = run_json(capsys, service, "sessions", "get", sid)
    assert isinstance(got, dict) and got["status"] == "closed"
    events = run_json(capsys, service, "sessions", "events", sid)
    assert isinstance(events, list)
    assert [e["type"] for e in events] == ["SessionStarted", "SessionClosed"]

    movie = tmp_path / "session.mp4"
    code, out, err = run(
        capsys, service, "replay", sid, "-o", str(movie), "--width", "96", "--height", "96"
    )
    assert code == 0, err
    frames = decode_frames(movie, 96, 96)
    assert len(frames) > 15 and audio_seconds(movie) > 0.5
    jobs = run_json(capsys, service, "sessions", "jobs", sid)
    assert isinstance(jobs, list) and [j["status"] for j in jobs] == ["done"]

    source = tmp_path / "tone.wav"
    source.write_bytes(_wav())
    asset = run_json(capsys, service, "assets", "upload", str(source), "--kind", "audio")
    assert isinstance(asset, dict) and asset["mime"] == "audio/wav"
    listed = run_json(capsys, service, "assets", "ls", "--kind", "audio", "--limit", "500")
    assert isinstance(listed, dict)
    assert asset["asset_id"] in {a["asset_id"] for a in listed["items"]}
    copy = tmp_path / "copy.wav"
    code, out, err = run(capsys, service, "assets", "get", asset["asset_id"], "-o", str(copy))
    assert code == 0, err
    assert copy.read_bytes() == source.read_bytes()


def _wav() -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * 40)
    return buf.getvalue()


def test_exit_codes_and_help(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, service, "sessions", "get", "s-" + "0" * 32)
    assert code == 3 and "session_not_found" in err
    code, _, err = run(capsys, service, "render", new_id(), "-o", "x.png")
    assert code == 3 and "avatar_not_found" in err
    code, _, err = run(capsys, service, "sessions", "open", "--ttl", "10000000", "--json")
    assert code == 4
    error = json.loads(err)["error"]
    assert error["status"] == 422 and error["code"] == "validation_error"
    code, _, err = run(capsys, service, "render", "ada", "-o", "face.bmp")
    assert code == 4 and ".png" in err
    capsys.readouterr()
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--url", nobody, "--retries", "0"]) == 6
    assert "unreachable" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["speak"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        main(["speak", "--help"])
    helped = capsys.readouterr().out
    assert "examples:" in helped and "exit codes:" in helped and "--api-key" in helped

    script = Path(sys.executable).with_name("avatar-service")
    done = subprocess.run(
        [str(script), "status", "--json", "--url", service.base],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"

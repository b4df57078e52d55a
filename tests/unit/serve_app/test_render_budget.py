"""The cost of a synchronous render, estimated from the request alone."""

from __future__ import annotations

import pytest

from serve_app.rendering.budget import reference_seconds, timeline_length_ms
from serve_app.rendering.models import SequenceRequest

pytestmark = pytest.mark.timeout(30)


def cost(**body: object) -> float | None:
    return reference_seconds(SequenceRequest.model_validate(body))


def test_the_reference_is_512_square_at_30_fps_high() -> None:
    assert cost(duration_ms=10_000) == pytest.approx(10.0)
    assert cost(duration_ms=10_000, quality="ultra") == pytest.approx(40.0)  # 2x SSAA
    assert cost(duration_ms=10_000, width=1024, height=1024) == pytest.approx(40.0)
    assert cost(duration_ms=10_000, fps=60) == pytest.approx(20.0)
    assert cost(duration_ms=10_000, width=64, height=64) == pytest.approx(10 / 64)


def test_the_length_is_the_last_cue_or_the_stated_duration() -> None:
    # the fuzzer's case: an animation cue 763 s in, nothing else
    fuzzed = {"animations": [{"at_ms": 763_812.0, "animation": "blink", "duration_ms": 1470}]}
    assert timeline_length_ms(SequenceRequest.model_validate(fuzzed)) == pytest.approx(765_282)
    stated = {**fuzzed, "duration_ms": 2000}
    assert timeline_length_ms(SequenceRequest.model_validate(stated)) == 2000
    # speech from its text at espeak-ng's rate: 150 characters, about 10 s; twice as fast, 5 s
    talk = {"speech": [{"at_ms": 1000, "text": "x" * 150}]}
    assert cost(**talk) == pytest.approx(1 + 150 * 0.065)
    fast = {"speech": [{"at_ms": 1000, "text": "x" * 150, "rate": 350}]}
    assert cost(**fast) == pytest.approx(1 + 150 * 0.065 / 2)
    assert cost(text="y" * 120_000) == pytest.approx(120_000 * 0.065)  # refused at 120 s


def test_a_range_of_recorded_events_is_not_estimated() -> None:
    assert cost(avatar_id="ada", events={"from_version": 1}) is None

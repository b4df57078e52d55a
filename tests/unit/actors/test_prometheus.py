"""The metric definitions and what is recorded without Ray (nothing, and never an error)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from actors import prometheus
from actors.errors import Unavailable, VersionMismatch

pytestmark = pytest.mark.timeout(30)


def test_every_metric_has_a_valid_name_a_description_and_histograms_have_buckets() -> None:
    for name, spec in prometheus.SPECS.items():
        assert spec.name == name and re.fullmatch(r"avatar_[a-z_]+", name)
        assert spec.description
        assert bool(spec.boundaries) == (spec.type == "histogram")
        assert list(spec.boundaries) == sorted(spec.boundaries)


def test_outcome_is_ok_replayed_or_the_error_code() -> None:
    assert prometheus.outcome_of(None) == "ok"
    assert prometheus.outcome_of(None, replayed=True) == "replayed"
    assert prometheus.outcome_of(VersionMismatch(1, 2)) == "version_conflict"
    assert prometheus.outcome_of(Unavailable("down")) == "unavailable"
    assert prometheus.outcome_of(RuntimeError("bug")) == "error"


def test_fanout_seconds_from_recorded_at() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert prometheus.fanout_seconds(at.isoformat(), at.timestamp() + 0.25) == pytest.approx(0.25)
    assert prometheus.fanout_seconds(at.timestamp(), at.timestamp() + 1) == pytest.approx(1.0)
    assert prometheus.fanout_seconds(at.isoformat(), at.timestamp() - 1) == 0.0  # clock skew
    assert prometheus.fanout_seconds("not a time") is None


def test_recording_outside_ray_does_nothing_and_never_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # outside Ray, whatever ran before in this process (the whole suite shares one, and its
    # integration tests start Ray in it)
    monkeypatch.setattr(prometheus, "_ray_ready", lambda: False)
    monkeypatch.setattr(prometheus, "_made", {})
    prometheus.command_done("avatar", "set_emotion", "ok")
    prometheus.appended("avatar", 2, 0.003)
    prometheus.fanned_out("avatar", "garbage")
    prometheus.live_entities("entity-host:0", 3)
    prometheus.render_job("failed", "render_failed")
    prometheus.rendered(10, 25.0)
    prometheus.speech_synthesised("speak", 1.5)
    prometheus.journal_error("append")
    assert not prometheus._made  # nothing was created without Ray


def test_subscriber_gauge_counts_open_streams_per_kind() -> None:
    gauge = prometheus.SubscriberGauge()
    gauge.opened("avatar")
    gauge.opened("avatar")
    gauge.opened("session")
    gauge.closed("avatar")
    gauge.closed("session")
    gauge.closed("session")  # never below zero
    assert gauge.open == {"avatar": 1, "session": 0}

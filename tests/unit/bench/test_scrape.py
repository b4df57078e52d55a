"""Parsing Ray's Prometheus text and estimating quantiles from histogram buckets."""

from __future__ import annotations

import pytest

from bench.scrape import buckets, delta, histogram_quantile, parse, total

pytestmark = pytest.mark.timeout(30)

TEXT = """# HELP ray_avatar_commands_total Commands
# TYPE ray_avatar_commands_total counter
ray_avatar_commands_total{WorkerId="a",kind="avatar",command="set_emotion",outcome="ok"} 3.0
ray_avatar_commands_total{WorkerId="b",kind="avatar",command="set_emotion",outcome="ok"} 4.0
ray_avatar_commands_total{WorkerId="b",kind="avatar",command="x",outcome="unavailable"} 1.0
ray_avatar_fanout_seconds_bucket{WorkerId="a",stream="avatar",le="0.01"} 50.0
ray_avatar_fanout_seconds_bucket{WorkerId="a",stream="avatar",le="0.1"} 90.0
ray_avatar_fanout_seconds_bucket{WorkerId="a",stream="avatar",le="+Inf"} 100.0
ray_avatar_fanout_seconds_bucket{WorkerId="b",stream="avatar",le="0.01"} 50.0
ray_avatar_fanout_seconds_bucket{WorkerId="b",stream="avatar",le="0.1"} 100.0
ray_avatar_fanout_seconds_bucket{WorkerId="b",stream="avatar",le="+Inf"} 100.0
"""


def test_total_sums_over_processes_and_filters_by_label() -> None:
    samples = parse(TEXT)
    assert total(samples, "ray_avatar_commands_total") == 8
    assert total(samples, "ray_avatar_commands_total", outcome="ok") == 7
    assert total(samples, "ray_avatar_commands_total", outcome="conflict") == 0


def test_quantile_interpolates_inside_summed_buckets() -> None:
    summed = buckets(parse(TEXT), "ray_avatar_fanout_seconds", stream="avatar")
    assert summed == [(0.01, 100.0), (0.1, 190.0), (float("inf"), 200.0)]
    assert histogram_quantile(0.5, summed) == pytest.approx(0.01)
    assert histogram_quantile(0.25, summed) == pytest.approx(0.005)
    assert histogram_quantile(0.99, summed) == pytest.approx(0.1)  # in +Inf: the last bound
    assert histogram_quantile(0.5, []) is None


def test_delta_is_what_was_observed_between_scrapes() -> None:
    before = [(0.01, 10.0), (float("inf"), 10.0)]
    after = [(0.01, 10.0), (float("inf"), 30.0)]
    assert delta(after, before) == [(0.01, 0.0), (float("inf"), 20.0)]

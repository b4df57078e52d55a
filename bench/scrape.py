"""Reading the service's Prometheus metrics from a Ray node's metrics port (text format).

Ray serves every process's metrics of a node on one port, each series labelled with the
recording process (``WorkerId``): :func:`total` sums a metric over processes, and
:func:`histogram_quantile` estimates a quantile from summed buckets, as Prometheus's
``histogram_quantile`` does (linear inside the bucket).
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Samples of a Prometheus text exposition (comments skipped)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append(Sample(m.group(1), labels, value))
    return out


def scrape(port: int, host: str = "127.0.0.1", timeout: float = 10) -> list[Sample]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as r:
        return parse(r.read().decode())


def metrics_ports() -> list[int]:
    """The metrics ports of the Ray cluster this process is connected to (one per node)."""
    import ray

    return [int(n["MetricsExportPort"]) for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]


def total(samples: list[Sample], name: str, **match: str) -> float:
    """Sum of ``name`` over every series whose labels include ``match``."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in match.items())
    )


def buckets(samples: list[Sample], name: str, **match: str) -> list[tuple[float, float]]:
    """Cumulative ``(le, count)`` of histogram ``name`` summed over matching series."""
    summed: dict[float, float] = {}
    for s in samples:
        if s.name != f"{name}_bucket" or not all(s.labels.get(k) == v for k, v in match.items()):
            continue
        le = float(s.labels["le"])  # "+Inf" parses as inf
        summed[le] = summed.get(le, 0.0) + s.value
    return sorted(summed.items())


def histogram_quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """Quantile ``q`` (0..1) of cumulative buckets; ``None`` when empty. A quantile in the
    ``+Inf`` bucket answers the highest finite bound."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for le, count in cumulative:
        if count >= rank:
            if le == float("inf"):
                return lower
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        lower, below = le, count
    return lower


def delta(
    after: list[tuple[float, float]], before: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Buckets observed between two scrapes (``after`` less ``before``)."""
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in after]

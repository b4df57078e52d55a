"""Shared helpers for benchmark scripts: percentiles and appending figures to RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}"


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]


def record(title: str, rows: Sequence[tuple[str, str]], notes: str = "") -> None:
    """Print ``rows`` (figure, value) and append them as a table to ``bench/RESULTS.md``."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {title} — {stamp}",
        "",
        f"Machine: {machine()}",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    if notes:
        lines += ["", notes]
    text = "\n".join(lines) + "\n\n"
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n\n")
    with RESULTS.open("a") as f:
        f.write(text)


def report(title: str, rows: Sequence[tuple[str, str]], notes: str, *, save: bool) -> None:
    """Append to RESULTS.md (``save``) or only print (a benchmark's ``--no-record``)."""
    if save:
        record(title, rows, notes)
        return
    for name, value in rows:
        print(f"{name}: {value}")
    print(notes)

"""Long-lived processes move their start-up heap out of the collector's full passes."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)

_PROBE = """
import gc, time
kept = [[i] for i in range(200_000)]  # start-up state that lives as long as the process
cycle = []; cycle.append(cycle); del cycle  # start-up garbage: collected, not frozen
from actors.heap import freeze_startup_heap
freeze_startup_heap()
frozen = gc.get_freeze_count()
started = time.perf_counter(); gc.collect(); after = time.perf_counter() - started
print(frozen, len(gc.get_objects()), after)
"""


def test_the_start_up_heap_is_frozen_and_full_passes_no_longer_walk_it() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    frozen, tracked = int(out[0]), int(out[1])
    assert frozen >= 200_000  # the kept objects, and the imports' own
    assert tracked < 10_000  # a full pass now sees only what came after the freeze

"""Renderer replicas lower their CPU priority: every thread, and what starts after."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)

_PROBE = """
import os, subprocess, threading
from serve_app.priority import lower_priority
stop = threading.Event()
before = threading.Thread(target=stop.wait); before.start()
base = os.getpriority(os.PRIO_PROCESS, 0)
lower_priority(5)
after = threading.Thread(target=stop.wait); after.start()
tids = [int(t) for t in os.listdir("/proc/self/task")]
nice = ["sh", "-c", "cut -d' ' -f19 /proc/self/stat"]  # field 19: the nice value
child = subprocess.run(nice, capture_output=True, text=True).stdout.strip()
values = sorted({os.getpriority(os.PRIO_PROCESS, t) for t in tids})
print(base, values, len(tids), child)
stop.set()
"""


def test_every_thread_and_every_child_runs_at_the_lowered_priority() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=3)
    base, niceness, threads, child = int(out[0]), out[1], int(out[2]), int(out[3])
    assert niceness == f"[{min(19, base + 5)}]"  # one value: all threads moved
    assert threads >= 3  # main, the thread from before and the one from after
    assert child == min(19, base + 5)  # an ffmpeg started later inherits it

"""Lower the CPU priority of a process that does batch work (the Renderer's drawing and ffmpeg).

On a small machine a video render takes every core it is given, and the latency of everything
else (live fan-out to subscribers, commands) then depends on the scheduler's mercy. A higher nice
value lets the kernel give the interactive processes the CPU first; the render still gets all
the time they leave idle. On Linux a nice value belongs to each thread, so every thread of the
process is changed (threads and ffmpeg processes started later inherit it from their parent).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

MAX_NICE = 19


def lower_priority(niceness: int) -> None:
    """Add ``niceness`` (0 leaves it alone) to the nice value of this process's threads."""
    if niceness <= 0:
        return
    tasks = "/proc/self/task"
    if not os.path.isdir(tasks):  # not Linux: nice(2) applies to the whole process there
        os.nice(niceness)
        return
    for name in os.listdir(tasks):
        tid = int(name)
        try:
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(MAX_NICE, current + niceness))
        except OSError:  # the thread ended meanwhile
            continue
    log.info("CPU priority lowered: nice +%d for pid %d", niceness, os.getpid())

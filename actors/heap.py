"""Keep the garbage collector's full passes off the request path of long-lived processes.

A Ray worker that imported Ray, Serve, FastAPI, pydantic and this project holds ~180,000
tracked objects before it serves anything, and CPython's full (generation 2) collection walks
all of them: 50-110 ms here, at moments set by allocation counts, in the middle of whatever the
event loop was doing. That pause is a latency tail of every request and frame the process
handles. Objects alive at the end of start-up live as long as the process, so they are moved
to the permanent generation (``gc.freeze``): later full passes only walk what was made since.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Collect start-up garbage, then exempt every surviving object from future collections."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "start-up heap frozen: %d objects out of the collector's passes (%.0f ms)",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )

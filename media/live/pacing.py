"""Pacing: which frame of a periodic track comes next and when it is due.

Frame ``i`` of a track with period ``p`` shows (or sounds) the stream's time ``i * p`` and is
due at ``origin + i * p`` on the caller's clock (seconds). A track that falls behind skips to
the frame of the present instead of sending a burst of stale ones, once it is more than
``max_late`` periods late (video: 1; audio: more, since a gap is audible).
"""

from __future__ import annotations

import math


class Pacer:
    def __init__(self, period_s: float, origin_s: float, max_late: float = 1.0) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.period_s = period_s
        self.origin_s = origin_s
        self.max_late = max_late
        self._next: int | None = None
        self.skipped = 0
        """Frames skipped because the track fell behind."""

    def current(self, now_s: float) -> int:
        """The frame whose time is ``now_s`` (its interval contains it)."""
        return max(0, math.floor((now_s - self.origin_s) / self.period_s))

    def due(self, index: int) -> float:
        return self.origin_s + index * self.period_s

    def next(self, now_s: float) -> tuple[int, float]:
        """``(index, due_s)`` of the next frame to send after the last one ``next`` gave.

        The first is the frame of the present (a stream that starts late starts there)."""
        if self._next is None:
            index = self.current(now_s)
        else:
            index = self._next
            late = (now_s - self.due(index)) / self.period_s
            if late > self.max_late:
                now = self.current(now_s)
                self.skipped += max(0, now - index)
                index = max(index, now)
        self._next = index + 1
        return index, self.due(index)

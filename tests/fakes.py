"""Test doubles for what the product takes as a parameter (clocks), never for our components."""

from __future__ import annotations


class Clock:
    """A clock that only moves when a test moves it (``clock.now += 5``)."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

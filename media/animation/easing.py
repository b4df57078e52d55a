"""Easing curves on numpy arrays; every curve maps 0 -> 0 and 1 -> 1 and clips outside."""

from __future__ import annotations

import numpy as np

from media.animation.params import FloatArray


def smoothstep(u: FloatArray) -> FloatArray:
    """Hermite 3u^2 - 2u^3: zero slope at both ends; ``s(u) + s(1 - u) == 1``."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def ease_in_out_cubic(u: FloatArray) -> FloatArray:
    """The CSS-like in-out cubic used for emotion changes: gentle start, gentle landing."""
    u = np.clip(u, 0.0, 1.0)
    return np.where(u < 0.5, 4.0 * u**3, 1.0 - (-2.0 * u + 2.0) ** 3 / 2.0)


def plateau(u: FloatArray, edge: float = 0.2) -> FloatArray:
    """0 -> 1 over ``[0, edge]``, hold, 1 -> 0 over ``[1 - edge, 1]`` (smoothstepped)."""
    return smoothstep(u / edge) * smoothstep((1.0 - u) / edge)

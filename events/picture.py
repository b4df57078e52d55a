"""What a picture may be: quality and shading names, size and frame-rate bounds, and the
``resolution`` shorthand. One definition, used by render requests, the render configuration,
live streams, the settings and the face rig (:mod:`media.face.options`)."""

from __future__ import annotations

import typing
from typing import Any, Literal

Quality = Literal["fast", "medium", "high", "ultra"]
Shading = Literal["flat", "toon", "pbr"]
QUALITIES: tuple[str, ...] = typing.get_args(Quality)
SHADINGS: tuple[str, ...] = typing.get_args(Shading)

# Picture bounds of the face rig (media.face.options uses these).
MIN_SIZE = 64
MAX_SIZE = 4096
MIN_FPS = 30
MAX_FPS = 60


def split_resolution(data: Any) -> Any:
    """A model's input with ``"resolution"`` (``"1280x720"``, ``[w, h]`` or one number for a
    square) turned into ``width`` and ``height``; explicit ones win."""
    if isinstance(data, dict) and "resolution" in data:
        data = dict(data)
        res = data.pop("resolution")
        if isinstance(res, str) and "x" in res.lower():
            res = res.lower().split("x", 1)
        elif isinstance(res, int | str) and not isinstance(res, bool):
            res = [res, res]
        if not (isinstance(res, list | tuple) and len(res) == 2):
            raise ValueError("resolution must be 'WIDTHxHEIGHT', [width, height] or a number")
        data.setdefault("width", res[0])
        data.setdefault("height", res[1])
    return data

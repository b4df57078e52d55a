"""How to draw: output size, shading and quality, validated once up front."""

from __future__ import annotations

from dataclasses import dataclass

# The picture vocabulary and bounds are the event core's (a ConfigSet event validates them).
from events.picture import MAX_SIZE, MIN_SIZE, QUALITIES, SHADINGS, Quality, Shading
from media.face.errors import InvalidOption, InvalidSize

__all__ = ["MAX_SIZE", "MIN_SIZE", "QUALITIES", "SHADINGS", "Quality", "RenderOptions", "Shading"]

_MAX_INTERNAL = 4096  # supersampled surfaces (and their cached base) stay at 64 MiB each


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Output size in pixels (64..4096 each), shading style and quality level.

    ``fast`` draws without anti-aliasing; ``medium`` anti-aliases; ``high`` adds fine detail
    (lashes, hair strands, lip highlights); ``ultra`` also supersamples 2x and downscales.
    ``antialiasing=False`` turns anti-aliasing and supersampling off at any quality.
    """

    width: int = 512
    height: int = 512
    shading: Shading = "toon"
    quality: Quality = "high"
    antialiasing: bool = True

    def __post_init__(self) -> None:
        for name, value in (("width", self.width), ("height", self.height)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSize(f"{name} must be an integer, got {value!r}")
            if not MIN_SIZE <= value <= MAX_SIZE:
                raise InvalidSize(f"{name} {value} is outside {MIN_SIZE}..{MAX_SIZE} pixels")
        if self.shading not in SHADINGS:
            raise InvalidOption(f"shading {self.shading!r} is not one of {', '.join(SHADINGS)}")
        if self.quality not in QUALITIES:
            raise InvalidOption(f"quality {self.quality!r} is not one of {', '.join(QUALITIES)}")

    @property
    def antialias(self) -> bool:
        return self.antialiasing and self.quality != "fast"

    @property
    def detailed(self) -> bool:
        return self.quality in ("high", "ultra")

    @property
    def supersample(self) -> int:
        """Internal scale factor: 2 for ultra unless the surface would get too large."""
        if (
            self.antialias
            and self.quality == "ultra"
            and 2 * max(self.width, self.height) <= _MAX_INTERNAL
        ):
            return 2
        return 1

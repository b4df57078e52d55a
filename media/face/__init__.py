"""The 2D face rig: an avatar's traits and per-frame face parameters -> RGBA pixels (skia)."""

from media.face.errors import FaceError, InvalidOption, InvalidSize
from media.face.options import MAX_SIZE, MIN_SIZE, QUALITIES, SHADINGS, RenderOptions
from media.face.rig import PIXEL_FORMAT, FaceRig, Frame

__all__ = [
    "MAX_SIZE",
    "MIN_SIZE",
    "PIXEL_FORMAT",
    "QUALITIES",
    "SHADINGS",
    "FaceError",
    "FaceRig",
    "Frame",
    "InvalidOption",
    "InvalidSize",
    "RenderOptions",
]

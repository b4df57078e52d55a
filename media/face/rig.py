"""The face rig: one avatar's appearance, drawn per frame from face parameters.

Static layers are drawn once per (traits, options) and cached: the base (background, neck,
shoulders) as pixels, copied into the frame with one memcpy; the head (back hair, ears, face,
skin details) and head front (fringe, headset) as recorded skia pictures, replayed under the
head pose transform. Replaying a picture measured 3x faster here than resampling a cached
image under a rotation, and stays sharp. Only the expressive features are drawn from scratch.

Frames are RGBA (asked of skia explicitly; its native order here is BGRA), opaque;
:data:`PIXEL_FORMAT` names the order for ffmpeg. Cached layers share the colour type, so a
blit is a copy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import skia

from events.avatar import Traits
from media.animation.params import FaceParams
from media.face.body import draw_background, draw_body
from media.face.brush import Brush
from media.face.features import draw_features, draw_glasses
from media.face.head import draw_head, draw_head_front
from media.face.layout import DESIGN, FOCUS, HEAD_LAYER_BOX, PIVOT, ZOOM
from media.face.options import RenderOptions
from media.face.palette import Palette

Frame = npt.NDArray[np.uint8]
PIXEL_FORMAT = "rgba"
"""Byte order of :meth:`FaceRig.render` frames (ffmpeg's ``pix_fmt`` name)."""

_HEAD_SHIFT = (0.45, 0.5)
"""Design units the head moves per degree of yaw / pitch."""
_YAW_SQUASH = 0.1
"""How much narrower the head looks turned fully (45 degrees) aside."""
_FEATURE_SHIFT = (0.38, 0.42)
"""Extra parallax of eyes, nose and mouth per degree: the face turns, not just slides."""


def _surface(width: int, height: int) -> tuple[skia.Surface, Frame]:
    """A raster surface over a numpy buffer (both returned: the buffer must stay referenced)."""
    buffer: Frame = np.zeros((height, width, 4), dtype=np.uint8)
    return skia.Surface(buffer, colorType=skia.kRGBA_8888_ColorType), buffer


class FaceRig:
    """Draws one appearance (:class:`~events.avatar.Traits`) at one size, shading and quality.

    Not thread-safe (it reuses its pixel buffer); make one rig per thread.
    """

    def __init__(self, traits: Traits, options: RenderOptions | None = None) -> None:
        self.traits = traits
        self.options = options or RenderOptions()
        opts = self.options
        self._palette = Palette.of(traits)
        self._brush = Brush(opts, self._palette.line)
        s = opts.supersample
        self._iw, self._ih = opts.width * s, opts.height * s
        self._k = min(opts.width, opts.height) / DESIGN * s * ZOOM
        self._ox = self._iw / 2.0 - FOCUS[0] * self._k
        self._oy = self._ih / 2.0 - FOCUS[1] * self._k
        self._sampling = skia.SamplingOptions(skia.FilterMode.kLinear)
        self._head = self._record(draw_head)
        self._front = self._record(draw_head_front)
        self._out, self._pixels = _surface(opts.width, opts.height)
        self._work: skia.Surface | None = None
        self._work_pixels = self._pixels
        if s > 1:
            self._work, self._work_pixels = _surface(self._iw, self._ih)
        self._base = self._draw_base()

    @property
    def size(self) -> tuple[int, int]:
        return self.options.width, self.options.height

    def to_pixels(self, x: float, y: float) -> tuple[float, float]:
        """Output pixel position of design point ``(x, y)`` (see ``media.face.layout``)."""
        s = self.options.supersample
        return (self._ox + x * self._k) / s, (self._oy + y * self._k) / s

    def _design(self, canvas: skia.Canvas) -> None:
        canvas.translate(self._ox, self._oy)
        canvas.scale(self._k, self._k)

    def _draw_base(self) -> Frame:
        surface, pixels = _surface(self._iw, self._ih)
        canvas = surface.getCanvas()
        self._design(canvas)
        left, top = -self._ox / self._k, -self._oy / self._k
        box = skia.Rect(left, top, left + self._iw / self._k, top + self._ih / self._k)
        draw_background(canvas, self._palette, self._brush, box)
        draw_body(canvas, self.traits, self._palette, self._brush)
        del canvas, surface
        return pixels

    def _record(self, draw: Callable[[skia.Canvas, Traits, Palette, Brush], None]) -> skia.Picture:
        recorder = skia.PictureRecorder()
        canvas = recorder.beginRecording(skia.Rect(*HEAD_LAYER_BOX))
        draw(canvas, self.traits, self._palette, self._brush)
        return recorder.finishRecordingAsPicture()

    def render(self, params: FaceParams) -> Frame:
        """Draw one frame; returns the rig's own (height, width, 4) RGBA buffer.

        The buffer is overwritten by the next call: copy it to keep it.
        """
        surface = self._work if self._work is not None else self._out
        np.copyto(self._work_pixels, self._base)
        canvas = surface.getCanvas()
        canvas.save()
        self._design(canvas)
        canvas.translate(params.head_yaw * _HEAD_SHIFT[0], -params.head_pitch * _HEAD_SHIFT[1])
        canvas.rotate(params.head_roll, PIVOT[0], PIVOT[1])
        canvas.translate(PIVOT[0], 0.0)
        canvas.scale(1.0 - _YAW_SQUASH * abs(params.head_yaw) / 45.0, 1.0)  # turned: narrower
        canvas.translate(-PIVOT[0], 0.0)
        canvas.drawPicture(self._head)
        canvas.save()
        canvas.translate(
            params.head_yaw * _FEATURE_SHIFT[0], -params.head_pitch * _FEATURE_SHIFT[1]
        )
        draw_features(canvas, self.traits, params, self._palette, self._brush)
        canvas.restore()
        canvas.drawPicture(self._front)
        canvas.translate(
            params.head_yaw * _FEATURE_SHIFT[0], -params.head_pitch * _FEATURE_SHIFT[1]
        )
        draw_glasses(canvas, self.traits, params, self._palette, self._brush)
        canvas.restore()
        if self._work is not None:
            out = self._out.getCanvas()
            out.drawImageRect(
                self._work.makeImageSnapshot(),
                skia.Rect(0, 0, self.options.width, self.options.height),
                self._sampling,
            )
        return self._pixels

    def render_copy(self, params: FaceParams) -> Frame:
        """A new (height, width, 4) RGBA array of one frame, safe to keep."""
        return self.render(params).copy()

"""Paints for one shading style: flat fills, toon cel shadows + ink outlines, pbr gradients.

Every drawing function asks the brush, so a style is decided here once and the shapes stay
the same across styles.
"""

from __future__ import annotations

import skia

from media.face.options import RenderOptions
from media.face.palette import RGB, color, mix


class Brush:
    def __init__(self, options: RenderOptions, line: RGB) -> None:
        self.shading = options.shading
        self.aa = options.antialias
        self.detailed = options.detailed
        self.line = line

    def solid(self, c: RGB, alpha: float = 1.0) -> skia.Paint:
        return skia.Paint(Color=color(c, alpha), AntiAlias=self.aa)

    def stroke(self, c: RGB, width: float, alpha: float = 1.0) -> skia.Paint:
        return skia.Paint(
            Color=color(c, alpha),
            AntiAlias=self.aa,
            Style=skia.Paint.kStroke_Style,
            StrokeWidth=width,
            StrokeCap=skia.Paint.kRound_Cap,
            StrokeJoin=skia.Paint.kRound_Join,
        )

    def body(self, base: RGB, light: RGB, dark: RGB, box: skia.Rect) -> skia.Paint:
        """A volume: pbr lights it from the upper left; flat and toon fill solid."""
        if self.shading != "pbr":
            return self.solid(base)
        r = max(box.width(), box.height())
        shader = skia.GradientShader.MakeRadial(
            skia.Point(box.left() + box.width() * 0.38, box.top() + box.height() * 0.3),
            r * 0.85,
            [color(light), color(base), color(dark)],
            [0.0, 0.55, 1.0],
        )
        return skia.Paint(Shader=shader, AntiAlias=self.aa)

    def vertical(self, top: RGB, bottom: RGB, box: skia.Rect) -> skia.Paint:
        """A top-to-bottom gradient in pbr; the mean colour otherwise."""
        if self.shading != "pbr":
            return self.solid(mix(top, bottom, 0.5))
        shader = skia.GradientShader.MakeLinear(
            [skia.Point(box.left(), box.top()), skia.Point(box.left(), box.bottom())],
            [color(top), color(bottom)],
        )
        return skia.Paint(Shader=shader, AntiAlias=self.aa)

    def shadow(self, c: RGB, alpha: float = 1.0) -> skia.Paint | None:
        """Cel shadow (toon, hard) or soft shadow (pbr, blurred); flat draws none."""
        if self.shading == "flat":
            return None
        p = self.solid(c, alpha if self.shading == "toon" else alpha * 0.8)
        if self.shading == "pbr":
            p.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 6.0))
        return p

    def outline(self, width: float = 2.4) -> skia.Paint | None:
        """Ink outline in toon; a faint edge in pbr; none in flat."""
        if self.shading == "flat":
            return None
        alpha = 0.9 if self.shading == "toon" else 0.25
        return self.stroke(self.line, width if self.shading == "toon" else width * 0.6, alpha)

    def fill_outlined(
        self, canvas: skia.Canvas, path: skia.Path, paint: skia.Paint, width: float = 2.4
    ) -> None:
        canvas.drawPath(path, paint)
        ink = self.outline(width)
        if ink is not None:
            canvas.drawPath(path, ink)

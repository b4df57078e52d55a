"""The static base layer: background, neck and shoulders in the chosen outfit."""

from __future__ import annotations

import skia

from events.avatar import Traits
from media.face.brush import Brush
from media.face.layout import BODY_BOTTOM, CX, DESIGN, SHOULDER_Y
from media.face.palette import Palette, mix, shade


def draw_background(canvas: skia.Canvas, pal: Palette, brush: Brush, box: skia.Rect) -> None:
    """Solid in flat; a soft spotlight behind the head otherwise."""
    canvas.drawRect(
        box, brush.solid(pal.background_dark if brush.shading != "flat" else pal.background)
    )
    if brush.shading == "flat":
        return
    light = shade(pal.background, -0.25)
    shader = skia.GradientShader.MakeRadial(
        skia.Point(CX, 230.0),
        DESIGN * 0.62,
        [
            int(brush.solid(light).getColor()),
            int(brush.solid(pal.background).getColor()),
            int(brush.solid(pal.background_dark).getColor()),
        ],
        [0.0, 0.55, 1.0],
    )
    canvas.drawRect(box, skia.Paint(Shader=shader, AntiAlias=brush.aa))


def _torso() -> skia.Path:
    y = SHOULDER_Y
    p = skia.Path()
    p.moveTo(18, BODY_BOTTOM)
    p.lineTo(18, y + 120)
    p.cubicTo(18, y + 45, 70, y + 22, 160, y + 8)
    p.cubicTo(190, y + 3, 212, y - 4, 222, y - 8)
    p.lineTo(290, y - 8)
    p.cubicTo(300, y - 4, 322, y + 3, 352, y + 8)
    p.cubicTo(442, y + 22, 494, y + 45, 494, y + 120)
    p.lineTo(494, BODY_BOTTOM)
    p.close()
    return p


def _neck(canvas: skia.Canvas, pal: Palette, brush: Brush) -> None:
    neck = skia.Path()
    neck.moveTo(224, 300)
    neck.lineTo(224, SHOULDER_Y + 4)
    neck.quadTo(CX, SHOULDER_Y + 30, 288, SHOULDER_Y + 4)
    neck.lineTo(288, 300)
    neck.close()
    box = skia.Rect(224, 300, 288, SHOULDER_Y + 20)
    brush.fill_outlined(canvas, neck, brush.body(pal.skin, pal.skin, pal.skin_shadow, box))
    sh = brush.shadow(pal.skin_shadow)
    if sh is not None:  # the chin's shadow on the neck
        canvas.save()
        canvas.clipPath(neck, doAntiAlias=brush.aa)
        canvas.drawOval(skia.Rect(206, 300, 306, 372), sh)
        canvas.restore()


def _collar_opening(y: float, depth: float) -> skia.Path:
    p = skia.Path()
    p.moveTo(218, y - 10)
    p.quadTo(CX, y + depth, 294, y - 10)
    p.close()
    return p


def _outfit(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    torso = _torso()
    box = skia.Rect(18, SHOULDER_Y - 8, 494, DESIGN)
    brush.fill_outlined(
        canvas, torso, brush.vertical(pal.outfit_light, pal.outfit_shadow, box), 3.0
    )
    y = SHOULDER_Y
    style = traits.outfit
    if style in ("tshirt", "sweater"):
        opening = _collar_opening(y, 40)
        canvas.drawPath(opening, brush.solid(pal.skin_shadow))
        band = brush.stroke(
            pal.outfit_light if style == "sweater" else pal.outfit_shadow,
            9.0 if style == "sweater" else 5.0,
        )
        rim = skia.Path()
        rim.moveTo(216, y - 9)
        rim.quadTo(CX, y + 42, 296, y - 9)
        canvas.drawPath(rim, band)
        if style == "sweater" and brush.detailed:
            rib = brush.stroke(pal.outfit_shadow, 1.2, 0.6)
            for i in range(-6, 7):
                x = CX + i * 6.2
                yy = y + 15 - abs(i) ** 1.6 * 0.9
                canvas.drawLine(x, yy - 4, x, yy + 4, rib)
    elif style == "hoodie":
        opening = _collar_opening(y, 34)
        canvas.drawPath(opening, brush.solid(pal.skin_shadow))
        hood = skia.Path()  # the hood lying around the neck: a thick U band
        hood.moveTo(176, y + 2)
        hood.cubicTo(184, y + 44, 222, y + 64, CX, y + 64)
        hood.cubicTo(290, y + 64, 328, y + 44, 336, y + 2)
        hood.cubicTo(326, y - 14, 306, y - 14, 296, y - 8)
        hood.cubicTo(290, y + 22, 276, y + 36, CX, y + 36)
        hood.cubicTo(236, y + 36, 222, y + 22, 216, y - 8)
        hood.cubicTo(206, y - 14, 186, y - 14, 176, y + 2)
        hood.close()
        brush.fill_outlined(canvas, hood, brush.solid(pal.outfit_shadow), 2.2)
        cord = brush.stroke(mix(pal.shirt, pal.outfit, 0.2), 3.2)
        for x in (240.0, 272.0):
            canvas.drawLine(x, y + 56, x + (x - CX) * 0.15, y + 100, cord)
            canvas.drawCircle(x + (x - CX) * 0.15, y + 103, 3.4, brush.solid(pal.shirt))
    elif style == "shirt":
        opening = _collar_opening(y, 30)
        canvas.drawPath(opening, brush.solid(pal.skin_shadow))
        for side in (-1, 1):
            collar = skia.Path()
            collar.moveTo(CX + side * 36, y - 12)
            collar.lineTo(CX + side * 4, y + 30)
            collar.lineTo(CX + side * 34, y + 28)
            collar.lineTo(CX + side * 46, y - 2)
            collar.close()
            brush.fill_outlined(canvas, collar, brush.solid(pal.outfit_light), 2.0)
        for i in range(3):
            canvas.drawCircle(CX, y + 48 + i * 30, 3.0, brush.solid(pal.outfit_shadow))
    else:  # blazer over a shirt
        v = skia.Path()
        v.moveTo(212, y - 10)
        v.lineTo(300, y - 10)
        v.lineTo(CX, y + 110)
        v.close()
        canvas.drawPath(v, brush.solid(pal.shirt))
        canvas.drawPath(_collar_opening(y, 26), brush.solid(pal.skin_shadow))
        for side in (-1, 1):
            collar = skia.Path()
            collar.moveTo(CX + side * 34, y - 12)
            collar.lineTo(CX + side * 6, y + 26)
            collar.lineTo(CX + side * 30, y + 30)
            collar.lineTo(CX + side * 42, y - 4)
            collar.close()
            brush.fill_outlined(canvas, collar, brush.solid(shade(pal.shirt, 0.06)), 1.6)
            lapel = skia.Path()
            lapel.moveTo(CX + side * 46, y - 6)
            lapel.lineTo(CX + side * 4, y + 112)
            lapel.lineTo(CX + side * 30, y + 150)
            lapel.lineTo(CX + side * 62, y + 40)
            lapel.lineTo(CX + side * 50, y + 30)
            lapel.lineTo(CX + side * 74, y + 14)
            lapel.close()
            brush.fill_outlined(canvas, lapel, brush.solid(pal.outfit_light), 2.0)
        canvas.drawCircle(CX, y + 140, 3.5, brush.solid(pal.outfit_shadow))


def draw_body(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    """Neck and shoulders, in design units."""
    _neck(canvas, pal, brush)
    _outfit(canvas, traits, pal, brush)

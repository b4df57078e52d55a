"""The head's static layers: back hair, ears, face shape and skin details (``draw_head``),
and what sits over the features: fringe and headset (``draw_head_front``).

Both are drawn once per appearance into cached images that the rig moves with the head pose.
"""

from __future__ import annotations

import numpy as np
import skia

from events.avatar import Traits
from media.face.brush import Brush
from media.face.layout import CHEEK_DX, CHEEK_Y, CHIN, CX, HEAD_TOP
from media.face.palette import Palette, shade


def head_path() -> skia.Path:
    p = skia.Path()
    p.moveTo(CX, HEAD_TOP)
    p.cubicTo(318, HEAD_TOP, 354, 150, 354, 215)
    p.cubicTo(354, 265, 346, 300, 324, 326)
    p.cubicTo(304, 347, 284, CHIN, CX, CHIN)
    p.cubicTo(228, CHIN, 208, 347, 188, 326)
    p.cubicTo(166, 300, 158, 265, 158, 215)
    p.cubicTo(158, 150, 194, HEAD_TOP, CX, HEAD_TOP)
    p.close()
    return p


def _mirror(p: skia.Path) -> skia.Path:
    m = skia.Matrix()
    m.setScale(-1, 1, CX, 0)
    out = skia.Path(p)
    out.transform(m)
    return out


def _back_hair(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    style = traits.hair_style
    box = skia.Rect(120, 60, 392, 460)
    paint = (
        brush.vertical(pal.hair_light, pal.hair_shadow, box)
        if brush.shading == "pbr"
        else brush.solid(pal.hair_shadow if brush.shading == "toon" else pal.hair)
    )
    p = skia.Path()
    if style == "long":
        p.moveTo(CX, 78)
        p.cubicTo(340, 78, 380, 140, 378, 230)
        p.cubicTo(376, 320, 384, 380, 372, 430)
        p.quadTo(CX, 410, 140, 430)
        p.cubicTo(128, 380, 136, 320, 134, 230)
        p.cubicTo(132, 140, 172, 78, CX, 78)
    elif style == "bob":
        p.moveTo(CX, 80)
        p.cubicTo(342, 80, 378, 140, 376, 230)
        p.cubicTo(374, 290, 380, 330, 372, 352)
        p.quadTo(CX, 372, 140, 352)
        p.cubicTo(132, 330, 138, 290, 136, 230)
        p.cubicTo(134, 140, 170, 80, CX, 80)
    elif style == "curly":  # one outline around a union of curls
        rng = np.random.default_rng(7)
        curls = [
            (CX + np.cos(a) * r * 1.02, 210 + np.sin(a) * r * 1.05, 32.0)
            for a in np.linspace(np.pi * 0.95, np.pi * 2.05, 22)
            for r in [118 + rng.uniform(-6, 6)]
        ]
        curls += [(x, y, 26.0) for x in (150, 362) for y in (250, 292)]
        for x, y, radius in curls:
            curl = skia.Path()
            curl.addCircle(x, y, radius)
            p = skia.Op(p, curl, skia.PathOp.kUnion_PathOp) or p
    elif style == "bun":
        p.addCircle(CX, 84, 40)
    elif style == "ponytail":
        p.moveTo(330, 150)
        p.cubicTo(392, 160, 404, 250, 386, 340)
        p.cubicTo(378, 380, 352, 400, 346, 380)
        p.cubicTo(360, 320, 360, 240, 320, 190)
        p.close()
    else:
        return
    if style != "curly":
        p.close()
    brush.fill_outlined(canvas, p, paint)


def _ears(canvas: skia.Canvas, pal: Palette, brush: Brush) -> None:
    for side in (-1, 1):
        x = CX + side * 96
        ear = skia.Path()
        ear.addOval(skia.Rect(x - 15, 222, x + 15, 276))
        brush.fill_outlined(
            canvas,
            ear,
            brush.body(
                pal.skin, pal.skin_light, pal.skin_shadow, skia.Rect(x - 15, 222, x + 15, 276)
            ),
        )
        inner = skia.Path()
        inner.moveTo(x + side * 2, 232)
        inner.quadTo(x + side * 11, 248, x + side * 1, 266)
        canvas.drawPath(inner, brush.stroke(pal.skin_shadow, 3.2))


def _face(canvas: skia.Canvas, pal: Palette, brush: Brush) -> None:
    head = head_path()
    box = skia.Rect(158, HEAD_TOP, 354, CHIN)
    brush.fill_outlined(
        canvas, head, brush.body(pal.skin, pal.skin_light, pal.skin_shadow, box), 2.6
    )
    sh = brush.shadow(pal.skin_shadow, 0.35)
    if sh is not None:  # the shaded side of the face (light from the upper left)
        canvas.save()
        canvas.clipPath(head, doAntiAlias=brush.aa)
        side = skia.Path()
        side.moveTo(346, 150)
        side.cubicTo(344, 240, 336, 310, 270, 362)
        side.lineTo(380, 362)
        side.lineTo(380, 150)
        side.close()
        canvas.drawPath(side, sh)
        canvas.restore()
        ink = brush.outline(2.6)
        if ink is not None:
            canvas.drawPath(head, ink)


def _skin_details(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    if "freckles" in traits.accessories:
        rng = np.random.default_rng(3)
        dot = brush.solid(shade(pal.skin, 0.35), 0.7)
        for side in (-1, 1):
            for _ in range(9):
                x = CX + side * (CHEEK_DX + rng.uniform(-14, 14))
                y = CHEEK_Y - 10 + rng.uniform(-8, 8)
                canvas.drawCircle(x, y, rng.uniform(1.2, 2.1), dot)
    if "beard" in traits.accessories:
        beard = skia.Path()
        beard.moveTo(166, 262)
        beard.cubicTo(172, 300, 196, 352, CX, 368)
        beard.cubicTo(316, 352, 340, 300, 346, 262)
        beard.cubicTo(336, 300, 316, 306, 300, 304)
        beard.cubicTo(282, 300, 230, 300, 212, 304)
        beard.cubicTo(196, 306, 176, 300, 166, 262)
        beard.close()
        brush.fill_outlined(canvas, beard, brush.solid(pal.hair), 1.8)


def _earrings(canvas: skia.Canvas, traits: Traits, brush: Brush) -> None:
    if "earrings" not in traits.accessories:
        return
    gold = (0.93, 0.76, 0.3)
    for side in (-1, 1):
        x = CX + side * 98
        canvas.drawCircle(x, 284, 5.5, brush.solid(gold))
        canvas.drawCircle(x - 1.5, 282.5, 1.8, brush.solid((1.0, 0.95, 0.8)))


def draw_head(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    """Everything of the head beneath the eyes, brows, nose and mouth."""
    _back_hair(canvas, traits, pal, brush)
    _ears(canvas, pal, brush)
    _face(canvas, pal, brush)
    _skin_details(canvas, traits, pal, brush)
    _earrings(canvas, traits, brush)


def _fringe(style: str) -> skia.Path | None:
    """The hair over the forehead, per style (``None`` for bald)."""
    p = skia.Path()
    if style == "bald":
        return None
    if style == "short":
        p.moveTo(150, 236)
        p.cubicTo(136, 130, 196, 76, 262, 78)
        p.cubicTo(332, 80, 378, 130, 362, 236)
        p.cubicTo(354, 200, 348, 178, 334, 160)
        p.cubicTo(300, 176, 244, 172, 212, 146)
        p.cubicTo(200, 170, 176, 184, 164, 200)
        p.quadTo(158, 214, 150, 236)
    elif style in ("long", "bob"):
        p.moveTo(146, 250)
        p.cubicTo(130, 130, 190, 80, CX, 80)
        p.cubicTo(322, 80, 382, 130, 366, 250)
        if style == "bob":
            p.cubicTo(356, 200, 352, 180, 340, 170)
            p.lineTo(172, 170)
            p.cubicTo(160, 180, 156, 200, 146, 250)
        else:
            p.cubicTo(350, 190, 320, 150, 262, 136)
            p.cubicTo(240, 160, 190, 170, 170, 200)
            p.quadTo(156, 220, 146, 250)
    elif style == "curly":
        p.moveTo(150, 240)
        p.cubicTo(130, 130, 192, 76, CX, 76)
        p.cubicTo(320, 76, 382, 130, 362, 240)
        for i in range(7, -1, -1):
            x0 = 168 + i * 25.0
            p.quadTo(x0 + 12, 182 + (i % 2) * 8, x0, 160 if 0 < i < 7 else 200)
        p.lineTo(150, 240)
    else:  # bun, ponytail: pulled back, a smooth cap with a high hairline
        p.moveTo(158, 220)
        p.cubicTo(150, 130, 196, 88, CX, 88)
        p.cubicTo(316, 88, 362, 130, 354, 220)
        p.cubicTo(344, 176, 316, 150, CX, 146)
        p.cubicTo(196, 150, 168, 176, 158, 220)
    p.close()
    return p


def draw_head_front(canvas: skia.Canvas, traits: Traits, pal: Palette, brush: Brush) -> None:
    """Fringe and headset: drawn over the brows and eyes."""
    fringe = _fringe(traits.hair_style)
    if fringe is not None:
        box = skia.Rect(140, 76, 372, 250)
        brush.fill_outlined(
            canvas, fringe, brush.body(pal.hair, pal.hair_light, pal.hair_shadow, box)
        )
        if brush.detailed:
            strand = brush.stroke(
                pal.hair_light if brush.shading != "flat" else pal.hair_shadow, 2.0, 0.55
            )
            strands = skia.Path()
            for dx, bend in ((-40, -10), (-10, -4), (25, 6), (55, 12)):
                strands.moveTo(CX + dx * 0.4, 96)
                strands.quadTo(CX + dx + bend, 120, CX + dx * 1.1 + bend, 150)
            canvas.save()
            canvas.clipPath(fringe, doAntiAlias=brush.aa)
            canvas.drawPath(strands, strand)
            canvas.restore()
    elif brush.shading != "flat":
        canvas.drawOval(skia.Rect(206, 112, 262, 136), brush.solid(pal.skin_light, 0.6))
    if "headset" in traits.accessories:
        band = brush.stroke((0.18, 0.19, 0.22), 8.0)
        arc = skia.Path()
        arc.moveTo(152, 240)
        arc.cubicTo(140, 70, 372, 70, 360, 240)
        canvas.drawPath(arc, band)
        for side in (-1, 1):
            x = CX + side * 100
            cup = skia.Rect(x - 14, 222, x + 14, 272)
            canvas.drawRoundRect(cup, 10, 10, brush.solid((0.22, 0.23, 0.27)))
            canvas.drawRoundRect(cup, 10, 10, brush.stroke((0.1, 0.1, 0.12), 2.0))
        mic = skia.Path()
        mic.moveTo(CX - 100, 262)
        mic.quadTo(CX - 96, 318, CX - 40, 322)
        canvas.drawPath(mic, brush.stroke((0.18, 0.19, 0.22), 3.6))
        canvas.drawCircle(CX - 38, 322, 5.5, brush.solid((0.12, 0.12, 0.14)))

"""The expressive parts, drawn every frame from :class:`~media.animation.FaceParams`:
cheeks, eyes (lids, iris, pupil, highlight), brows, nose, mouth (lips, teeth, tongue), glasses.

Left/right follow ARKit: the avatar's left is the viewer's right (``side = +1``).
"""

from __future__ import annotations

import skia

from events.avatar import Traits
from media.animation.params import FaceParams
from media.face.brush import Brush
from media.face.layout import (
    BROW_Y,
    CHEEK_DX,
    CHEEK_Y,
    CX,
    EYE_DX,
    EYE_HALF_WIDTH,
    EYE_Y,
    MOUTH_HALF_WIDTH,
    MOUTH_Y,
    NOSE_Y,
)
from media.face.palette import Palette, color, mix

_SIDES = (("Right", -1.0), ("Left", 1.0))


def _cheeks(canvas: skia.Canvas, f: FaceParams, pal: Palette, brush: Brush) -> None:
    if brush.shading == "flat":
        return
    for name, side in _SIDES:
        lift = 5.0 * f["cheekSquint" + name]
        x, y = CX + side * CHEEK_DX, CHEEK_Y - lift
        alpha = 0.35 + 0.3 * f["cheekSquint" + name]
        if brush.shading == "pbr":
            shader = skia.GradientShader.MakeRadial(
                skia.Point(x, y), 20.0, [color(pal.blush, alpha), color(pal.blush, 0.0)]
            )
            canvas.drawCircle(x, y, 20.0, skia.Paint(Shader=shader, AntiAlias=brush.aa))
        else:
            canvas.drawOval(skia.Rect(x - 15, y - 8, x + 15, y + 8), brush.solid(pal.blush, alpha))


def _eye(
    canvas: skia.Canvas, f: FaceParams, pal: Palette, brush: Brush, name: str, side: float
) -> None:
    ex, ey = CX + side * EYE_DX, EYE_Y
    w = EYE_HALF_WIDTH * (1.0 - 0.18 * max(0.0, side * f.head_yaw / 45.0))
    blink = f["eyeBlink" + name]
    wide, squint = f["eyeWide" + name], f["eyeSquint" + name]
    cheek = f["cheekSquint" + name]
    up = 15.0 * (1.0 + 0.4 * wide - 0.25 * squint) * (1.0 - blink)
    low = 9.0 * (1.0 - 0.45 * squint - 0.3 * cheek) * (1.0 - 0.7 * blink)
    left, right = ex - w, ex + w
    lash = brush.stroke(pal.line, 3.0 if brush.detailed else 2.6)
    if up < 1.5:  # closed: a lash line, curved like a happy closed eye when smiling
        p = skia.Path()
        p.moveTo(left, ey + 1)
        p.quadTo(ex, ey + 7.0 - 3.0 * cheek, right, ey + 1)
        canvas.drawPath(p, lash)
        return
    eye = skia.Path()
    eye.moveTo(left, ey)
    eye.cubicTo(left + w * 0.35, ey - up * 1.3, right - w * 0.35, ey - up * 1.3, right, ey)
    eye.cubicTo(right - w * 0.4, ey + low * 1.3, left + w * 0.4, ey + low * 1.3, left, ey)
    eye.close()
    canvas.drawPath(eye, brush.solid(pal.sclera))
    canvas.save()
    canvas.clipPath(eye, doAntiAlias=brush.aa)
    r = 11.0
    ix = ex + f.gaze_x * w * 0.45
    iy = ey - 1.0 - f.gaze_y * 5.0
    if brush.shading == "pbr":
        shader = skia.GradientShader.MakeRadial(
            skia.Point(ix, iy + 3),
            r,
            [color(mix(pal.iris, (1, 1, 1), 0.25)), color(pal.iris), color(pal.iris_dark)],
            [0.0, 0.6, 1.0],
        )
        canvas.drawCircle(ix, iy, r, skia.Paint(Shader=shader, AntiAlias=brush.aa))
    else:
        canvas.drawCircle(ix, iy, r, brush.solid(pal.iris))
        if brush.shading == "toon":
            canvas.drawCircle(
                ix, iy + 3.5, r * 0.75, brush.solid(mix(pal.iris, (1, 1, 1), 0.25), 0.5)
            )
    canvas.drawCircle(ix, iy, r, brush.stroke(pal.iris_dark, 1.6))
    canvas.drawCircle(ix, iy, 5.2, brush.solid((0.06, 0.05, 0.07)))
    canvas.drawCircle(ix - 3.8, iy - 4.2, 3.1, brush.solid((1, 1, 1), 0.95))
    canvas.drawCircle(ix + 3.6, iy + 3.8, 1.4, brush.solid((1, 1, 1), 0.8))
    if brush.shading != "flat":  # the upper lid's shadow on the eyeball
        canvas.drawOval(
            skia.Rect(left, ey - up * 1.6, right, ey - up * 0.55),
            brush.solid(pal.skin_shadow, 0.25),
        )
    canvas.restore()
    top = skia.Path()
    top.moveTo(left - 1.5, ey + 0.5)
    top.cubicTo(
        left + w * 0.35, ey - up * 1.3, right - w * 0.35, ey - up * 1.3, right + 1.5, ey + 0.5
    )
    canvas.drawPath(top, lash)
    if brush.detailed:
        outer = ex + side * w
        flick = skia.Path()
        flick.moveTo(outer - side * 3, ey - up * 0.55)
        flick.quadTo(outer + side * 4, ey - up * 0.7 - 2, outer + side * 7, ey - up * 0.9 - 4)
        canvas.drawPath(flick, brush.stroke(pal.line, 2.2))
        bottom = skia.Path()
        bottom.moveTo(left + w * 0.3, ey + low * 0.95)
        bottom.quadTo(ex, ey + low * 1.05, right - w * 0.3, ey + low * 0.95)
        canvas.drawPath(bottom, brush.stroke(pal.skin_shadow, 1.4, 0.7))


def _brow(
    canvas: skia.Canvas, f: FaceParams, pal: Palette, brush: Brush, name: str, side: float
) -> None:
    inner_up, outer_up = f["browInnerUp"], f["browOuterUp" + name]
    down = f["browDown" + name]
    wide = f["eyeWide" + name]
    x_in, x_out = CX + side * 22.0, CX + side * 66.0
    y_in = BROW_Y - 11.0 * inner_up + 9.0 * down - 3.0 * wide
    y_out = BROW_Y + 2.0 - 9.0 * outer_up + 2.5 * down - 3.0 * wide + 4.0 * inner_up
    x_in += side * 2.5 * down
    arch = 7.0 - 3.0 * down + 2.0 * outer_up
    mid_x = (x_in + x_out) / 2.0
    mid_y = (y_in + y_out) / 2.0 - arch
    thick_in, thick_out = 7.5, 3.5
    p = skia.Path()
    p.moveTo(x_in, y_in - thick_in / 2)
    p.quadTo(mid_x, mid_y - 4.5, x_out, y_out - thick_out / 2)
    p.quadTo(x_out + side * 2, y_out, x_out, y_out + thick_out / 2)
    p.quadTo(mid_x, mid_y + 4.0, x_in, y_in + thick_in / 2)
    p.quadTo(x_in - side * 3, y_in, x_in, y_in - thick_in / 2)
    p.close()
    canvas.drawPath(p, brush.solid(pal.brow))


def _nose(canvas: skia.Canvas, f: FaceParams, pal: Palette, brush: Brush) -> None:
    sneer = 0.5 * (f["noseSneerLeft"] + f["noseSneerRight"])
    y = NOSE_Y - 2.5 * sneer
    if brush.shading != "flat":
        canvas.drawOval(skia.Rect(CX - 9, y - 20, CX + 4, y + 6), brush.solid(pal.skin_light, 0.5))
    p = skia.Path()
    p.moveTo(CX - 9, y)
    p.quadTo(CX, y + 8, CX + 9, y)
    canvas.drawPath(
        p, brush.stroke(pal.skin_shadow if brush.shading == "flat" else pal.line, 2.6, 0.85)
    )
    if sneer > 0.15:
        wrinkle = brush.stroke(pal.skin_shadow, 1.6, min(1.0, sneer))
        for side in (-1, 1):
            canvas.drawLine(CX + side * 6, y - 26, CX + side * 10, y - 20, wrinkle)


def _mouth(canvas: skia.Canvas, f: FaceParams, pal: Palette, brush: Brush) -> None:
    close = f["mouthClose"]
    jaw = f["jawOpen"] * (1.0 - 0.9 * min(1.0, close))
    funnel, pucker = f["mouthFunnel"], f["mouthPucker"]
    smile = 0.5 * (f["mouthSmileLeft"] + f["mouthSmileRight"])
    stretch = 0.5 * (f["mouthStretchLeft"] + f["mouthStretchRight"])
    press = 0.5 * (f["mouthPressLeft"] + f["mouthPressRight"])
    upper_up = 0.5 * (f["mouthUpperUpLeft"] + f["mouthUpperUpRight"])
    lower_down = 0.5 * (f["mouthLowerDownLeft"] + f["mouthLowerDownRight"])
    roll = 0.5 * (f["mouthRollLower"] + f["mouthRollUpper"])
    shrug = f["mouthShrugLower"]
    cx = CX + 7.0 * (f["mouthRight"] - f["mouthLeft"])
    cy = MOUTH_Y + 10.0 * jaw * 0.3 - 2.0 * shrug
    hw = MOUTH_HALF_WIDTH * (1.0 + 0.25 * smile + 0.3 * stretch - 0.42 * pucker - 0.3 * funnel)
    corners = []
    for name, side in _SIDES:
        lift = (
            9.0 * f["mouthSmile" + name]
            - 8.0 * f["mouthFrown" + name]
            + 2.0 * f["mouthDimple" + name]
        )
        corners.append((cx + side * hw * (1.0 + 0.08 * f["mouthStretch" + name]), cy - lift))
    (lx, ly), (rx, ry) = corners
    opening_up = 2.0 + 4.5 * upper_up + 9.0 * jaw + 5.0 * funnel
    opening_low = 36.0 * jaw + 6.0 * lower_down + 4.0 * funnel
    is_open = jaw + 0.3 * funnel + 0.2 * lower_down > 0.06
    round_ = min(1.0, funnel + pucker)
    inset = hw * (0.3 - 0.28 * round_)
    mid_drop = 4.0 * smile - 3.0 * max(f["mouthFrownLeft"], f["mouthFrownRight"])
    top_y = cy - (opening_up if is_open else 0.0) + mid_drop * (0.2 if is_open else 1.0)
    low_y = cy + (opening_low if is_open else 0.0) + mid_drop
    path = skia.Path()
    path.moveTo(lx, ly)
    path.cubicTo(lx + inset, top_y - 1.0, rx - inset, top_y - 1.0, rx, ry)
    path.cubicTo(rx - inset, low_y + 2.0, lx + inset, low_y + 2.0, lx, ly)
    path.close()
    lip_width = max(2.5, 6.5 - 3.0 * press - 2.5 * roll) + 2.0 * pucker
    lips = brush.stroke(pal.lip, lip_width * (1.0 if is_open else 1.2))
    if is_open:
        canvas.drawPath(path, lips)
        canvas.drawPath(path, brush.solid(pal.mouth))
        canvas.save()
        canvas.clipPath(path, doAntiAlias=brush.aa)
        if jaw > 0.12 and round_ < 0.8:
            canvas.drawRect(
                skia.Rect(lx, top_y - 4, rx, top_y + 2.5 + 5.0 * jaw), brush.solid(pal.teeth)
            )
        tongue_out = f["tongueOut"]
        canvas.drawOval(
            skia.Rect(cx - hw * 0.6, low_y - 10 - 8 * tongue_out, cx + hw * 0.6, low_y + 14),
            brush.solid(pal.tongue),
        )
        canvas.restore()
        canvas.drawPath(path, brush.stroke(pal.lip_dark, 1.2, 0.8))
    else:
        canvas.drawPath(path, lips)
        line = skia.Path()
        line.moveTo(lx, ly)
        line.cubicTo(lx + inset, top_y, rx - inset, top_y, rx, ry)
        canvas.drawPath(line, brush.stroke(pal.lip_dark, 2.2))
    if brush.detailed and brush.shading != "flat":  # lower-lip highlight
        hl = skia.Path()
        y = (low_y if is_open else top_y) + lip_width * 0.55 + 1.0
        hl.moveTo(cx - hw * 0.3, y + 1.0)
        hl.quadTo(cx, y + 2.5, cx + hw * 0.3, y + 1.0)
        canvas.drawPath(hl, brush.stroke((1, 1, 1), 1.6, 0.35))
    if smile > 0.3 and brush.shading != "flat":  # smile creases at the corners
        crease = brush.stroke(pal.skin_shadow, 1.8, min(1.0, (smile - 0.3) * 2.0))
        for x, y, side in ((lx, ly, -1.0), (rx, ry, 1.0)):
            c = skia.Path()
            c.moveTo(x + side * 1.0, y - 6)
            c.quadTo(x + side * 6.0, y - 1, x + side * 2.0, y + 5)
            canvas.drawPath(c, crease)


def _glasses(
    canvas: skia.Canvas, traits: Traits, f: FaceParams, pal: Palette, brush: Brush
) -> None:
    if traits.glasses == "none":
        return
    frame = brush.stroke((0.13, 0.12, 0.14), 3.4)
    lens = brush.solid((0.85, 0.92, 1.0), 0.14)
    glare = brush.stroke((1, 1, 1), 2.4, 0.45)
    for _, side in _SIDES:
        ex = CX + side * EYE_DX
        if traits.glasses == "round":
            rect = skia.Rect(ex - 26, EYE_Y - 25, ex + 26, EYE_Y + 25)
            canvas.drawOval(rect, lens)
            canvas.drawOval(rect, frame)
        else:
            rect = skia.Rect(ex - 29, EYE_Y - 20, ex + 29, EYE_Y + 20)
            canvas.drawRoundRect(rect, 7, 7, lens)
            canvas.drawRoundRect(rect, 7, 7, frame)
        if brush.shading != "flat":
            canvas.drawLine(ex - 14, EYE_Y - 12, ex - 6, EYE_Y - 19, glare)
        canvas.drawLine(
            ex + side * (26 if traits.glasses == "round" else 29),
            EYE_Y - 6,
            ex + side * 53,
            EYE_Y - 10,
            frame,
        )
    bridge = skia.Path()
    bridge.moveTo(CX - 17, EYE_Y - 6)
    bridge.quadTo(CX, EYE_Y - 14, CX + 17, EYE_Y - 6)
    canvas.drawPath(bridge, frame)


def draw_features(
    canvas: skia.Canvas, traits: Traits, f: FaceParams, pal: Palette, brush: Brush
) -> None:
    """Cheeks, eyes, brows, nose and mouth (the layer between head and fringe)."""
    _cheeks(canvas, f, pal, brush)
    for name, side in _SIDES:
        _eye(canvas, f, pal, brush, name, side)
        _brow(canvas, f, pal, brush, name, side)
    _nose(canvas, f, pal, brush)
    _mouth(canvas, f, pal, brush)


def draw_glasses(
    canvas: skia.Canvas, traits: Traits, f: FaceParams, pal: Palette, brush: Brush
) -> None:
    """Glasses sit over the fringe's ends, so they are drawn last."""
    _glasses(canvas, traits, f, pal, brush)

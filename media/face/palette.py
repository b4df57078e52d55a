"""Colours of one avatar, derived once from its traits (shadows, highlights, blush, lips)."""

from __future__ import annotations

from dataclasses import dataclass

import skia

from events.avatar import Traits

RGB = tuple[float, float, float]


def parse_hex(value: str) -> RGB:
    """``#rrggbb`` -> floats 0..1."""
    v = value.lstrip("#")
    return (int(v[0:2], 16) / 255.0, int(v[2:4], 16) / 255.0, int(v[4:6], 16) / 255.0)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def shade(c: RGB, amount: float) -> RGB:
    """Darker (amount > 0) towards a warm dark or lighter (amount < 0) towards white."""
    return mix(c, (0.16, 0.06, 0.08), amount) if amount >= 0 else mix(c, (1, 1, 1), -amount)


def luminance(c: RGB) -> float:
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def color(c: RGB, alpha: float = 1.0) -> int:
    """A skia colour int from floats."""
    return int(skia.Color4f(c[0], c[1], c[2], alpha).toColor())


@dataclass(frozen=True, slots=True)
class Palette:
    skin: RGB
    skin_shadow: RGB
    skin_light: RGB
    blush: RGB
    lip: RGB
    lip_dark: RGB
    hair: RGB
    hair_shadow: RGB
    hair_light: RGB
    brow: RGB
    iris: RGB
    iris_dark: RGB
    outfit: RGB
    outfit_shadow: RGB
    outfit_light: RGB
    shirt: RGB
    background: RGB
    background_dark: RGB
    line: RGB
    mouth: RGB
    teeth: RGB
    tongue: RGB
    sclera: RGB

    @classmethod
    def of(cls, traits: Traits) -> Palette:
        skin = parse_hex(traits.skin_tone)
        hair = parse_hex(traits.hair_color)
        outfit = parse_hex(traits.outfit_color)
        bg = parse_hex(traits.background)
        iris = parse_hex(traits.eye_color)
        lip = mix(skin, (0.78, 0.33, 0.36), 0.45 if luminance(skin) > 0.35 else 0.3)
        brow = shade(hair, 0.25) if luminance(hair) > 0.25 else mix(hair, (0.1, 0.07, 0.05), 0.5)
        shirt = (0.96, 0.96, 0.97) if luminance(outfit) < 0.7 else (0.25, 0.3, 0.38)
        return cls(
            skin=skin,
            skin_shadow=shade(skin, 0.22),
            skin_light=shade(skin, -0.18),
            blush=mix(skin, (0.95, 0.42, 0.45), 0.55),
            lip=lip,
            lip_dark=shade(lip, 0.35),
            hair=hair,
            hair_shadow=shade(hair, 0.35),
            hair_light=shade(hair, -0.25),
            brow=brow,
            iris=iris,
            iris_dark=shade(iris, 0.5),
            outfit=outfit,
            outfit_shadow=shade(outfit, 0.3),
            outfit_light=shade(outfit, -0.15),
            shirt=shirt,
            background=bg,
            background_dark=shade(bg, 0.12),
            line=mix(shade(skin, 0.75), (0.12, 0.08, 0.1), 0.5),
            mouth=(0.42, 0.11, 0.14),
            teeth=(0.98, 0.97, 0.95),
            tongue=(0.86, 0.42, 0.45),
            sclera=(0.99, 0.99, 0.98),
        )

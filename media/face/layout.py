"""Where things sit, in design units: the face is drawn on a 512 x 512 design square that the
rig scales and centres into the output, so every size shares one layout."""

from __future__ import annotations

DESIGN = 512.0
CX = 256.0

HEAD_TOP = 100.0
CHIN = 356.0
HEAD_HALF_WIDTH = 98.0
PIVOT = (CX, 335.0)
"""The neck joint the head turns around."""

EYE_Y = 240.0
EYE_DX = 43.0
EYE_HALF_WIDTH = 21.0
BROW_Y = 206.0
NOSE_Y = 284.0
MOUTH_Y = 318.0
MOUTH_HALF_WIDTH = 28.0
CHEEK_Y = 286.0
CHEEK_DX = 62.0

SHOULDER_Y = 400.0
BODY_BOTTOM = 6000.0
"""Far below the design square so tall outputs are filled to the bottom."""

ZOOM = 1.06
FOCUS = (CX, 262.0)
"""The design point placed at the centre of the output, and how much the design is enlarged."""

HEAD_LAYER_BOX = (40.0, 0.0, 472.0, 500.0)
"""Design rectangle of the cached head layers (left, top, right, bottom)."""

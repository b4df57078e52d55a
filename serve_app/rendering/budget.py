"""What a synchronous render may ask for: decided before anything is drawn.

A synchronous ``POST /render/sequence`` holds its HTTP request open while it draws; one that
asks for minutes of video (a cue ten minutes in, a 100,000-character text) would draw until
the render timeout and answer nothing useful. So its cost is estimated from the request alone,
in *reference seconds*: seconds of 512x512 video at 30 fps at ``high`` quality, scaled by the
picture's pixels, its frame rate and ``ultra``'s 2x supersampling; over
``render_sync_max_s`` it is refused at once (422 ``render_too_long``: ask for
``"background": true``). Speech is estimated from its text at espeak-ng's speaking rate.
A range of recorded events is not estimated (its length is in the journal): the render
timeout remains the limit there.
"""

from __future__ import annotations

from serve_app.rendering.models import SequenceRequest

REFERENCE_PIXELS = 512 * 512
REFERENCE_FPS = 30.0
MS_PER_CHAR_AT_175_WPM = 65.0
"""espeak-ng's default rate, 175 words a minute, is about 15 characters a second."""


def timeline_length_ms(req: SequenceRequest) -> float | None:
    """The video's length as the request states it (``duration_ms``), else when its last cue
    ends (speech estimated from its text); ``None`` for a range of recorded events."""
    if req.events is not None:
        return None
    if req.duration_ms is not None:
        return req.duration_ms
    ends = [0.0]
    ends += [
        c.at_ms + len(c.text) * MS_PER_CHAR_AT_175_WPM * 175 / c.rate for c in req.speech_cues()
    ]
    ends += [c.at_ms + c.transition_ms for c in req.emotions]
    ends += [c.at_ms + c.duration_ms for c in req.animations]
    ends += [c.at_ms for c in req.states]
    return max(ends)


def reference_seconds(req: SequenceRequest) -> float | None:
    """The request's cost in reference seconds (see the module docstring)."""
    length_ms = timeline_length_ms(req)
    if length_ms is None:
        return None
    supersampling = 4.0 if req.quality == "ultra" else 1.0
    scale = req.width * req.height / REFERENCE_PIXELS * req.fps / REFERENCE_FPS
    return length_ms / 1000.0 * scale * supersampling

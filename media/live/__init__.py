"""Live streams: an avatar's state as events arrive, sampled into frames and mixed into audio
on one clock (``scene``), and the pacing of periodic tracks (``pacing``). Pure: no clock is
read and no network is touched here; ``serve_app.live`` sends the result over WebRTC."""

from media.live.pacing import Pacer
from media.live.scene import SAMPLE_RATE, LiveScene, Utterance

__all__ = ["SAMPLE_RATE", "LiveScene", "Pacer", "Utterance"]

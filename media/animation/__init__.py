"""Animation: a timeline (initial avatar state + timed events) -> face parameters per frame.

Pure and deterministic: no clock, no global random state; idle motion comes from a seed.
"""

from media.animation.emotions import EMOTION_POSES, emotion_vector
from media.animation.params import BLENDSHAPES, CHANNELS, POSE, FaceParams
from media.animation.sampler import FaceTrack, frame_count, sample, spoken_tracks, still
from media.animation.timeline import (
    Cue,
    Timeline,
    natural_end_ms,
    speech_cues,
    timeline_from_records,
)

__all__ = [
    "BLENDSHAPES",
    "CHANNELS",
    "EMOTION_POSES",
    "POSE",
    "Cue",
    "FaceParams",
    "FaceTrack",
    "Timeline",
    "emotion_vector",
    "frame_count",
    "natural_end_ms",
    "sample",
    "speech_cues",
    "spoken_tracks",
    "still",
    "timeline_from_records",
]

"""A timeline straight to a video file: sampler -> rig -> encoder, one frame at a time.

Face parameters for the whole timeline are small (a float row per frame) and sampled first;
pixels are drawn and piped frame by frame, so memory stays flat however long the video.
A ``Customized`` cue switches the appearance from its frame on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from events.avatar import Customized, SpeechStarted, Traits
from media.animation import Timeline, sample, spoken_tracks
from media.face import PIXEL_FORMAT, FaceRig, RenderOptions
from media.video.audio import PcmAudio, lay_out
from media.video.encoder import Progress, VideoEncoder


@dataclass(frozen=True, slots=True)
class RenderResult:
    path: Path
    frames: int
    fps: float
    duration_s: float
    has_audio: bool


def speech_audio(timeline: Timeline, clips: Mapping[str, PcmAudio]) -> PcmAudio | None:
    """The timeline's speech audio: each utterance's clip (by utterance id) at its cue, cut
    where the sampler cuts its lip-sync (interruption or next speech); trimmed to the end."""
    starts = [
        (c.at_ms, c.event.utterance_id) for c in timeline.cues if isinstance(c.event, SpeechStarted)
    ]
    placed = []
    rate = None
    for (at_ms, utterance), spoken in zip(starts, spoken_tracks(timeline), strict=True):
        clip = clips.get(utterance)
        if clip is None:
            continue
        rate = rate or clip.sample_rate
        placed.append((at_ms, clip, spoken.cut_ms))
    if rate is None:
        return None
    mixed = lay_out(placed, rate)
    return None if mixed is None else mixed.trimmed(timeline.duration_ms / 1000.0)


def render_timeline(
    timeline: Timeline,
    path: str | Path,
    *,
    fmt: str = "mp4",
    fps: float = 30.0,
    options: RenderOptions | None = None,
    seed: int = 0,
    audio: PcmAudio | None = None,
    progress: Progress | None = None,
) -> RenderResult:
    """Render ``timeline`` to ``path``; ``audio`` starts at the timeline's time 0."""
    options = options or RenderOptions()
    track = sample(timeline, fps, seed)
    times = track.times_ms
    changes = [(c.at_ms, c.event.traits) for c in timeline.cues if isinstance(c.event, Customized)]
    rigs: dict[Traits, FaceRig] = {}

    def rig_for(traits: Traits) -> FaceRig:
        if traits not in rigs:
            rigs.clear()  # keep one appearance cached at a time
            rigs[traits] = FaceRig(traits, options)
        return rigs[traits]

    traits = timeline.initial.traits
    n = len(track)
    if audio is not None:
        audio = audio.trimmed(n / fps)  # never longer than the pictures
    with VideoEncoder(
        path,
        options.width,
        options.height,
        fps,
        fmt,
        audio=audio,
        pixel_format=PIXEL_FORMAT,
        progress=progress,
        total_frames=n,
    ) as enc:
        k = 0
        for i in range(n):
            while k < len(changes) and changes[k][0] <= times[i]:
                traits = changes[k][1]
                k += 1
            enc.write(rig_for(traits).render(track[i]))
    return RenderResult(Path(path), n, fps, n / fps, audio is not None)

"""The sound of a rendered video: the WAV that speak stored for each utterance, or the same
words spoken again."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from events.avatar import SpeechStarted
from media.animation import Timeline
from media.speech import SpeechError, synthesize
from media.video import PcmAudio

AudioFinder = Callable[[str], Path | None]
"""``find(asset_id)`` -> the stored file of an audio asset, or ``None``."""


def stored_wav(path: Path) -> PcmAudio | None:
    """A 16-bit PCM WAV file as audio; ``None`` when it is anything else."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                return None
            samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)
            channels, rate = w.getnchannels(), w.getframerate()
    except (OSError, wave.Error, EOFError):
        return None
    return PcmAudio(samples.reshape(-1, channels) if channels > 1 else samples, rate)


def recorded_audio(timeline: Timeline, find: AudioFinder | None = None) -> dict[str, PcmAudio]:
    """Audio of the recorded utterances: the WAV that speak stored (``audio_asset_id``), so a
    replay sounds exactly as the session did; otherwise spoken again from text and voice.

    The lip-sync track comes from the event, so pictures never depend on this; spoken again,
    the audio may differ by a few samples between runs (espeak-ng), which nobody hears.
    """
    clips: dict[str, PcmAudio] = {}
    for c in timeline.cues:
        ev = c.event
        if not isinstance(ev, SpeechStarted) or ev.utterance_id in clips:
            continue
        path = find(ev.audio_asset_id) if find and ev.audio_asset_id else None
        stored = stored_wav(path) if path is not None else None
        if stored is not None:
            clips[ev.utterance_id] = stored
            continue
        try:
            spoken = synthesize(ev.text, ev.voice_id)
        except SpeechError:
            continue  # a voice no longer installed: the video stays silent there
        clips[ev.utterance_id] = PcmAudio(spoken.pcm.astype(np.int16), spoken.sample_rate)
    return clips

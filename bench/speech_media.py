"""Speech layer benchmark (no HTTP): TTS speed, phonemes without audio, exports, audio lip-sync.

Run from the repository root: ``.venv/bin/python -m bench.speech_media``. The HTTP figures of
issue 4 (``/lipsync`` p50/p99) belong to ``bench/speech.py`` once the routes exist; these are
the in-process costs underneath them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.common import percentile, record
from media.speech import phonemes
from media.speech.audio_lipsync import lipsync_audio
from media.speech.exporters import EXPORTERS
from media.speech.timing import estimate_track
from media.speech.tts import synthesize

PARAGRAPH = (
    "Good morning, and thank you for joining us today. My name is Maya, and I will be your "
    "interviewer. We will talk about your experience, a few technical problems, and the "
    "projects you are proud of. Please take your time, think out loud, and ask questions "
    "whenever something is unclear. Before we begin, let me explain how the next forty-five "
    "minutes will go: first a short introduction, then two design questions, and at the end "
    "plenty of time for anything you would like to know about the team."
)
SENTENCE_20_WORDS = (
    "Thank you for coming in today, could you please tell me a little about "
    "the last project you really enjoyed?"
)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times in ms of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def main() -> None:
    assert len(SENTENCE_20_WORDS.split()) == 20
    rows: list[tuple[str, str]] = []

    first = timed(lambda: synthesize("Warm up."), 1)[0]
    rows.append(("espeak first call (load + init + voice)", f"{first:.1f} ms"))
    speech = synthesize(PARAGRAPH)
    tts = timed(lambda: synthesize(PARAGRAPH), 7)
    audio_ms = speech.duration_ms
    rows.append(("TTS paragraph: words / audio", f"{len(PARAGRAPH.split())} / {audio_ms:.0f} ms"))
    rows.append(("TTS paragraph: synth time p50", f"{statistics.median(tts):.1f} ms"))
    rows.append(("TTS speed (x realtime, p50)", f"{audio_ms / statistics.median(tts):.0f}x"))
    sent = timed(lambda: synthesize(SENTENCE_20_WORDS), 21)
    rows.append(
        (
            "TTS + track, 20-word sentence p50 / p99",
            f"{percentile(sent, 50):.1f} / {percentile(sent, 99):.1f} ms",
        )
    )

    cmu = timed(lambda: phonemes.cmu_lookup("hello"), 1)[0]
    rows.append(("CMU dictionary first lookup (load once)", f"{cmu:.0f} ms"))
    est = timed(lambda: estimate_track(SENTENCE_20_WORDS), 51)
    rows.append(
        (
            "phoneme estimate (no audio), 20 words p50 / p99",
            f"{percentile(est, 50):.2f} / {percentile(est, 99):.2f} ms",
        )
    )
    oov = timed(lambda: estimate_track("Blorptastic zanquor vimbles the frobnicated quuxes."), 21)
    rows.append(
        (
            "phoneme estimate, 6 words, 5 unknown (espeak fallback) p50",
            f"{percentile(oov, 50):.2f} ms",
        )
    )

    track = speech.track
    for name, exporter in EXPORTERS.items():
        cost = timed(lambda exporter=exporter: exporter(track), 21)  # type: ignore[misc]
        rows.append(
            (f"export {name} ({audio_ms / 1000:.0f} s track) p50", f"{percentile(cost, 50):.2f} ms")
        )

    wav = speech.wav_bytes()
    plain = timed(lambda: lipsync_audio(wav), 5)
    rows.append(
        (
            "audio lip-sync, no transcript (x realtime, p50)",
            f"{statistics.median(plain):.1f} ms ({audio_ms / statistics.median(plain):.0f}x)",
        )
    )
    aligned = timed(lambda: lipsync_audio(wav, transcript=PARAGRAPH), 5)
    rows.append(
        (
            "audio lip-sync + transcript alignment (x realtime, p50)",
            f"{statistics.median(aligned):.1f} ms ({audio_ms / statistics.median(aligned):.0f}x)",
        )
    )

    record(
        "Speech media layer (media/speech, in-process)",
        rows,
        notes="Single thread; espeak-ng 1.52 via espeakng-loader, 22050 Hz mono 16-bit. "
        "Synthesis is serialised on one process-wide lock (libespeak-ng is global "
        "state), so per-process TTS throughput is one core's.",
    )


if __name__ == "__main__":
    main()

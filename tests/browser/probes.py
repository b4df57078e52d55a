"""Measurements taken inside the page, on what the browser decoded and plays: the live
<video> drawn into a canvas (the mouth region compared frame to frame) and the remote audio
through a WebAudio AnalyserNode. ``START`` installs ``window.__probe``; ``phase`` labels the
samples; ``SAMPLES`` reads them back."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean, median
from typing import Any

# Where the mouth is in the 512x512 picture (media/face/layout.py: MOUTH_Y 318 in design units,
# FOCUS 262 and ZOOM 1.06 place it at y ~315; half width 28, more with a smile; the jaw opens
# downwards), with a margin for head motion.
MOUTH_BOX = (196, 280, 120, 80)  # x, y, width, height at 512x512

START = """
([x, y, w, h]) => {
  const video = document.getElementById("live-video");
  const scale = video.videoWidth / 512;
  const box = [x, y, w, h].map((v) => Math.round(v * scale));
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const audio = new AudioContext();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 2048;
  audio.createMediaStreamSource(video.srcObject).connect(analyser);
  const wave = new Float32Array(analyser.fftSize);
  const probe = { phase: "idle", samples: [], prev: null, frames: 0, drawn: -1 };
  const onFrame = () => {
    probe.frames += 1;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  probe.timer = setInterval(() => {
    // the mouth region compared with the previous *new* frame: how much it moved per frame,
    // whatever the frame rate (a loaded machine presents fewer frames, not smaller changes)
    let diff = null;
    if (probe.frames !== probe.drawn) {
      probe.drawn = probe.frames;
      ctx.drawImage(video, 0, 0);
      const px = ctx.getImageData(...box).data;
      if (probe.prev) {
        let sum = 0;
        for (let i = 0; i < px.length; i += 4) {
          sum += Math.abs(px[i] - probe.prev[i]) + Math.abs(px[i + 1] - probe.prev[i + 1])
            + Math.abs(px[i + 2] - probe.prev[i + 2]);
        }
        diff = sum / (px.length / 4) / 3;
      }
      probe.prev = px;
    }
    analyser.getFloatTimeDomainData(wave);
    let energy = 0;
    for (const s of wave) energy += s * s;
    probe.samples.push({
      phase: probe.phase,
      t: performance.now(),
      diff,
      rms: Math.sqrt(energy / wave.length),
      frames: probe.frames,
      context: audio.state,
    });
  }, 50);
  window.__probe = probe;
  return { box, context: audio.state };
}
"""

SET_PHASE = "(phase) => { window.__probe.phase = phase; }"

SAMPLES = "() => { clearInterval(window.__probe.timer); return window.__probe.samples; }"


@dataclass(frozen=True)
class Phase:
    """What the probe saw during one phase."""

    name: str
    samples: int
    motion: float  # median absolute change of the mouth region's pixels per new frame (0..255)
    rms: float  # mean audio RMS (full scale 1.0)
    peak_rms: float
    frames: int  # video frames presented during the phase


def phases(samples: list[dict[str, Any]]) -> dict[str, Phase]:
    out: dict[str, Phase] = {}
    for name in dict.fromkeys(s["phase"] for s in samples):
        mine = [s for s in samples if s["phase"] == name]
        diffs = [s["diff"] for s in mine if s["diff"] is not None]
        out[name] = Phase(
            name=name,
            samples=len(mine),
            motion=median(diffs) if diffs else 0.0,
            rms=mean(s["rms"] for s in mine),
            peak_rms=max(s["rms"] for s in mine),
            frames=mine[-1]["frames"] - mine[0]["frames"],
        )
    return out

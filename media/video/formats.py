"""Output formats and the ffmpeg-python graph of each: codecs, pixel formats, containers.

x264 runs ``ultrafast`` with ``tune=animation`` at crf 20: a 10 s 512x512 render with speech
pinned to one core went from 1.88 s with ``veryfast`` to 1.38 s (7.2x realtime; both rows in
bench/RESULTS.md from bench/render_media.py), which keeps it above the 6.5x target. The file is
larger: that clip is 1.1 MB (~0.9 Mbit/s) against 0.3 MB, still an ordinary web-video bitrate.
``tune=animation`` keeps a still face still (plain ``ultrafast`` roughly tripled the encoding
noise between frames of a still mouth, see tests/unit/media/test_video_encode.py).
``fmp4`` is fragmented MP4 for live streams (playable while written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import ffmpeg

VideoFormat = Literal["mp4", "webm", "gif", "fmp4"]
ImageFormat = Literal["png", "jpeg", "webp"]
VIDEO_FORMATS: tuple[str, ...] = get_args(VideoFormat)
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)

MIME = {
    "mp4": "video/mp4",
    "fmp4": "video/mp4",
    "webm": "video/webm",
    "gif": "image/gif",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}


@dataclass(frozen=True, slots=True)
class VideoSpec:
    container: str
    video: dict[str, Any]
    audio: dict[str, Any] | None
    """Audio codec options, or ``None`` when the format carries no sound (gif)."""
    even_size: bool
    """yuv420p needs even width and height: odd sizes are padded by one pixel."""


SPECS: dict[str, VideoSpec] = {
    "mp4": VideoSpec(
        "mp4",
        {
            "vcodec": "libx264",
            "preset": "ultrafast",
            "crf": 20,
            "tune": "animation",
            "pix_fmt": "yuv420p",
            "movflags": "+faststart",
        },
        {"acodec": "aac", "audio_bitrate": "128k"},
        True,
    ),
    "fmp4": VideoSpec(
        "mp4",
        {
            "vcodec": "libx264",
            "preset": "ultrafast",
            "crf": 20,
            "pix_fmt": "yuv420p",
            "tune": "animation,zerolatency",
            "movflags": "frag_keyframe+empty_moov+default_base_moof",
        },
        {"acodec": "aac", "audio_bitrate": "128k"},
        True,
    ),
    "webm": VideoSpec(
        "webm",
        {
            "vcodec": "libvpx-vp9",
            "pix_fmt": "yuv420p",
            "crf": 32,
            "video_bitrate": 0,
            "deadline": "realtime",
            "cpu-used": 8,
            "row-mt": 1,
        },
        {"acodec": "libopus", "audio_bitrate": "96k", "ar": 48000},
        True,
    ),
    "gif": VideoSpec("gif", {}, None, False),
}


def video_graph(source: Any, fmt: str) -> Any:
    """Filters a format needs on the raw frames (padding; the gif palette)."""
    spec = SPECS[fmt]
    if spec.even_size:
        return source.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")
    if fmt == "gif":
        split = source.filter_multi_output("split")
        palette = split[0].filter("palettegen", stats_mode="diff")
        return ffmpeg.filter([split[1], palette], "paletteuse", dither="bayer", bayer_scale=4)
    return source


IMAGE_CODECS: dict[str, dict[str, Any]] = {
    "png": {"vcodec": "png", "format": "image2pipe", "compression_level": 3},
    "jpeg": {"vcodec": "mjpeg", "format": "image2pipe", "pix_fmt": "yuvj444p", "q:v": 3},
    "webp": {"vcodec": "libwebp", "format": "webp", "quality": 88},
}

"""Video: frames and speech audio encoded with ffmpeg (the imageio-ffmpeg binary)."""

from media.video.audio import PcmAudio, lay_out
from media.video.encoder import Progress, VideoEncoder
from media.video.errors import EncodeError
from media.video.formats import IMAGE_FORMATS, MIME, VIDEO_FORMATS
from media.video.image import encode_image
from media.video.process import ffmpeg_exe
from media.video.render import RenderResult, render_timeline, speech_audio

__all__ = [
    "IMAGE_FORMATS",
    "MIME",
    "VIDEO_FORMATS",
    "EncodeError",
    "PcmAudio",
    "Progress",
    "RenderResult",
    "VideoEncoder",
    "encode_image",
    "ffmpeg_exe",
    "lay_out",
    "render_timeline",
    "speech_audio",
]

"""What a file is, from its first bytes, and whether that agrees with the type a client declared.

Only the formats the service uses are recognised (images and textures, glTF/GLB/FBX models,
WAV/MP3/OGG audio, MP4/WebM video); anything else is "unknown" and may only be stored as
``other`` under a type that is not one of ours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal, get_args

from assets.errors import UnsupportedMedia

AssetKind = Literal["model", "texture", "animation", "audio", "video", "image", "other"]
KINDS: tuple[str, ...] = get_args(AssetKind)

SNIFF_BYTES = 64 * 1024
"""How much of the head :func:`sniff` wants (a glTF JSON's ``"asset"`` key may come late)."""

OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    mime: str
    """What downloads carry (FBX has no registered type: octet-stream)."""
    kind: AssetKind
    """The kind an upload gets when the client names none."""
    aliases: frozenset[str]
    """Declared types that mean this format."""


def _fmt(name: str, mime: str, kind: AssetKind, *aliases: str) -> Format:
    return Format(name, mime, kind, frozenset({mime, *aliases}))


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        _fmt("png", "image/png", "image", "image/x-png", "image/apng"),
        _fmt("jpeg", "image/jpeg", "image", "image/jpg", "image/pjpeg"),
        _fmt("webp", "image/webp", "image"),
        _fmt("gif", "image/gif", "image"),
        _fmt("gltf", "model/gltf+json", "model", "application/json", "model/gltf"),
        _fmt("glb", "model/gltf-binary", "model", "application/gltf-binary"),
        _fmt("fbx", OCTET_STREAM, "model", "model/fbx", "application/x-fbx", "application/fbx"),
        _fmt("wav", "audio/wav", "audio", "audio/x-wav", "audio/wave", "audio/vnd.wave"),
        _fmt("mp3", "audio/mpeg", "audio", "audio/mp3", "audio/x-mpeg"),
        _fmt("ogg", "audio/ogg", "audio", "application/ogg", "video/ogg", "audio/opus"),
        _fmt("mp4", "video/mp4", "video", "audio/mp4", "application/mp4"),
        _fmt("webm", "video/webm", "video", "audio/webm"),
    )
}

_KIND_FORMATS: dict[str, frozenset[str]] = {
    "model": frozenset({"gltf", "glb", "fbx"}),
    "animation": frozenset({"gltf", "glb", "fbx"}),
    "texture": frozenset({"png", "jpeg", "webp", "gif"}),
    "image": frozenset({"png", "jpeg", "webp", "gif"}),
    "audio": frozenset({"wav", "mp3", "ogg", "mp4", "webm"}),
    "video": frozenset({"mp4", "webm", "ogg", "gif"}),
}


def sniff(head: bytes) -> Format | None:
    """The format of a file from its first bytes (:data:`SNIFF_BYTES` of them), or None."""
    name = _sniff_name(head)
    return None if name is None else FORMATS[name]


def _sniff_name(h: bytes) -> str | None:
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if h.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return "webp"
    if h[:4] == b"RIFF" and h[8:12] == b"WAVE":
        return "wav"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if h[:4] == b"glTF" and len(h) >= 12 and struct.unpack_from("<I", h, 4)[0] == 2:
        return "glb"
    if h.startswith(b"Kaydara FBX Binary  \x00"):
        return "fbx"
    if h[:4] == b"OggS":
        return "ogg"
    if h[4:8] == b"ftyp":  # ISO media: MP4 unless the brand says still image (AVIF, HEIF)
        return None if h[8:12] in _IMAGE_BRANDS else "mp4"
    if h[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska family; only WebM is ours
        return "webm" if b"webm" in h[:64] else None
    if h[:3] == b"ID3" or _mpeg_audio_frame(h):
        return "mp3"
    text = h.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"; FBX") or text.startswith(b"FBXHeaderExtension"):
        return "fbx"
    if text.startswith(b"{") and b'"asset"' in h:
        return "gltf"
    return None


_IMAGE_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"})
# Declared types that name a container of many formats, not one of ours: a file of no format of
# ours may be declared so (any JSON is application/json; only some of it is glTF).
_CONTAINER_TYPES = frozenset({"application/json"})


def _mpeg_audio_frame(h: bytes) -> bool:
    """An MPEG layer III frame header: sync bits, a valid version, layer, bitrate, rate."""
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE0 != 0xE0:
        return False
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate, rate = h[2] >> 4, (h[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


def base_type(declared: str | None) -> str:
    """``"Image/PNG; charset=x"`` -> ``"image/png"``; absent -> ``""``."""
    return (declared or "").split(";", 1)[0].strip().lower()


def is_generic(mime: str) -> bool:
    return mime in ("", OCTET_STREAM, "binary/octet-stream", "application/x-binary")


def resolve(
    head: bytes, declared: str | None, kind: AssetKind | None
) -> tuple[str, AssetKind, str]:
    """``(mime, kind, format)`` of an upload from its head, declared type and requested kind.

    Raises :class:`~assets.errors.UnsupportedMedia` when the bytes contradict the declared type
    or the kind (a "PNG" that is not, a model that is an image). ``format`` is ``""`` for
    a file of no format of ours, stored as ``other`` under its declared type.
    """
    mime = base_type(declared)
    found = sniff(head)
    if found is None:
        ours = any(mime in f.aliases for f in FORMATS.values())
        if not is_generic(mime) and mime not in _CONTAINER_TYPES and ours:
            raise UnsupportedMedia(f"the content is not {mime}")
        if kind not in (None, "other"):
            raise UnsupportedMedia(f"the content is not a known {kind} format")
        return (mime or OCTET_STREAM), "other", ""
    if not is_generic(mime) and mime not in found.aliases:
        raise UnsupportedMedia(f"declared {mime} but the content is {found.mime} ({found.name})")
    if kind is None:
        return found.mime, found.kind, found.name
    if kind != "other" and found.name not in _KIND_FORMATS[kind]:
        raise UnsupportedMedia(f"a {found.name} file cannot be a {kind} asset")
    return found.mime, kind, found.name

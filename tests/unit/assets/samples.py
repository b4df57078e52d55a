"""Small files of every format the asset store recognises, and a GLB built with morph targets.

Only heads matter to sniffing; bodies are padding so that sizes are realistic enough.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PAD = bytes(range(256)) * 8

SAMPLES: dict[str, tuple[bytes, str]] = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + PAD, "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + PAD, "image/jpeg"),
    "webp": (b"RIFF\x24\x08\x00\x00WEBPVP8 " + PAD, "image/webp"),
    "gif": (b"GIF89a\x01\x00\x01\x00" + PAD, "image/gif"),
    "gltf": (b'{\n  "asset": {"version": "2.0"}, "meshes": []\n}\n', "model/gltf+json"),
    "fbx": (b"Kaydara FBX Binary  \x00\x1a\x00\xe8\x1c\x00\x00" + PAD, "application/octet-stream"),
    "fbx-ascii": (b"; FBX 7.4.0 project file\n; ----\nFBXHeaderExtension:  {\n", "model/fbx"),
    "wav": (b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00" + PAD, "audio/wav"),
    "mp3": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + PAD, "audio/mpeg"),
    "mp3-frame": (b"\xff\xfb\x90\x64" + PAD, "audio/mpeg"),
    "ogg": (b"OggS\x00\x02" + PAD, "audio/ogg"),
    "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + PAD, "video/mp4"),
    "webm": (
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
        b"\x42\xf3\x81\x08\x42\x82\x84webm" + PAD,
        "video/webm",
    ),
}

ARKIT_TARGETS = ["jawOpen", "mouthClose", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft"]
VISEME_TARGETS = ["viseme_sil", "viseme_PP", "viseme_aa", "viseme_O", "viseme_U"]


def gltf_document(target_names: list[str], *, on_primitive: bool = False) -> dict[str, Any]:
    """A minimal glTF 2.0 document: one mesh with one morph target per name."""
    targets = [{"POSITION": 1} for _ in target_names]
    primitive: dict[str, Any] = {"attributes": {"POSITION": 0}, "targets": targets}
    mesh: dict[str, Any] = {"name": "Head", "primitives": [primitive]}
    extras = {"targetNames": target_names}
    if on_primitive:
        primitive["extras"] = extras
    else:
        mesh["extras"] = extras
    return {
        "asset": {"version": "2.0", "generator": "avatar-service tests"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "Head"}],
        "meshes": [mesh],
        "animations": [{"name": "idle", "channels": [], "samplers": []}],
        "buffers": [{"byteLength": 24}],
    }


def glb(document: dict[str, Any], binary: bytes = b"\x00" * 24) -> bytes:
    """A GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\x00" * (-len(binary) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def face_glb(targets: list[str] | None = None) -> bytes:
    return glb(gltf_document(targets if targets is not None else ARKIT_TARGETS + VISEME_TARGETS))

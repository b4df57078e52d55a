"""glTF 2.0 models (JSON ``.gltf`` and binary ``.glb``): what a client needs to drive one.

Only the JSON part is read (for a GLB: the 12-byte header, then the first chunk, which the
spec requires to be JSON). Morph target names come from the common ``extras.targetNames``
convention (on the mesh or its first primitive); from them we tell whether the model can take
ARKit blendshape weights or Oculus visemes straight from the lip-sync exporters.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GLB_MAGIC = b"glTF"
GLB_JSON_CHUNK = 0x4E4F534A  # "JSON" little-endian
MAX_JSON_BYTES = 64 * 1024**2

_SIDES = ("Left", "Right")
ARKIT_BLENDSHAPES: frozenset[str] = frozenset(
    [
        f"eye{m}{s}"
        for m in ("Blink", "LookDown", "LookIn", "LookOut", "LookUp", "Squint", "Wide")
        for s in _SIDES
    ]
    + ["jawForward", "jawLeft", "jawRight", "jawOpen"]
    + ["mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight"]
    + [
        f"mouth{m}{s}"
        for m in ("Smile", "Frown", "Dimple", "Stretch", "Press", "LowerDown", "UpperUp")
        for s in _SIDES
    ]
    + ["mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper"]
    + ["browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight"]
    + ["cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight"]
    + ["tongueOut"]
)
OCULUS_VISEMES: tuple[str, ...] = tuple(
    f"viseme_{v}"
    for v in ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
)


class GltfError(ValueError):
    """Not a readable glTF 2.0 file."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    container: str
    """``gltf`` (JSON) or ``glb``."""
    generator: str | None
    meshes: int
    nodes: int
    animations: list[str]
    morph_targets: list[str]
    """Every named morph target, in file order, without repeats."""
    arkit_blendshapes: list[str]
    arkit: bool
    """At least one ARKit blendshape name is present."""
    oculus_visemes: list[str]
    visemes: bool
    """At least one Oculus viseme (``viseme_sil`` ... ``viseme_U``) is present."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_document(path: Path) -> tuple[str, dict[str, Any]]:
    """``(container, json document)`` of a ``.gltf`` or ``.glb`` file."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(12)
            if head[:4] == GLB_MAGIC:
                return "glb", _glb_json(f, head)
            rest = f.read(MAX_JSON_BYTES)
            if f.read(1):
                raise GltfError(f"glTF JSON over {MAX_JSON_BYTES} bytes")
            return "gltf", _document(head + rest)
    except OSError as e:
        raise GltfError(f"cannot read the model: {e}") from e


def _glb_json(f: Any, head: bytes) -> dict[str, Any]:
    if len(head) < 12:
        raise GltfError("truncated GLB header")
    _, version, length = struct.unpack("<4sII", head)
    if version != 2:
        raise GltfError(f"GLB version {version} (only 2 is supported)")
    chunk = f.read(8)
    if len(chunk) < 8:
        raise GltfError("GLB without a chunk")
    size, kind = struct.unpack("<II", chunk)
    if kind != GLB_JSON_CHUNK:
        raise GltfError("the first GLB chunk is not JSON")
    if size > MAX_JSON_BYTES or 20 + size > length:
        raise GltfError(f"GLB JSON chunk of {size} bytes does not fit the file ({length})")
    data: bytes = f.read(size)
    if len(data) < size:
        raise GltfError("truncated GLB JSON chunk")
    return _document(data)


def _document(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8-sig").rstrip(" \x00"))
    except (UnicodeDecodeError, ValueError) as e:
        raise GltfError(f"invalid JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise GltfError("no 'asset' object: not a glTF document")
    version = str(doc["asset"].get("version", ""))
    if not version.startswith("2."):
        raise GltfError(f"glTF version {version or '?'} (only 2.x is supported)")
    return doc


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        names = value.get("targetNames")
        if isinstance(names, list):
            return [n for n in names if isinstance(n, str)]
    return []


def morph_target_names(doc: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for mesh in _list(doc, "meshes"):
        names = _names(mesh.get("extras"))
        if not names:
            for prim in _list(mesh, "primitives"):
                names = _names(prim.get("extras"))
                if names:
                    break
        seen.update(dict.fromkeys(names))
    return list(seen)


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def model_info(path: Path) -> ModelInfo:
    container, doc = read_document(path)
    targets = morph_target_names(doc)
    arkit = [t for t in targets if t in ARKIT_BLENDSHAPES]
    visemes = [v for v in OCULUS_VISEMES if v in set(targets)]
    generator = doc["asset"].get("generator")
    return ModelInfo(
        container=container,
        generator=generator if isinstance(generator, str) else None,
        meshes=len(_list(doc, "meshes")),
        nodes=len(_list(doc, "nodes")),
        animations=[
            str(a.get("name", f"animation_{i}")) for i, a in enumerate(_list(doc, "animations"))
        ],
        morph_targets=targets,
        arkit_blendshapes=arkit,
        arkit=bool(arkit),
        oculus_visemes=visemes,
        visemes=bool(visemes),
    )

import json
import struct
from pathlib import Path

import pytest

from assets.gltf import GltfError, model_info
from tests.unit.assets.samples import ARKIT_TARGETS, VISEME_TARGETS, face_glb, glb, gltf_document


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_glb_morph_targets_arkit_and_visemes(tmp_path: Path) -> None:
    info = model_info(write(tmp_path, "face.glb", face_glb()))
    assert info.container == "glb"
    assert info.morph_targets == ARKIT_TARGETS + VISEME_TARGETS
    assert info.arkit and info.arkit_blendshapes == ARKIT_TARGETS
    assert info.visemes and info.oculus_visemes == VISEME_TARGETS
    assert (info.meshes, info.nodes, info.animations) == (1, 1, ["idle"])
    assert info.generator == "avatar-service tests"


def test_gltf_json_with_names_on_the_primitive(tmp_path: Path) -> None:
    doc = gltf_document(["viseme_sil", "viseme_aa", "smile"], on_primitive=True)
    info = model_info(write(tmp_path, "face.gltf", json.dumps(doc, indent=2).encode()))
    assert info.container == "gltf"
    assert info.morph_targets == ["viseme_sil", "viseme_aa", "smile"]
    assert info.visemes and not info.arkit


def test_a_model_without_targets(tmp_path: Path) -> None:
    info = model_info(write(tmp_path, "rock.glb", glb(gltf_document([]))))
    assert info.morph_targets == [] and not info.arkit and not info.visemes


@pytest.mark.parametrize(
    "data",
    [
        b"glTF\x02\x00\x00\x00",  # truncated header
        struct.pack("<4sII", b"glTF", 1, 20) + struct.pack("<II", 0, 0x4E4F534A),  # version 1
        struct.pack("<4sII", b"glTF", 2, 20) + struct.pack("<II", 4, 0x004E4942) + b"\0" * 4,
        struct.pack("<4sII", b"glTF", 2, 30) + struct.pack("<II", 999, 0x4E4F534A) + b"{}",
        b'{"asset": {"version": "1.0"}}',
        b'{"meshes": []}',
        b"{not json",
        b"[1, 2]",
    ],
)
def test_broken_files_are_gltf_errors(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(GltfError):
        model_info(write(tmp_path, "bad.glb", data))

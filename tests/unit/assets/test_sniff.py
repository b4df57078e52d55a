import pytest

from assets import UnsupportedMedia, sniff
from assets.sniff import FORMATS, resolve
from tests.unit.assets.samples import SAMPLES, face_glb

EXPECTED = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "gltf": "model/gltf+json",
    "fbx": "application/octet-stream",
    "fbx-ascii": "application/octet-stream",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mp3-frame": "audio/mpeg",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "webm": "video/webm",
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_every_format_is_sniffed(sample: str) -> None:
    data, _ = SAMPLES[sample]
    found = sniff(data)
    assert found is not None and found.mime == EXPECTED[sample]


def test_glb_is_sniffed() -> None:
    found = sniff(face_glb())
    assert found is not None and (found.name, found.mime) == ("glb", "model/gltf-binary")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"{}",
        b'{"not": "gltf"}',
        b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska",  # Matroska but not WebM
        b"\xff\xfb",  # a frame sync too short to be a header
        b"glTF\x01\x00\x00\x00",  # glTF 1.0 binary
        b"RIFF\x00\x00\x00\x00AVI ",
    ],
)
def test_other_bytes_are_unknown(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_declared_type_that_agrees_is_accepted(sample: str) -> None:
    data, declared = SAMPLES[sample]
    mime, kind, fmt = resolve(data, declared + "; charset=binary", None)
    assert mime == EXPECTED[sample]
    assert fmt == sample.split("-", maxsplit=1)[0]
    assert kind == FORMATS[fmt].kind


@pytest.mark.parametrize(
    ("declared", "sample"),
    [("image/jpg", "jpeg"), ("audio/x-wav", "wav"), ("audio/mp3", "mp3"), ("audio/webm", "webm")],
)
def test_common_aliases_agree(declared: str, sample: str) -> None:
    assert resolve(SAMPLES[sample][0], declared, None)[2] == sample.split("-", maxsplit=1)[0]


@pytest.mark.parametrize("declared", [None, "", "application/octet-stream"])
def test_generic_declarations_take_the_sniffed_type(declared: str | None) -> None:
    assert resolve(SAMPLES["png"][0], declared, None) == ("image/png", "image", "png")


@pytest.mark.parametrize(
    ("sample", "declared"),
    [
        ("jpeg", "image/png"),
        ("png", "model/gltf-binary"),
        ("wav", "audio/mpeg"),
        ("mp4", "video/webm"),
        ("png", "text/plain"),  # bytes of ours under a type that is not theirs
    ],
)
def test_mismatch_is_unsupported(sample: str, declared: str) -> None:
    with pytest.raises(UnsupportedMedia):
        resolve(SAMPLES[sample][0], declared, None)


def test_declared_format_of_ours_with_other_bytes_is_unsupported() -> None:
    with pytest.raises(UnsupportedMedia, match="image/png"):
        resolve(b"not an image", "image/png", None)


def test_kinds_must_fit_the_content() -> None:
    assert resolve(SAMPLES["png"][0], None, "texture")[1] == "texture"
    assert resolve(face_glb(), None, "animation")[1] == "animation"
    assert resolve(SAMPLES["png"][0], None, "other")[1] == "other"
    with pytest.raises(UnsupportedMedia):
        resolve(SAMPLES["png"][0], None, "model")
    with pytest.raises(UnsupportedMedia):
        resolve(face_glb(), None, "audio")


def test_plain_json_declared_as_json_is_stored_as_other() -> None:
    assert resolve(b'{"a": 1}', "application/json", None) == ("application/json", "other", "")
    assert resolve(b'{"asset": {"version": "2.0"}}', "application/json", None)[2] == "gltf"


def test_iso_still_images_are_not_mp4() -> None:
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00mif1"
    assert sniff(avif) is None
    assert resolve(avif, "image/avif", None) == ("image/avif", "other", "")
    with pytest.raises(UnsupportedMedia):
        resolve(avif, "video/mp4", None)  # not what it says

import pytest

from assets import UnsafeName, check_download_name, sanitize_name
from assets.names import MAX_NAME, check_asset_id


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("face.png", "face.png"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/absolute/path.glb", "path.glb"),
        ("C:\\Users\\x\\model.fbx", "model.fbx"),
        ("nul\x00byte.png", "nulbyte.png"),
        ("line\nbreak\r.wav", "linebreak.wav"),
        ("..", "asset"),
        ("...hidden", "hidden"),
        ("a b;c|d$e.png", "a b_c_d_e.png"),
        ("visage-été.png", "visage-été.png"),
        ("%2e%2e%2fx.png", "_2e_2e_2fx.png"),
        ("", "asset"),
        (None, "asset"),
    ],
)
def test_sanitize_name(raw: str | None, safe: str) -> None:
    assert sanitize_name(raw) == safe


def test_long_names_keep_their_extension() -> None:
    name = sanitize_name("x" * 500 + ".png")
    assert len(name) == MAX_NAME and name.endswith(".png")


TRAVERSALS = [
    "../etc/passwd",
    "..\\..\\boot.ini",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "c:secret",
    "face.png\x00.txt",
    "..%2Fetc%2Fpasswd",
    "%2e%2e%2f",
    "%252F",
    "a/b.png",
    "..",
    ".",
    "",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_every_traversal_vector_is_refused(name: str) -> None:
    with pytest.raises(UnsafeName):
        check_download_name(name)


@pytest.mark.parametrize("name", ["face.png", "my model v2.glb", "..hidden-but-ok.png"])
def test_plain_names_pass(name: str) -> None:
    assert check_download_name(name) == name


@pytest.mark.parametrize("bad", ["as-" + "0" * 31, "as-../" + "0" * 28, "r-" + "0" * 64, "x"])
def test_asset_ids_have_one_shape(bad: str) -> None:
    with pytest.raises(UnsafeName):
        check_asset_id(bad)
    assert check_asset_id("as-" + "a" * 32)

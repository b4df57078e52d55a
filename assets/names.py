"""Safe names: what an uploaded file may be called, and which names a download may ask for.

Stored files are named by their checksum, never by what a client sent; names live in the index
only. Still, a download by name refuses anything that looks like a path trick (``../``, ``..\\``,
absolute or drive paths, NUL bytes, percent-encoded separators left after the framework's one
decoding), so such a request is a clear 400 rather than a quiet 404.
"""

from __future__ import annotations

import re
import unicodedata

from assets.errors import UnsafeName

MAX_NAME = 200
ASSET_ID_PATTERN = r"^as-[0-9a-f]{32}$"
_ASSET_ID = re.compile(ASSET_ID_PATTERN)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_CHARS = re.compile(r"[^\w.\- ()+,=@\[\]]")
_ENCODED = re.compile(r"%[0-9a-fA-F]{2}")
_DRIVE = re.compile(r"^[A-Za-z]:")


def sanitize_name(name: str | None, default: str = "asset") -> str:
    """A display name safe anywhere: the last path segment, printable, no leading dots."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")  # controls, NUL
    text = _UNSAFE_CHARS.sub("_", text).strip(" .")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else text
        text = text[:MAX_NAME]
    return text or default


def check_download_name(name: str) -> str:
    """``name`` if it can only mean a stored asset name; :class:`UnsafeName` otherwise."""
    if not name or len(name) > MAX_NAME * 4:
        raise UnsafeName("a name of 1..800 characters is required")
    if "\x00" in name:
        raise UnsafeName("NUL bytes are not allowed in names")
    if _ENCODED.search(name):
        raise UnsafeName("percent-encoded characters are not allowed in names (double encoding)")
    if "/" in name or "\\" in name or _DRIVE.match(name):
        raise UnsafeName("names are plain file names, not paths")
    if name.strip(" .") == "":
        raise UnsafeName("'.' and '..' are not names")
    return name


def check_asset_id(asset_id: str) -> str:
    if not _ASSET_ID.match(asset_id):
        raise UnsafeName(f"{asset_id[:80]!r} is not an asset id (as-<32 hex>)")
    return asset_id


def check_sha256(sha: str) -> str:
    if not _SHA256.match(sha):
        raise UnsafeName("not a sha256 hex digest")
    return sha

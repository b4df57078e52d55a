"""The web console: ``/`` and the files under ``/web/`` (plain HTML, CSS and ES modules).

The files ship in the top-level ``web/`` folder (package data of the distribution, so an
installed service finds them as well as a checkout does). They are read once, when this module
is imported, and served from memory by name: there is no path to traverse, a name that is not
one of them is a 404. Each response carries its type with a charset, an ETag (a hash of the
bytes) with ``Cache-Control: no-cache`` (the browser keeps the file and revalidates it, a 304
when unchanged: there is no build step to give files hashed names), ``nosniff``, and on the page
a Content-Security-Policy that allows only this origin: nothing is fetched from elsewhere.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from serve_app.errors import not_found

router = APIRouter(include_in_schema=False)

WEB_PACKAGE = "web"
STATIC_PREFIX = "/web"
INDEX = "index.html"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}

CACHE_CONTROL = "no-cache"
"""Kept by the browser, revalidated with ``If-None-Match`` on every use."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss:",  # the session and job WebSockets of this origin
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


@dataclass(frozen=True, slots=True)
class WebFile:
    name: str
    content: bytes
    media_type: str
    etag: str


def _load(root: Path) -> dict[str, WebFile]:
    files: dict[str, WebFile] = {}
    for entry in sorted(root.iterdir()):
        suffix = entry.suffix
        if not entry.is_file() or suffix not in MEDIA_TYPES:
            continue
        content = entry.read_bytes()
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        files[entry.name] = WebFile(entry.name, content, MEDIA_TYPES[suffix], etag)
    return files


def web_root() -> Path:
    """The ``web/`` folder: beside the packages in a checkout (or an editable install), else
    where the distribution installed it (``web`` is a namespace package of plain files, so
    its location comes from its search path; ``importlib.resources`` cannot read the path of
    an editable install's namespace package on Python 3.11)."""
    candidates = [Path(__file__).resolve().parents[2] / WEB_PACKAGE]
    spec = importlib.util.find_spec(WEB_PACKAGE)
    if spec is not None and spec.submodule_search_locations is not None:
        candidates += [Path(p) for p in spec.submodule_search_locations]
    for path in candidates:
        if (path / INDEX).is_file():
            return path
    raise RuntimeError(f"the web console's files ({WEB_PACKAGE}/{INDEX}) are not installed")


WEB_FILES = _load(web_root())


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    return any(t.strip().removeprefix("W/") in (etag, "*") for t in if_none_match.split(","))


def web_response(request: Request, file: WebFile) -> Response:
    headers = {
        "ETag": file.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if file.name.endswith(".html"):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["Referrer-Policy"] = "no-referrer"
    if _matches(request.headers.get("if-none-match"), file.etag):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else file.content
    headers["Content-Length"] = str(len(file.content))
    return Response(body, media_type=file.media_type, headers=headers)


@router.get("/")
@router.head("/")
async def console(request: Request) -> Response:
    """The console's page."""
    return web_response(request, WEB_FILES[INDEX])


@router.get(STATIC_PREFIX + "/{name}")
@router.head(STATIC_PREFIX + "/{name}")
async def web_file(name: str, request: Request) -> Response:
    """One of the console's files, by name."""
    file = WEB_FILES.get(name)
    if file is None:
        raise not_found("file", name)
    return web_response(request, file)

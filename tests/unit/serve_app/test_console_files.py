"""The console's files as the ingress loads them: complete, typed, self-contained."""

from __future__ import annotations

import re

from starlette.requests import Request

from serve_app.routes.console import INDEX, MEDIA_TYPES, WEB_FILES, web_response, web_root


def _request(headers: dict[str, str] | None = None, method: str = "GET") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": method, "path": "/", "headers": raw})


def test_every_file_of_web_is_served_with_its_type() -> None:
    on_disk = {p.name for p in web_root().iterdir() if p.suffix in MEDIA_TYPES}
    assert set(WEB_FILES) == on_disk
    assert {"index.html", "console.css", "app.js", "api.js", "live.js"} <= on_disk
    for name, file in WEB_FILES.items():
        assert file.media_type == MEDIA_TYPES["." + name.rsplit(".", 1)[1]]
        assert file.content


def test_what_the_page_and_modules_load_exists_and_is_local() -> None:
    page = WEB_FILES[INDEX].content.decode()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        if ref.startswith("/web/"):
            assert ref.removeprefix("/web/") in WEB_FILES, ref
        else:
            assert ref == "/docs", ref  # the one link out of the console
    for name, file in WEB_FILES.items():
        text = file.content.decode().replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name
        assert not re.search(r"https?://", text), name  # nothing from the internet
        if name.endswith(".js"):
            for module in re.findall(r'from "\./([^"]+)"', text):
                assert module in WEB_FILES, (name, module)


def test_revalidation_and_head() -> None:
    index = WEB_FILES[INDEX]
    first = web_response(_request(), index)
    assert first.status_code == 200 and first.body == index.content
    assert first.headers["etag"] == index.etag
    assert first.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in first.headers["content-security-policy"]
    again = web_response(_request({"If-None-Match": f'W/{index.etag}, "other"'}), index)
    assert again.status_code == 304 and again.body == b""
    head = web_response(_request(method="HEAD"), index)
    assert head.body == b"" and head.headers["content-length"] == str(len(index.content))
    script = web_response(_request(), WEB_FILES["app.js"])
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "content-security-policy" not in script.headers

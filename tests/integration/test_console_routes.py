"""The web console's files through the real ingress: types, caching, 304s, 404s, and the API
routes beside them still answering."""

from __future__ import annotations

import aiohttp
import pytest

from tests.integration.conftest import Service

pytestmark = pytest.mark.configurations("dedicated")  # files do not depend on placement

FILES = {
    "/": "text/html; charset=utf-8",
    "/web/console.css": "text/css; charset=utf-8",
    "/web/app.js": "text/javascript; charset=utf-8",
    "/web/api.js": "text/javascript; charset=utf-8",
    "/web/events.js": "text/javascript; charset=utf-8",
    "/web/live.js": "text/javascript; charset=utf-8",
    "/web/replay.js": "text/javascript; charset=utf-8",
    "/web/ui.js": "text/javascript; charset=utf-8",
    "/web/favicon.svg": "image/svg+xml",
}


async def test_console_files_have_types_and_revalidate(
    service: Service, http: aiohttp.ClientSession
) -> None:
    for path, media_type in FILES.items():
        async with http.get(f"{service.base}{path}") as r:
            body = await r.read()
            assert r.status == 200, (path, r.status)
            assert r.headers["content-type"] == media_type, path
            assert r.headers["cache-control"] == "no-cache"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert int(r.headers["content-length"]) == len(body) > 0
            etag = r.headers["etag"]
        async with http.get(f"{service.base}{path}", headers={"If-None-Match": etag}) as r:
            assert r.status == 304 and await r.read() == b""
            assert r.headers["etag"] == etag
        async with http.head(f"{service.base}{path}") as r:
            assert r.status == 200 and r.headers["etag"] == etag


async def test_the_page_loads_only_its_own_files(
    service: Service, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{service.base}/") as r:
        page = await r.text()
        csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere
    assert '<script type="module" src="/web/app.js">' in page
    for name in ("api.js", "events.js", "live.js", "replay.js", "ui.js", "app.js"):
        async with http.get(f"{service.base}/web/{name}") as r:
            source = await r.text()
        assert "http://" not in source and "https://" not in source, name


async def test_unknown_files_are_json_404s_and_the_api_still_answers(
    service: Service, http: aiohttp.ClientSession
) -> None:
    for path in ("/web/nope.js", "/web/..%2Fpyproject.toml", "/web/index.htm"):
        async with http.get(f"{service.base}{path}") as r:
            assert r.status == 404, path
            assert (await r.json())["code"] in ("file_not_found", "not_found")
    async with http.get(f"{service.base}/health") as r:
        assert r.status == 200 and (await r.json())["status"] == "ok"
    async with http.get(f"{service.base}/openapi.json") as r:
        spec = await r.json()
        assert "/api/v1/avatars/session" in spec["paths"]
        assert "/" not in spec["paths"] and "/web/{name}" not in spec["paths"]
    async with http.get(f"{service.base}/docs") as r:
        assert r.status == 200 and "swagger" in (await r.text()).lower()
    async with http.get(f"{service.api}/version") as r:
        assert r.status == 200

"""Asset and model routes on a real Ray + Serve: uploads (multipart and raw, streamed, limits,
type checks), downloads (traversal vectors, symlinks, ETag/304, Range, HEAD), models and
render outputs stored as assets.

The store does not depend on how entities are placed, so the heavy tests (501 MiB uploads)
run on the dedicated placement only; the rest run on both.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl

from tests.integration.conftest import CONFIGURATIONS, Service
from tests.integration.helpers import call, new_id
from tests.unit.assets.samples import ARKIT_TARGETS, SAMPLES, VISEME_TARGETS, face_glb

MiB = 1024**2
PNG, _ = SAMPLES["png"]


pytestmark = pytest.mark.configurations(*CONFIGURATIONS)


def unique_png(tag: str = "") -> bytes:
    return PNG + f"{tag}-{os.urandom(8).hex()}".encode()


async def upload(
    http: aiohttp.ClientSession,
    service: Service,
    data: bytes,
    filename: str,
    content_type: str | None = None,
    **fields: str,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    for k, v in fields.items():
        form.add_field(k, v)
    # a file object: aiohttp warns (an error here) about large raw bytes blocking its loop
    form.add_field("file", io.BytesIO(data), filename=filename, content_type=content_type)
    async with http.post(f"{service.api}/assets/upload", data=form) as r:
        return r.status, await r.json()


async def get_raw(
    http: aiohttp.ClientSession, url: str | yarl.URL, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    async with http.get(url, headers=headers) as r:
        return r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()}


def asset_root(service: Service) -> Path:
    return service.data_dir / "assets"


def stored_bytes(service: Service) -> int:
    """Bytes of blobs and temporary uploads (``blobs/tmp``) under the asset root (the index
    aside)."""
    blobs = asset_root(service) / "blobs"
    return sum(p.stat().st_size for p in blobs.rglob("*") if p.is_file() and not p.is_symlink())


# ---------------------------------------------------------------------------- uploads


async def test_multipart_upload_then_metadata_list_and_download(
    service: Service, http: aiohttp.ClientSession
) -> None:
    data = unique_png("mp")
    status, info = await upload(http, service, data, "../../Face Texture.png", "image/png")
    assert status == 201, info
    assert info["name"] == "Face Texture.png"
    assert (info["kind"], info["mime"], info["size"]) == ("image", "image/png", len(data))
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["url"] == f"/api/v1/avatars/assets/{info['asset_id']}/content"

    status, again, _ = await call(http, "GET", f"{service.api}/assets/{info['asset_id']}")
    assert status == 200 and again == info
    status, body, headers = await get_raw(http, f"{service.base}{info['url']}")
    assert status == 200 and body == data
    assert headers["content-type"] == "image/png"
    assert headers["etag"] == f'"{info["sha256"]}"'
    assert "max-age" in headers["cache-control"]

    # the whole listing, page by page: the test session's renders add images too
    images = await listing(http, service, "image")
    mine = [i for i in images if i["asset_id"] == info["asset_id"]]
    assert mine and mine[0]["size"] == len(data) and mine[0]["sha256"] == info["sha256"]
    assert all(i["kind"] == "image" for i in images)
    assert all(i["asset_id"] != info["asset_id"] for i in await listing(http, service, "audio"))


async def listing(http: aiohttp.ClientSession, service: Service, kind: str) -> list[Any]:
    items: list[Any] = []
    offset: int | None = 0
    while offset is not None:
        status, page, _ = await call(
            http, "GET", f"{service.api}/assets?kind={kind}&limit=500&offset={offset}"
        )
        assert status == 200, page
        items += page["items"]
        offset = page["next_offset"]
    return items


async def test_paging(service: Service, http: aiohttp.ClientSession) -> None:
    for i in range(3):
        assert (await upload(http, service, unique_png(), f"page{i}.png"))[0] == 201
    status, first, _ = await call(http, "GET", f"{service.api}/assets?limit=2")
    assert status == 200 and len(first["items"]) == 2 and first["next_offset"] == 2
    _, second, _ = await call(http, "GET", f"{service.api}/assets?limit=2&offset=2")
    ids = {i["asset_id"] for i in first["items"]} & {i["asset_id"] for i in second["items"]}
    assert not ids and second["total"] == first["total"]


@pytest.mark.parametrize(
    ("sample", "filename", "declared", "served"),
    [
        ("fbx", "rig.fbx", "application/octet-stream", "application/octet-stream"),
        ("fbx-ascii", "rig.fbx", None, "application/octet-stream"),
        ("gltf", "scene.gltf", "model/gltf+json", "model/gltf+json"),
        ("jpeg", "skin.jpg", "image/jpg", "image/jpeg"),
        ("wav", "hello.wav", "audio/x-wav", "audio/wav"),
        ("webm", "clip.webm", "video/webm", "video/webm"),
    ],
)
async def test_raw_body_uploads_and_content_type_per_kind(
    service: Service,
    http: aiohttp.ClientSession,
    sample: str,
    filename: str,
    declared: str | None,
    served: str,
) -> None:
    data = SAMPLES[sample][0] + (b" " * 8 if sample == "gltf" else os.urandom(8))
    headers = {"Content-Type": declared} if declared else {}
    url = f"{service.api}/assets/upload?name={filename}"
    async with http.post(url, data=data, headers=headers) as r:
        info = await r.json()
        assert r.status == 201, info
    assert info["name"] == filename and info["mime"] == served
    status, body, h = await get_raw(http, f"{service.base}{info['url']}")
    assert status == 200 and body == data
    assert h["content-type"].split(";")[0] == served


async def test_texture_kind_is_kept_and_served_as_an_image(
    service: Service, http: aiohttp.ClientSession
) -> None:
    status, info = await upload(http, service, unique_png(), "skin.png", kind="texture")
    assert status == 201 and info["kind"] == "texture"
    _, _, headers = await get_raw(http, f"{service.base}{info['url']}")
    assert headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("data", "declared", "kind"),
    [
        (SAMPLES["jpeg"][0], "image/png", None),
        (b"MZ\x90\x00 an exe", "image/png", None),
        (PNG, "audio/wav", None),
        (PNG, "image/png", "model"),
    ],
)
async def test_mime_mismatch_is_415_and_keeps_nothing(
    service: Service, http: aiohttp.ClientSession, data: bytes, declared: str, kind: str | None
) -> None:
    before = stored_bytes(service)
    fields = {"kind": kind} if kind else {}
    status, body = await upload(http, service, data + os.urandom(4), "x.png", declared, **fields)
    assert status == 415, body
    assert body["code"] == "unsupported_media_type" and body["message"] and body["detail"]
    assert stored_bytes(service) == before


async def test_bad_upload_requests(service: Service, http: aiohttp.ClientSession) -> None:
    with aiohttp.MultipartWriter("form-data") as parts:
        parts.append("x").set_content_disposition("form-data", name="other")
    async with http.post(f"{service.api}/assets/upload", data=parts) as r:
        assert r.status == 422 and (await r.json())["code"] == "validation_error"
    async with http.post(f"{service.api}/assets/upload", data={"file": "x"}) as r:
        assert r.status == 415, await r.text()  # a urlencoded form is not a file
    status, body = await upload(http, service, PNG, "x.png", kind="spaceship")
    assert status == 422, body
    async with http.post(f"{service.api}/assets/upload?kind=spaceship", data=PNG) as r:
        assert r.status == 422
    status, body = await upload(http, service, b'{"asset": {"version": "1.0"}}', "old.gltf")
    assert status == 422 and body["code"] == "invalid_asset"


async def test_concurrent_uploads_and_downloads_keep_their_checksums(
    service: Service, http: aiohttp.ClientSession
) -> None:
    blobs = [PNG + os.urandom(1 * MiB + i) for i in range(8)]
    results = await asyncio.gather(
        *(upload(http, service, b, f"c{i}.png", "image/png") for i, b in enumerate(blobs))
    )
    assert all(s == 201 for s, _ in results), results
    infos = [info for _, info in results]
    for info, b in zip(infos, blobs, strict=True):
        assert info["sha256"] == hashlib.sha256(b).hexdigest()
    downloads = await asyncio.gather(
        *(get_raw(http, f"{service.base}{i['url']}") for i in infos for _ in range(2))
    )
    for k, (status, body, headers) in enumerate(downloads):
        assert status == 200
        assert (
            hashlib.sha256(body).hexdigest()
            == infos[k // 2]["sha256"]
            == headers["x-checksum-sha256"]
        )


# ---------------------------------------------------------------------------- limits


async def _zeros(total: int, chunk: int = MiB) -> AsyncIterator[bytes]:
    block = bytes(chunk)
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        sent += n
        yield block[:n]


@pytest.mark.parametrize("service", ["dedicated"], indirect=True)
@pytest.mark.parametrize("multipart", [False, True])
async def test_501_mib_streamed_upload_is_413_and_leaves_nothing(
    service: Service, http: aiohttp.ClientSession, multipart: bool
) -> None:
    before = stored_bytes(service)
    size = 501 * MiB
    url = f"{service.api}/assets/upload?name=huge.bin"
    if multipart:
        form = aiohttp.FormData()
        form.add_field("file", _zeros(size), filename="huge.bin")
        req = http.post(url, data=form)
    else:  # a generator body: chunked, no Content-Length; refused mid-stream
        req = http.post(url, data=_zeros(size))
    async with req as r:
        body = await r.json()
        assert r.status == 413, body
    assert body["code"] == "too_large"
    assert stored_bytes(service) == before
    assert not any((asset_root(service) / "blobs" / "tmp").iterdir())


@pytest.mark.parametrize("service", ["dedicated"], indirect=True)
async def test_a_storage_failure_is_a_retryable_500_that_names_no_path(
    service: Service, http: aiohttp.ClientSession
) -> None:
    tmp = asset_root(service) / "blobs" / "tmp"
    moved = tmp.with_name("tmp-moved")
    tmp.rename(moved)
    tmp.write_bytes(b"")  # a file where the temporary folder was: no upload can start
    try:
        status, body = await upload(http, service, unique_png("fail"), "x.png", "image/png")
    finally:
        tmp.unlink()
        moved.rename(tmp)
    assert status == 500, body
    assert body["code"] == "storage_error" and body["retryable"] is True
    assert str(service.data_dir) not in str(body)
    status, _ = await upload(http, service, unique_png("again"), "x.png", "image/png")
    assert status == 201


@pytest.mark.parametrize("service", ["dedicated"], indirect=True)
async def test_declared_content_length_over_the_limit_is_413_before_any_byte(
    service: Service,
) -> None:
    before = stored_bytes(service)
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    head = (
        "POST /api/v1/avatars/assets/upload?name=big.png HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{service.port}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {501 * MiB}\r\n\r\n"
    )
    writer.write(head.encode() + PNG)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 20)
    writer.close()
    assert b" 413 " in status_line, status_line
    assert stored_bytes(service) == before


# ---------------------------------------------------------------------------- downloads

SECRET = b"TOP SECRET outside the asset root"

NAME_VECTORS = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fpasswd",  # %2F once decoded by the server: a path
    "..%252F..%252Fetc%252Fpasswd",  # double encoding: %2F left after one decoding
    "..\\..\\..\\windows\\win.ini",
    "..%5C..%5Cwin.ini",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "C:%5CWindows%5Cwin.ini",
    "face.png%00.txt",
    "%00",
    "..",
    "%2e%2e",
    "secret.txt",
    # the secret file itself, two levels above the asset root (and from inside blobs/ab/)
    "../../secret.txt",
    "..%2F..%2Fsecret.txt",
    "..%252F..%252Fsecret.txt",
    "../../../../secret.txt",
]
PATH_VECTORS = [
    "/assets/../../../../etc/passwd",
    "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd/content",
    "/assets/..%252F..%252Fetc%252Fpasswd/content",
    "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd/content",
    "/assets/..%5C..%5Cetc%5Cpasswd/content",
    "/assets/..\\..\\etc\\passwd/content",
    "/assets/%2Fetc%2Fpasswd/content",
    "/assets/as-%00/content",
    "/assets/..%00/content",
    "/assets/../content",
    "/assets/%2e%2e/content",
    "/assets/as-00000000000000000000000000000000/content",
    "/assets/..%2F..%2Fsecret.txt/content",
    "/assets/..%2F..%2F..%2F..%2Fsecret.txt/content",
    "/assets/../../secret.txt",
]


@pytest.fixture
def secret_outside(service: Service) -> Path:
    path = service.data_dir.parent / "secret.txt"
    path.write_bytes(SECRET)
    return path


@pytest.mark.parametrize("vector", NAME_VECTORS)
async def test_download_by_name_never_leaves_the_root(
    service: Service, http: aiohttp.ClientSession, secret_outside: Path, vector: str
) -> None:
    url = yarl.URL(f"{service.api}/assets/download?name={vector}", encoded=True)
    status, body, _ = await get_raw(http, url)
    assert status in (400, 404), (vector, status, body[:200])
    assert SECRET not in body and b"root:" not in body


@pytest.mark.parametrize("vector", PATH_VECTORS)
async def test_download_by_path_never_leaves_the_root(
    service: Service, http: aiohttp.ClientSession, secret_outside: Path, vector: str
) -> None:
    url = yarl.URL(f"{service.api}{vector}", encoded=True)
    status, body, _ = await get_raw(http, url)
    assert status in (400, 404), (vector, status, body[:200])
    assert SECRET not in body and b"root:" not in body


async def test_a_symlink_inside_the_root_pointing_out_is_not_followed(
    service: Service, http: aiohttp.ClientSession, secret_outside: Path
) -> None:
    status, info = await upload(http, service, unique_png("link"), "victim.png")
    assert status == 201
    blob = asset_root(service) / "blobs" / info["sha256"][:2] / info["sha256"]
    blob.unlink()
    blob.symlink_to(secret_outside)
    planted = asset_root(service) / "secret.txt"
    planted.symlink_to(secret_outside)
    try:
        for url in (
            f"{service.base}{info['url']}",
            f"{service.api}/assets/download?name=victim.png",
            f"{service.api}/assets/download?name=secret.txt",
        ):
            status, body, _ = await get_raw(http, url)
            assert status == 404, (url, body[:200])
            assert SECRET not in body
    finally:
        planted.unlink()


async def test_download_by_name_gives_the_newest(
    service: Service, http: aiohttp.ClientSession
) -> None:
    name = f"{new_id('named')}.png"
    older, newer = unique_png("old"), unique_png("new")
    assert (await upload(http, service, older, name))[0] == 201
    assert (await upload(http, service, newer, name))[0] == 201
    status, body, headers = await get_raw(http, f"{service.api}/assets/download?name={name}")
    assert status == 200 and body == newer
    assert headers["etag"] == f'"{hashlib.sha256(newer).hexdigest()}"'


async def test_etag_304_range_206_416_and_head(
    service: Service, http: aiohttp.ClientSession
) -> None:
    data = PNG + os.urandom(200_000)
    status, info = await upload(http, service, data, "ranged.png")
    assert status == 201
    url = f"{service.base}{info['url']}"
    etag = f'"{info["sha256"]}"'

    status, body, headers = await get_raw(http, url, {"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag
    status, body, _ = await get_raw(http, url, {"If-None-Match": '"other"'})
    assert status == 200 and body == data

    status, body, headers = await get_raw(http, url, {"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(data)}"
    status, body, _ = await get_raw(http, url, {"Range": "bytes=-100"})
    assert status == 206 and body == data[-100:]
    status, _, headers = await get_raw(http, url, {"Range": f"bytes={len(data) + 10}-"})
    assert status == 416

    async with http.head(url) as r:
        assert r.status == 200 and await r.read() == b""
        assert r.headers["Content-Length"] == str(len(data))
        assert r.headers["ETag"] == etag and r.headers["Content-Type"] == "image/png"


async def test_search_and_delete(service: Service, http: aiohttp.ClientSession) -> None:
    tag = new_id("srch")
    status, info = await upload(http, service, unique_png(), f"{tag}-Smile.png")
    assert status == 201
    status, found, _ = await call(http, "GET", f"{service.api}/assets/search?q={tag.upper()}")
    assert status == 200 and [i["asset_id"] for i in found["items"]] == [info["asset_id"]]
    status, found, _ = await call(http, "GET", f"{service.api}/assets/search?q={tag}&kind=audio")
    assert status == 200 and found["items"] == []
    status, _, _ = await call(http, "GET", f"{service.api}/assets/search")
    assert status == 422

    status, _, _ = await call(http, "DELETE", f"{service.api}/assets/{info['asset_id']}")
    assert status == 204
    for method, path in [
        ("GET", f"/assets/{info['asset_id']}"),
        ("GET", f"/assets/{info['asset_id']}/content"),
        ("DELETE", f"/assets/{info['asset_id']}"),
    ]:
        status, body, _ = await call(http, method, f"{service.api}{path}")
        assert status == 404, (method, path, body)
        assert body["code"] == "asset_not_found" and body["message"] == body["detail"]


# ---------------------------------------------------------------------------- models


async def test_models_builtin_and_uploaded_glb_with_morph_targets(
    service: Service, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{service.api}/assets/upload?name=face.glb",
        data=face_glb(),
        headers={"Content-Type": "model/gltf-binary"},
    ) as r:
        info = await r.json()
        assert r.status == 201, info
    assert info["kind"] == "model" and info["mime"] == "model/gltf-binary"

    status, body, _ = await call(http, "GET", f"{service.api}/models")
    assert status == 200, body
    builtin = [m for m in body["models"] if m["source"] == "builtin"]
    assert len(builtin) >= 3 and {"classic", "flat", "studio"} <= {m["model_id"] for m in builtin}
    assert all(m["name"] and m["quality"] for m in builtin)
    mine = next(m for m in body["models"] if m["model_id"] == info["asset_id"])
    assert mine["morph_targets"] == ARKIT_TARGETS + VISEME_TARGETS
    assert mine["arkit"] and mine["visemes"] and mine["format"] == "glb"
    status, _, headers = await get_raw(http, f"{service.base}{mine['url']}")
    assert status == 200 and headers["content-type"] == "model/gltf-binary"


async def test_select_model_updates_the_avatar(
    service: Service, http: aiohttp.ClientSession
) -> None:
    avatar = new_id()
    body = {"avatar_id": avatar, "model_id": "studio"}
    status, out, headers = await call(http, "POST", f"{service.api}/models/select", body)
    assert status == 200, out
    assert out["model_id"] == "studio" and out["state"]["model_id"] == "studio"
    assert headers["etag"] == f'"{out["version"]}"'
    status, state, _ = await call(http, "GET", f"{service.api}/{avatar}/state")
    assert status == 200 and state["state"]["model_id"] == "studio"

    async with http.post(f"{service.api}/assets/upload?name=mine.glb", data=face_glb([])) as r:
        glb = await r.json()
    body = {"avatar_id": avatar, "model_id": glb["asset_id"]}
    status, out, _ = await call(http, "POST", f"{service.api}/models/select", body)
    assert status == 200 and out["state"]["model_id"] == glb["asset_id"]

    picture = (await upload(http, service, unique_png(), "not-a-model.png"))[1]
    for ghost in ("no-such-model", picture["asset_id"], "as-" + "0" * 32):
        body = {"avatar_id": avatar, "model_id": ghost}
        status, out, _ = await call(http, "POST", f"{service.api}/models/select", body)
        assert status == 404 and out["code"] == "model_not_found", out
    status, out, _ = await call(http, "POST", f"{service.api}/models/select", {"model_id": "x"})
    assert status == 422


# ---------------------------------------------------------------------------- render outputs


async def test_rendered_outputs_are_assets_with_checksums(
    service: Service, http: aiohttp.ClientSession
) -> None:
    avatar = new_id()
    await call(
        http, "POST", f"{service.api}/models/select", {"avatar_id": avatar, "model_id": "flat"}
    )
    status, out, _ = await call(
        http, "POST", f"{service.api}/{avatar}/render", {"response": "url", "width": 128}
    )
    assert status == 200, out
    assert out["url"] == f"/api/v1/avatars/assets/{out['asset_id']}/content"
    status, body, headers = await get_raw(http, f"{service.base}{out['url']}")
    assert status == 200 and hashlib.sha256(body).hexdigest() == out["sha256"]
    assert headers["content-type"] == "image/png"
    status, info, _ = await call(http, "GET", f"{service.api}/assets/{out['asset_id']}")
    assert status == 200 and info["kind"] == "image" and info["sha256"] == out["sha256"]
    # the older URL is an alias
    status, again, _ = await get_raw(http, f"{service.api}/render/outputs/{out['asset_id']}")
    assert status == 200 and again == body

    status, snap, _ = await call(
        http, "POST", f"{service.api}/{avatar}/snapshot?width=96&height=96"
    )
    assert status == 200, snap
    status, body, _ = await get_raw(http, f"{service.base}{snap['url']}")
    assert status == 200 and hashlib.sha256(body).hexdigest() == snap["sha256"]

    # each built-in model has its own look
    pictures = set()
    for model in ("classic", "flat", "studio"):
        await call(
            http, "POST", f"{service.api}/models/select", {"avatar_id": avatar, "model_id": model}
        )
        status, png, _ = await get_raw(http, f"{service.api}/{avatar}/snapshot?width=96&height=96")
        assert status == 200
        pictures.add(png)
    assert len(pictures) == 3

"""Quotas on a real service with keys required (the "keys" configuration, whose quotas are
low: 2 render jobs and 1 live stream per key, 64 MiB per tenant), and open WebSockets closed
when their key is revoked."""

from __future__ import annotations

import io
import time

import aiohttp
import pytest

from serve_app.live.viewer import LiveViewer
from tests.integration.helpers import call, frames, new_id
from tests.integration.test_tenants import _bearer, new_key
from tests.service import ADMIN_KEY, KEYS_SETTINGS, Service
from tests.waiting import until

pytestmark = [pytest.mark.configurations("keys"), pytest.mark.timeout(240)]

MiB = 1024 * 1024
QUOTA = KEYS_SETTINGS["quota_storage_bytes"]


async def _key(http: aiohttp.ClientSession, service: Service, tenant: str) -> dict[str, str]:
    return _bearer((await new_key(http, service, tenant))["key"])


async def test_a_keys_render_jobs_queued_or_running_are_limited(
    service: Service, http: aiohttp.ClientSession
) -> None:
    tenant = new_id("t")
    a, b = await _key(http, service, tenant), await _key(http, service, tenant)
    url = f"{service.api}/render/sequence"
    body = {"duration_ms": 8000, "width": 64, "height": 64, "background": True}
    jobs = []
    for _ in range(KEYS_SETTINGS["quota_render_jobs"]):
        status, job, _ = await call(http, "POST", url, body, a)
        assert status == 202, job
        jobs.append(job["job_id"])
    status, err, headers = await call(http, "POST", url, body, a)
    assert status == 429 and err["code"] == "render_quota", err
    assert err["limit"] == 2 and int(headers["retry-after"]) >= 1
    status, job, _ = await call(http, "POST", url, body, b)  # the tenant's other key: its own
    assert status == 202, job
    jobs.append(job["job_id"])

    async def all_ended() -> bool:
        for job_id in jobs:
            _, job, _ = await call(http, "GET", f"{service.api}/jobs/{job_id}", headers=a)
            if job["status"] not in ("done", "failed"):
                return False
        return True

    await until(all_ended, timeout=180, interval=0.5, what="the render jobs ending")
    status, job, _ = await call(http, "POST", url, body, a)  # its jobs ended: room again
    assert status == 202, job


async def test_a_keys_live_streams_are_limited(
    service: Service, http: aiohttp.ClientSession, viewers: list[LiveViewer], loopback_ice: None
) -> None:
    tenant = new_id("t")
    made_a = await new_key(http, service, tenant)
    a, b = _bearer(made_a["key"]), await _key(http, service, tenant)
    sids = []
    for _ in range(3):
        status, s, _ = await call(
            http, "POST", f"{service.api}/session", {"avatar_id": new_id()}, a
        )
        assert status == 200, s
        sids.append(s["session_id"])

    async def offer(sid: str, key: dict[str, str]) -> tuple[int, dict[str, object], dict[str, str]]:
        viewer = LiveViewer()
        viewers.append(viewer)
        status, answer, headers = await call(
            http, "POST", f"{service.api}/session/{sid}/live", await viewer.offer(), key
        )
        if status == 200:
            await viewer.accept(answer)
        return status, answer, headers

    assert (await offer(sids[0], a))[0] == 200
    status, err, headers = await offer(sids[1], a)
    assert status == 429 and err["code"] == "live_quota" and int(headers["retry-after"]) >= 1
    assert (await offer(sids[0], a))[0] == 200  # a new offer for its own stream: no new slot
    assert (await offer(sids[1], b))[0] == 200  # another key of the tenant: its own quota
    status, _, _ = await call(http, "DELETE", f"{service.api}/session/{sids[0]}/live", None, a)
    assert status == 200
    assert (await offer(sids[2], a))[0] == 200  # its stream ended: room again
    # revoking key A ends the stream it started, not the one key B started
    url = f"{service.base}/admin/keys/{made_a['key_id']}"
    assert (await call(http, "DELETE", url, None, _bearer(ADMIN_KEY)))[0] == 200

    async def live(sid: str) -> dict[str, object]:
        status, got, _ = await call(http, "GET", f"{service.api}/session/{sid}/live", headers=b)
        assert status == 200, got
        return dict(got)

    async def a_stream_ended() -> bool:
        got = await live(sids[2])
        status = got["status"]
        assert isinstance(status, dict)
        return not got["live"] and status.get("end_reason") == "key revoked"

    await until(a_stream_ended, timeout=15, interval=0.25, what="key A's stream ending")
    assert (await live(sids[1]))["live"]
    await call(http, "DELETE", f"{service.api}/session/{sids[1]}/live", None, b)


async def _upload(
    http: aiohttp.ClientSession, service: Service, key: dict[str, str], size: int
) -> tuple[int, dict[str, object]]:
    headers = {**key, "Content-Type": "application/octet-stream"}
    url = f"{service.api}/assets/upload?name={new_id('f')}.bin"
    async with http.post(url, data=io.BytesIO(bytes(size)), headers=headers) as r:
        return r.status, await r.json()


async def test_a_tenants_stored_bytes_are_limited(
    service: Service, http: aiohttp.ClientSession
) -> None:
    key = await _key(http, service, new_id("t"))
    status, big = await _upload(http, service, key, QUOTA - 24 * MiB)
    assert status == 201, big
    status, _ = await _upload(http, service, key, 24 * MiB)  # exactly the quota
    assert status == 201
    status, err = await _upload(http, service, key, 1)
    assert status == 507 and err["code"] == "storage_quota", err
    # work whose output would be stored is refused up front
    small = {"duration_ms": 1000, "width": 64, "height": 64}
    for body in (small, {**small, "background": True}):
        status, err, _ = await call(http, "POST", f"{service.api}/render/sequence", body, key)
        assert status == 507 and err["code"] == "storage_quota", err
    status, listed, _ = await call(http, "GET", f"{service.api}/assets", headers=key)
    assert listed["total"] == 2  # nothing refused was kept
    other = await _key(http, service, new_id("t"))
    assert (await _upload(http, service, other, MiB))[0] == 201  # another tenant: its own
    status, _, _ = await call(http, "DELETE", f"{service.api}/assets/{big['asset_id']}", None, key)
    assert status == 204
    assert (await _upload(http, service, key, MiB))[0] == 201  # deleting made room


async def test_open_websockets_close_when_their_key_is_revoked(
    service: Service, http: aiohttp.ClientSession
) -> None:
    made = await new_key(http, service, new_id("t"))
    key = _bearer(made["key"])
    aid = new_id()
    status, s, _ = await call(http, "POST", f"{service.api}/session", {"avatar_id": aid}, key)
    assert status == 200, s
    sid = s["session_id"]
    status, token, _ = await call(
        http, "POST", f"{service.api}/tokens", {"sessions": [sid], "ttl_s": 60}, key
    )
    assert status == 200, token
    by_key = await http.ws_connect(f"{service.ws_api}/{aid}/stream", headers=key)
    by_token = await http.ws_connect(
        f"{service.ws_api}/session/{sid}/stream?token={token['token']}"
    )
    try:
        for ws in (by_key, by_token):
            assert (await frames(ws, 1))[0]["type"]
        status, _, _ = await call(
            http, "DELETE", f"{service.base}/admin/keys/{made['key_id']}", None, _bearer(ADMIN_KEY)
        )
        assert status == 200
        revoked_at = time.monotonic()
        for ws in (by_key, by_token):
            while True:  # frames sent before the revocation may come first
                msg = await ws.receive(timeout=10)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
            assert ws.close_code == 1008, (ws.close_code, msg)
        # the key ring refreshes every key_refresh_s (0.5 s) and each socket checks as often
        assert time.monotonic() - revoked_at < 10
    finally:
        await by_key.close()
        await by_token.close()

"""Tenants and keys on a real service with keys required (the "keys" configuration): who may
call what, tenant isolation over every route, revocation, scoped tokens and CORS."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import pytest

from serve_app.auth.tokens import TokenClaims, make_token
from tests.integration.helpers import call, frames, new_id
from tests.service import ADMIN_KEY, TOKEN_SECRET, Service
from tests.waiting import until

pytestmark = pytest.mark.configurations("keys")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


async def new_key(http: aiohttp.ClientSession, service: Service, tenant: str) -> dict[str, Any]:
    status, made, _ = await call(
        http, "POST", f"{service.base}/admin/keys", {"tenant": tenant}, _bearer(ADMIN_KEY)
    )
    assert status == 201, made
    return made


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_every_route_but_health_and_version_needs_a_key(
    service: Service, http: aiohttp.ClientSession
) -> None:
    for path in ("/health", "/version", "/api/v1/avatars/health", "/docs", "/openapi.json", "/"):
        async with http.get(f"{service.base}{path}") as r:
            assert r.status == 200, path
    for method, path in [
        ("GET", "/status"),
        ("GET", "/api/v1/avatars/ada/state"),
        ("POST", "/api/v1/avatars/session"),
        ("GET", "/api/v1/avatars/assets"),
        ("POST", "/api/v1/avatars/tokens"),
    ]:
        status, body, headers = await call(http, method, f"{service.base}{path}")
        assert status == 401 and body["code"] == "unauthorized", (path, body)
        assert headers["www-authenticate"] == "Bearer"
    status, body, headers = await call(
        http, "GET", f"{service.base}/status", headers=_bearer("avk_" + "x" * 43)
    )
    assert status == 401 and body["code"] == "invalid_key"
    assert headers["www-authenticate"].startswith("Bearer")
    made = await new_key(http, service, "acme")
    for headers in (_bearer(made["key"]), {"X-API-Key": made["key"]}):
        status, body, _ = await call(http, "GET", f"{service.base}/status", headers=headers)
        assert status == 200 and body["tenant"] == "acme", body
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{service.ws_api}/{new_id()}/stream")
    # the admin routes want the admin key, not a tenant's
    status, _, headers = await call(
        http, "GET", f"{service.base}/admin/keys", headers=_bearer(made["key"])
    )
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    status, listed, _ = await call(
        http, "GET", f"{service.base}/admin/keys?tenant=acme", headers=_bearer(ADMIN_KEY)
    )
    assert status == 200 and made["key_id"] in [k["key_id"] for k in listed["keys"]]
    assert all("key" not in k and "digest" not in k for k in listed["keys"])


async def test_a_revoked_key_fails_within_a_second_on_every_replica(
    service: Service, http: aiohttp.ClientSession
) -> None:
    made = await new_key(http, service, new_id("t"))
    url = f"{service.api}/{new_id()}/state"
    status, _, _ = await call(http, "GET", url, headers=_bearer(made["key"]))
    assert status == 200
    pids: set[int] = set()  # two ingress replicas serve this configuration: both must refuse

    async def both_replicas_seen() -> bool:
        _, body, _ = await call(http, "GET", f"{service.base}/status", headers=_bearer(made["key"]))
        pids.add(body["ingress"]["pid"])
        return len(pids) == 2

    await until(both_replicas_seen, timeout=60, what="requests reaching both ingress replicas")
    # a round of requests takes this long here (a loaded machine): it is not revocation time
    started = time.monotonic()
    await _all_refused(http, url, made["key"])
    transit = time.monotonic() - started
    status, _, _ = await call(
        http, "DELETE", f"{service.base}/admin/keys/{made['key_id']}", headers=_bearer(ADMIN_KEY)
    )
    assert status == 200
    revoked_at = time.monotonic()
    # each request may reach either ingress replica; both must refuse within the second
    await until(
        lambda: _all_refused(http, url, made["key"]),
        timeout=1.0 + transit,
        what="every replica refusing the revoked key",
    )
    assert time.monotonic() - revoked_at < 1.0 + transit
    for _ in range(8):
        status, body, _ = await call(http, "GET", url, headers=_bearer(made["key"]))
        assert status == 401 and body["code"] == "invalid_key"


async def _all_answer(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str], status: int
) -> bool:
    answers = await asyncio.gather(*(call(http, "POST", url, body, headers) for _ in range(6)))
    return all(a[0] == status for a in answers)


async def _all_refused(http: aiohttp.ClientSession, url: str, key: str) -> bool:
    answers = await asyncio.gather(
        *(call(http, "GET", url, headers=_bearer(key)) for _ in range(8))
    )
    return all(a[0] == 401 for a in answers)


async def test_tenant_a_never_sees_tenant_b(service: Service, http: aiohttp.ClientSession) -> None:
    a = _bearer((await new_key(http, service, new_id("a")))["key"])
    b = _bearer((await new_key(http, service, new_id("b")))["key"])
    api = service.api
    # tenant A's things: an avatar, a session with a marker, an asset, a render output, a preset,
    # a configuration, a render job
    aid, pid = new_id(), new_id("p")
    assert (await call(http, "POST", f"{api}/emotions", {"avatar_id": aid, "emotion": "happy"}, a))[
        0
    ] == 200
    status, s, _ = await call(http, "POST", f"{api}/session", {"avatar_id": aid}, a)
    assert status == 200, s
    sid = s["session_id"]
    await call(http, "POST", f"{api}/session/{sid}/markers", {"label": "q1"}, a)
    name = f"{new_id('f')}.png"
    async with http.post(f"{api}/assets/upload?name={name}", data=PNG, headers=a) as r:
        assert r.status == 201, await r.text()
        asset = (await r.json())["asset_id"]
    status, out, _ = await call(http, "POST", f"{api}/{aid}/render", {"response": "url"}, a)
    assert status == 200, out
    status, _, _ = await call(http, "POST", f"{api}/presets", {"preset_id": pid, "traits": {}}, a)
    assert status in (200, 201)
    status, config, _ = await call(http, "PUT", f"{api}/config", {"fps": 60}, a)
    assert status == 200 and config["fps"] == 60
    status, job, _ = await call(http, "POST", f"{api}/session/{sid}/replay", {"width": 64}, a)
    assert status == 202, job

    # tenant B with A's ids: 404 everywhere (never 403: ids do not leak)
    for method, path, body in [
        ("POST", f"/{aid}/render", {}),
        ("GET", f"/{aid}/snapshot", None),
        ("POST", f"/{aid}/snapshot", None),
        ("POST", "/render", {"avatar_id": aid}),
        ("GET", f"/session/{sid}", None),
        ("DELETE", f"/session/{sid}", None),
        ("POST", f"/session/{sid}/markers", {"label": "x"}),
        ("POST", f"/session/{sid}/transcript", {"speaker": "user", "text": "hi"}),
        ("GET", f"/session/{sid}/events", None),
        ("GET", f"/session/{sid}/jobs", None),
        ("POST", f"/session/{sid}/replay", {}),
        ("GET", f"/session/{sid}/live", None),
        ("DELETE", f"/session/{sid}/live", None),
        ("POST", f"/session/{sid}/live", {"sdp": "v=0\r\nm=video 9 UDP 0\r\n", "type": "offer"}),
        ("GET", f"/jobs/{job['job_id']}", None),
        ("GET", f"/assets/{asset}", None),
        ("GET", f"/assets/{asset}/content", None),
        ("DELETE", f"/assets/{asset}", None),
        ("GET", f"/assets/download?name={name}", None),
        ("GET", f"/render/outputs/{out['asset_id']}", None),
        ("GET", f"/presets/{pid}", None),
        ("PATCH", f"/presets/{pid}", {"name": "x"}),
        ("DELETE", f"/presets/{pid}", None),
    ]:
        status, data, _ = await call(http, method, f"{api}{path}", body, b)
        assert status == 404, (method, path, status, data)
    status, listed, _ = await call(http, "GET", f"{api}/assets", headers=b)
    assert status == 200 and asset not in str(listed)
    status, found, _ = await call(http, "GET", f"{api}/assets/search?q={name[:8]}", headers=b)
    assert status == 200 and asset not in str(found)
    status, presets, _ = await call(http, "GET", f"{api}/presets", headers=b)
    assert pid not in str(presets)
    status, config, _ = await call(http, "GET", f"{api}/config", headers=b)
    assert config["fps"] != 60
    # reads of A's avatar id are B's own (empty) avatar, never A's
    status, view, _ = await call(http, "GET", f"{api}/{aid}/emotions", headers=b)
    assert status == 200 and view["emotion"] != "happy"
    status, events, _ = await call(http, "GET", f"{api}/{aid}/events", headers=b)
    assert "EmotionSet" not in str(events)
    async with http.ws_connect(f"{service.ws_api}/session/{sid}/stream", headers=b) as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4404
    async with http.ws_connect(f"{service.ws_api}/jobs/{job['job_id']}/stream", headers=b) as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4404
    # and A still sees all of it
    status, got, _ = await call(http, "GET", f"{api}/session/{sid}", headers=a)
    assert status == 200 and got["avatar_id"] == aid


async def test_scoped_tokens(service: Service, http: aiohttp.ClientSession) -> None:
    key = _bearer((await new_key(http, service, new_id("t")))["key"])
    api = service.api
    aid = new_id()
    await call(http, "POST", f"{api}/emotions", {"avatar_id": aid, "emotion": "happy"}, key)
    status, s, _ = await call(http, "POST", f"{api}/session", {"avatar_id": aid}, key)
    sid = s["session_id"]
    status, made, _ = await call(
        http, "POST", f"{api}/tokens", {"sessions": [sid], "ttl_s": 60}, key
    )
    assert status == 200 and made["tenant"].startswith("t-"), made
    token = made["token"]
    # the session's routes, by header or ?token=
    status, got, _ = await call(http, "GET", f"{api}/session/{sid}", headers=_bearer(token))
    assert status == 200 and got["session_id"] == sid
    status, got, _ = await call(http, "GET", f"{api}/session/{sid}/events?token={token}")
    assert status == 200
    # a browser's WebSocket: the token as a subprotocol entry, accepted as avatar.v1
    async with http.ws_connect(
        f"{service.ws_api}/session/{sid}/stream", protocols=("avatar.v1", f"token.{token}")
    ) as ws:
        assert ws.protocol == "avatar.v1"
        first = await frames(ws, 1)
        assert first[0]["type"] in ("state", "event", "snapshot"), first
    async with http.ws_connect(f"{service.ws_api}/session/{sid}/stream?token={token}") as ws:
        assert (await frames(ws, 1))[0]["type"]
    # nothing else: writes (not in its actions), other sessions, lists, new tokens
    for method, path in [
        ("POST", f"/session/{sid}/markers"),
        ("GET", f"/session/{new_id('s')}"),
        ("GET", "/assets"),
        ("GET", f"/{aid}/state"),
        ("POST", "/tokens"),
    ]:
        status, body, _ = await call(http, method, f"{api}{path}", {"label": "x"}, _bearer(token))
        assert status == 403 and body["code"] == "token_scope", (path, body)
    status, _, _ = await call(http, "GET", f"{service.base}/status?token={token}")
    assert status == 403  # outside the API too
    # tampered: the claims changed, the signature kept
    head, sig = token.split(".")
    forged = head[:-2] + ("AA" if head[-2:] != "AA" else "BB")
    status, body, _ = await call(
        http, "GET", f"{api}/session/{sid}", headers=_bearer(f"{forged}.{sig}")
    )
    assert status == 401 and body["code"] == "invalid_token"
    # expired (signed with the configuration's secret, as the service would)
    claims = TokenClaims(tenant=made["tenant"], expires_at=time.time() - 1, sessions=(sid,))
    expired = make_token(TOKEN_SECRET.encode(), claims)
    status, body, _ = await call(http, "GET", f"{api}/session/{sid}", headers=_bearer(expired))
    assert status == 401 and "expired" in body["message"]
    # a token dies with its key
    listed = await call(
        http, "GET", f"{service.base}/admin/keys?tenant={made['tenant']}", None, _bearer(ADMIN_KEY)
    )
    (key_id,) = [k["key_id"] for k in listed[1]["keys"]]
    await call(http, "DELETE", f"{service.base}/admin/keys/{key_id}", None, _bearer(ADMIN_KEY))
    await until(
        lambda: _all_refused(http, f"{api}/session/{sid}", token), timeout=1.0, what="token refused"
    )


async def test_cors(service: Service, http: aiohttp.ClientSession) -> None:
    url = f"{service.base}/health"
    allowed, foreign = "https://app.example", "https://evil.example"
    async with http.get(url, headers={"Origin": allowed}) as r:
        assert r.headers["Access-Control-Allow-Origin"] == allowed
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in r.headers["Vary"]
    async with http.get(url, headers={"Origin": foreign}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers
    preflight = {
        "Origin": allowed,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
    }
    async with http.options(f"{service.api}/ada/state", headers=preflight) as r:
        assert r.status == 200  # no key needed for a preflight
        assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
        assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
        assert r.headers["Access-Control-Allow-Origin"] == allowed
    async with http.options(
        f"{service.api}/ada/state", headers={**preflight, "Access-Control-Request-Method": "TRACE"}
    ) as r:
        assert r.status == 400
    async with http.options(
        f"{service.api}/ada/state", headers={**preflight, "Origin": foreign}
    ) as r:
        assert r.status == 400 and "Access-Control-Allow-Origin" not in r.headers
    # a refusal carries the CORS headers too, so the browser's page can read the 401
    async with http.get(f"{service.api}/ada/state", headers={"Origin": allowed}) as r:
        assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == allowed


async def test_rate_limits_are_per_key_with_retry_after(
    service: Service, http: aiohttp.ClientSession
) -> None:
    first = _bearer((await new_key(http, service, new_id("t")))["key"])
    second = _bearer((await new_key(http, service, new_id("t")))["key"])
    url = f"{service.api}/phonemes"
    body = {"text": "Hi."}
    admitted = 0  # 3 a minute per key (the configuration's rate_speech_per_min)

    async def refused() -> tuple[int, dict[str, str]] | None:
        nonlocal admitted
        status, err, headers = await call(http, "POST", url, body, first)
        if status == 200:
            admitted += 1
            return None
        assert status == 429 and err["code"] == "rate_limited", err
        return status, headers

    _, headers = await until(refused, timeout=10, interval=0.05, what="a 429")
    assert 1 <= int(headers["retry-after"]) <= 60
    # two ingress replicas count apart between syncs (every 0.25 s): each may admit the
    # limit before it hears of the other's counts, never more
    assert 3 <= admitted <= 3 * 2
    # once synced, every replica refuses
    await until(
        lambda: _all_answer(http, url, body, first, 429), timeout=5, what="every replica at 429"
    )
    assert (await call(http, "POST", url, body, second))[0] == 200  # another key: its own
    status, _, _ = await call(http, "GET", f"{service.api}/visemes", headers=first)
    assert status == 200  # reads are not limited


async def test_every_write_takes_an_idempotency_key(
    service: Service, http: aiohttp.ClientSession
) -> None:
    key = _bearer((await new_key(http, service, new_id("t")))["key"])
    api = service.api
    retry = {**key, "Idempotency-Key": new_id("k")}
    # a preset: the retry answers the first response and creates nothing more
    pid = new_id("p")
    body = {"preset_id": pid, "traits": {}}
    first = await call(http, "POST", f"{api}/presets", body, retry)
    again = await call(http, "POST", f"{api}/presets", body, retry)
    assert first[0] in (200, 201) and again[0] == first[0] and again[1] == first[1]
    assert again[2]["idempotent-replayed"] == "true"
    assert (await call(http, "POST", f"{api}/presets", body, key))[0] == 409  # no key: exists
    # the same key elsewhere is refused
    status, err, _ = await call(http, "PUT", f"{api}/config", {"fps": 30}, retry)
    assert status == 422 and err["code"] == "idempotency_key_reused"
    # an upload retried stores one asset
    upload = {**key, "Idempotency-Key": new_id("k")}
    name = f"{new_id('f')}.png"
    ids = []
    for _ in range(2):
        async with http.post(f"{api}/assets/upload?name={name}", data=PNG, headers=upload) as r:
            assert r.status == 201
            ids.append((await r.json())["asset_id"])
    assert ids[0] == ids[1]
    status, listed, _ = await call(http, "GET", f"{api}/assets/search?q={name}", headers=key)
    assert [i["asset_id"] for i in listed["items"]] == [ids[0]]  # one upload stored
    # keys are per tenant: another tenant's same key runs its own request
    other = _bearer((await new_key(http, service, new_id("t")))["key"])
    status, made, _ = await call(
        http, "POST", f"{api}/presets", body, {**other, "Idempotency-Key": retry["Idempotency-Key"]}
    )
    assert status in (200, 201) and "idempotent-replayed" not in str(made)


async def test_no_route_shows_or_changes_another_tenants_things(
    service: Service, http: aiohttp.ClientSession
) -> None:
    """Every operation of /openapi.json, called with tenant B's key on tenant A's ids: never a
    403 (ids do not leak), never a 5xx, never a trace of A's things that B did not send
    itself; and A's things are all still there afterwards."""
    a = _bearer((await new_key(http, service, new_id("a")))["key"])
    b = _bearer((await new_key(http, service, new_id("b")))["key"])
    api = service.api
    secret = new_id("secret")  # only ever in A's content, never in a URL B calls
    aid, pid = new_id(), new_id("p")
    status, spoken, _ = await call(http, "POST", f"{api}/{aid}/speak", {"text": secret}, a)
    assert status == 200, spoken
    status, s, _ = await call(http, "POST", f"{api}/session", {"avatar_id": aid}, a)
    sid = s["session_id"]
    await call(http, "POST", f"{api}/session/{sid}/markers", {"label": secret}, a)
    body = {"speaker": "user", "text": secret}
    await call(http, "POST", f"{api}/session/{sid}/transcript", body, a)
    name = f"{secret}.png"
    async with http.post(f"{api}/assets/upload?name={name}", data=PNG, headers=a) as r:
        asset = (await r.json())["asset_id"]
    status, out, _ = await call(http, "POST", f"{api}/{aid}/render", {"response": "url"}, a)
    assert status == 200, out
    preset = {"preset_id": pid, "name": secret, "traits": {}}
    assert (await call(http, "POST", f"{api}/presets", preset, a))[0] in (200, 201)
    status, job, _ = await call(http, "POST", f"{api}/session/{sid}/replay", {"width": 64}, a)
    assert status == 202, job
    ids = {
        "avatar_id": aid,
        "session_id": sid,
        "job_id": job["job_id"],
        "asset_id": asset,
        "output_id": out["asset_id"],
        "preset_id": pid,
    }
    queries = {"name": name, "q": secret}
    traces = {secret, asset, out["asset_id"], job["job_id"], sid, spoken["audio"]["asset_id"]}

    _, schema, _ = await call(http, "GET", f"{service.base}/openapi.json")
    called = 0
    for path, operations in schema["paths"].items():
        if path.startswith(("/admin", "/web")):
            continue
        for method, op in operations.items():
            url = service.base + re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], "x"), path)
            query = {
                p["name"]: queries.get(p["name"], "1")
                for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            data = None if method in ("get", "head", "delete") else {}
            async with http.request(method.upper(), url, params=query, json=data, headers=b) as r:
                text = (await r.read()).decode("utf-8", "replace")
                sent = str(r.url)
            called += 1
            assert r.status != 403 and r.status < 500, (method, path, r.status, text[:300])
            leaked = {t for t in traces if t in text and t not in sent}
            assert not leaked, (method, path, r.status, leaked, text[:300])
    assert called > 50

    # A's things are all still there, unchanged
    status, got, _ = await call(http, "GET", f"{api}/session/{sid}", headers=a)
    assert status == 200 and got["status"] == "active", got
    events = await call(http, "GET", f"{api}/session/{sid}/events", headers=a)
    assert str(events[1]).count(secret) >= 2  # the marker and the transcript
    assert secret in str((await call(http, "GET", f"{api}/{aid}/events", headers=a))[1])
    async with http.get(f"{api}/assets/{asset}/content", headers=a) as r:
        assert r.status == 200 and await r.read() == PNG
    status, got, _ = await call(http, "GET", f"{api}/presets/{pid}", headers=a)
    assert status == 200 and got["name"] == secret
    assert (await call(http, "GET", f"{api}/jobs/{job['job_id']}", headers=a))[0] == 200
    async with http.get(f"{api}/render/outputs/{out['asset_id']}", headers=a) as r:
        assert r.status == 200

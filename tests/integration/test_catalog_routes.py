"""Presets, customisation, configuration, performance and status on a real Ray + Serve.

The preset catalog and the configuration are tenant-wide and shared by every test (and both
placements), so tests create presets under fresh ids and put the configuration back after
changing it. What does not depend on how entities are placed (config, rendering, performance,
the restart) runs on the dedicated placement only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import Service
from tests.integration.helpers import all_events, call, new_id
from tests.integration.media_checks import size

pytestmark = pytest.mark.timeout(120)

dedicated_only = pytest.mark.parametrize("service", ["dedicated"], indirect=True)

DEFAULT_CONFIG = {
    "quality": "high",
    "fps": 30,
    "shading": "toon",
    "width": 512,
    "height": 512,
    "antialiasing": True,
}


async def render_png(http: aiohttp.ClientSession, url: str, body: Any = None) -> bytes:
    async with http.post(url, json=body) as r:
        data = await r.read()
        assert r.status == 200, data[:300]
        assert r.headers["Content-Type"] == "image/png"
        return data


@pytest.fixture
async def config_restored(service: Service, http: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Puts the default configuration back, so that other tests render at their defaults."""
    yield
    status, body, _ = await call(http, "PUT", f"{service.api}/config", DEFAULT_CONFIG)
    assert status == 200, body


# ---------------------------------------------------------------------------- presets


async def test_builtin_presets_are_listed_and_distinct(
    service: Service, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", f"{service.api}/presets")
    assert status == 200, body
    builtins = [p for p in body["presets"] if p["builtin"]]
    assert len(builtins) >= 5
    looks = {tuple(sorted((k, str(v)) for k, v in p["traits"].items())) for p in builtins}
    assert len(looks) == len(builtins), "two built-in presets look the same"
    status, one, _ = await call(http, "GET", f"{service.api}/presets/interviewer")
    assert status == 200 and one["traits"]["glasses"] == "square"


async def test_preset_crud(service: Service, http: aiohttp.ClientSession) -> None:
    pid = new_id("preset")
    url = f"{service.api}/presets"
    body = {
        "preset_id": pid,
        "name": "Anchor",
        "traits": {"hair_style": "bun", "outfit_color": "#aa2233"},
    }
    status, created, headers = await call(http, "POST", url, body)
    assert status == 201, created
    assert headers["location"].endswith(f"/presets/{pid}")
    assert created["traits"]["hair_style"] == "bun" and not created["builtin"]
    assert created["traits"]["glasses"] == "none"  # omitted traits take the defaults

    status, dup, _ = await call(http, "POST", url, body)
    assert status == 409 and dup["code"] == "preset_exists", dup

    status, patched, _ = await call(
        http, "PATCH", f"{url}/{pid}", {"traits": {"glasses": "round"}, "description": "news"}
    )
    assert status == 200, patched
    status, got, _ = await call(http, "GET", f"{url}/{pid}")
    assert status == 200
    assert got["traits"]["glasses"] == "round" and got["traits"]["hair_style"] == "bun"
    assert got["description"] == "news" and got["name"] == "Anchor"
    _, listing, _ = await call(http, "GET", url)
    assert pid in {p["preset_id"] for p in listing["presets"]}

    status, deleted, _ = await call(http, "DELETE", f"{url}/{pid}")
    assert status == 204, deleted
    for method in ("GET", "DELETE"):
        status, gone, _ = await call(http, method, f"{url}/{pid}")
        assert status == 404 and gone["code"] == "preset_not_found", gone
    status, gone, _ = await call(http, "PATCH", f"{url}/{pid}", {"name": "x"})
    assert status == 404, gone


@pytest.mark.parametrize(
    "traits",
    [
        {"hair_style": "mohawk"},
        {"skin_tone": "pink"},
        {"accessories": ["cape"]},
        {"tail": "long"},
    ],
    ids=["bad-style", "bad-colour", "bad-accessory", "unknown-trait"],
)
async def test_bad_traits_are_422(
    service: Service, http: aiohttp.ClientSession, traits: dict[str, Any]
) -> None:
    status, body, _ = await call(
        http, "POST", f"{service.api}/presets", {"preset_id": new_id("p"), "traits": traits}
    )
    assert status == 422 and body["code"] == "validation_error", body
    assert next(iter(traits)) in body["message"]
    status, body, _ = await call(
        http, "POST", f"{service.api}/customize", {"avatar_id": new_id(), "traits": traits}
    )
    assert status == 422, body


# ---------------------------------------------------------------------------- customize


async def test_customize_records_traits_over_a_preset_then_over_its_own(
    service: Service, http: aiohttp.ClientSession
) -> None:
    aid = new_id()
    url = f"{service.api}/customize"
    body = {"avatar_id": aid, "preset_id": "professor", "traits": {"glasses": "square"}}
    status, out, headers = await call(http, "POST", url, body)
    assert status == 200, out
    assert out["recorded"] and out["preset_id"] == "professor"
    assert out["traits"]["glasses"] == "square" and "beard" in out["traits"]["accessories"]
    assert headers["etag"] == f'"{out["version"]}"'

    # without a preset: merged over the avatar's own traits; the preset it came from stays
    status, out, _ = await call(
        http, "POST", url, {"avatar_id": aid, "traits": {"hair_color": "#ffffff"}}
    )
    assert status == 200, out
    _, state, _ = await call(http, "GET", f"{service.api}/{aid}/state")
    traits = state["state"]["traits"]
    assert traits["hair_color"] == "#ffffff" and traits["glasses"] == "square"
    assert "beard" in traits["accessories"] and state["state"]["preset_id"] == "professor"
    events = await all_events(http, f"{service.api}/{aid}/events")
    customized = [e for e in events if e["type"] == "Customized"]
    assert len(customized) == 2 and customized[0]["data"]["preset_id"] == "professor"


async def test_customize_preview_records_nothing_and_unknown_preset_is_404(
    service: Service, http: aiohttp.ClientSession
) -> None:
    url = f"{service.api}/customize"
    status, out, _ = await call(
        http, "POST", url, {"preset_id": "coach", "traits": {"outfit": "hoodie"}}
    )
    assert status == 200, out
    assert out == {**out, "recorded": False, "avatar_id": None, "version": None}
    assert out["traits"]["outfit"] == "hoodie" and out["traits"]["hair_style"] == "bun"
    aid = new_id()
    status, out, _ = await call(http, "POST", url, {"avatar_id": aid, "preset_id": new_id("nope")})
    assert status == 404 and out["code"] == "preset_not_found", out
    _, page, _ = await call(http, "GET", f"{service.api}/{aid}/events")
    assert page["highest_version"] == 0, "a refused customisation recorded something"


async def test_customised_avatar_renders_differently_from_the_default(
    service: Service, http: aiohttp.ClientSession
) -> None:
    plain, styled = new_id(), new_id()
    # a session records its avatar as it is (a read records nothing, and renders need one)
    status, _, _ = await call(http, "POST", f"{service.api}/session", {"avatar_id": plain})
    assert status == 200
    body = {"avatar_id": styled, "preset_id": "night-owl", "traits": {"glasses": "round"}}
    status, out, _ = await call(http, "POST", f"{service.api}/customize", body)
    assert status == 200, out
    frame = {"width": 128, "height": 128}
    a = await render_png(http, f"{service.api}/{plain}/render", frame)
    b = await render_png(http, f"{service.api}/{styled}/render", frame)
    again = await render_png(http, f"{service.api}/{plain}/render", frame)
    assert a == again, "the same state must render the same bytes"
    assert a != b


# ---------------------------------------------------------------------------- config


@dedicated_only
@pytest.mark.parametrize(
    "bad",
    [
        {"fps": 29},
        {"fps": 61},
        {"resolution": 5000},
        {"width": 32},
        {"quality": "max"},
        {"shading": "cel"},
        {"colour": "red"},
    ],
    ids=["fps29", "fps61", "res5000", "width32", "quality", "shading", "unknown"],
)
async def test_bad_config_is_422(
    service: Service, http: aiohttp.ClientSession, bad: dict[str, Any]
) -> None:
    status, body, _ = await call(http, "PUT", f"{service.api}/config", bad)
    assert status == 422 and body["code"] == "validation_error", body


@dedicated_only
async def test_config_is_kept_and_renders_follow_it(
    service: Service, http: aiohttp.ClientSession, config_restored: None
) -> None:
    url = f"{service.api}/config"
    status, before, _ = await call(http, "GET", url)
    assert status == 200 and set(DEFAULT_CONFIG) <= set(before)
    change = {"resolution": "192x128", "fps": 48, "quality": "medium", "shading": "flat"}
    status, after, headers = await call(http, "PUT", url, change)
    assert status == 200, after
    assert (after["width"], after["height"], after["fps"]) == (192, 128, 48)
    assert after["antialiasing"] is True  # omitted: kept
    assert after["version"] > before["version"] and headers["etag"] == f'"{after["version"]}"'
    _, got, _ = await call(http, "GET", url)
    assert got == after

    png = await render_png(http, f"{service.api}/render", {"emotion": "happy"})
    assert size(png, ".png") == (192, 128)
    explicit = await render_png(http, f"{service.api}/render", {"width": 96, "height": 64})
    assert size(explicit, ".png") == (96, 64)
    status, video, _ = await call(
        http, "POST", f"{service.api}/render/sequence", {"duration_ms": 500, "format": "gif"}
    )
    assert status == 200, video
    assert (video["width"], video["height"], video["fps"]) == (192, 128, 48)

    smooth = await render_png(http, f"{service.api}/render", {})
    status, _, _ = await call(http, "PUT", url, {"antialiasing": False})
    assert status == 200
    jagged = await render_png(http, f"{service.api}/render", {})
    assert smooth != jagged


# ---------------------------------------------------------------------------- performance


@dedicated_only
async def test_performance_is_measured(service: Service, http: aiohttp.ClientSession) -> None:
    url = f"{service.api}/performance"
    for _ in range(5):
        await call(http, "GET", f"{service.base}/health")
    await render_png(http, f"{service.api}/render", {"width": 96, "height": 96})
    deadline = time.monotonic() + 20
    while True:  # the stats call may reach a replica that has not rendered yet (autoscaling)
        status, perf, _ = await call(http, "GET", url)
        assert status == 200, perf
        if perf["render_fps"]:
            break
        assert time.monotonic() < deadline, perf
        await render_png(http, f"{service.api}/render", {"width": 96, "height": 96})
        await asyncio.sleep(0.2)
    assert perf["requests"]["requests"] >= 6
    assert 0 < perf["latency_p50_ms"] <= perf["latency_p99_ms"]
    assert perf["render_fps"] > 0 and perf["render"]["frames"] >= 1
    assert perf["renderer_replicas"] >= 1 and perf["replicas"]["ingress"]["running"] >= 1
    queue = perf["queue"]  # requests are sequential here: only this one is in flight
    assert queue["ingress_waiting"] == 0
    assert perf["queue_length"] == queue["ingress_waiting"] + queue["renderer_in_flight"]
    total = perf["requests"]["requests_total"]
    _, again, _ = await call(http, "GET", url)
    assert again["requests"]["requests_total"] > total


@dedicated_only
async def test_status_reports_renderer_replicas(
    service: Service, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", f"{service.api}/status")
    assert status == 200, body
    assert body["renderer"]["replicas"] >= 1 and body["journal"]["reachable"]


# ---------------------------------------------------------------------------- durability


@dedicated_only
async def test_presets_and_config_survive_a_restart(
    service: Service, http: aiohttp.ClientSession, config_restored: None
) -> None:
    pid = new_id("keep")
    status, _, _ = await call(
        http, "POST", f"{service.api}/presets", {"preset_id": pid, "traits": {"hair_style": "bob"}}
    )
    assert status == 201
    status, _, _ = await call(http, "PATCH", f"{service.api}/presets/coach", {"name": "Mentor"})
    assert status == 200
    status, config, _ = await call(http, "PUT", f"{service.api}/config", {"fps": 50})
    assert status == 200

    await asyncio.to_thread(service.undeploy)
    await asyncio.to_thread(service.deploy)

    status, kept, _ = await call(http, "GET", f"{service.api}/presets/{pid}")
    assert status == 200 and kept["traits"]["hair_style"] == "bob"
    _, coach, _ = await call(http, "GET", f"{service.api}/presets/coach")
    assert coach["name"] == "Mentor" and coach["builtin"]
    _, after, _ = await call(http, "GET", f"{service.api}/config")
    assert after == config
    await call(http, "PATCH", f"{service.api}/presets/coach", {"name": "Coach"})

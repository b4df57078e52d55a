"""One real local Ray + Serve for the whole test session, with the app on a free loopback port.

Settings are shortened for tests (heartbeats, TTL minimum, subscriber buffer, passivation), not
mocked: everything runs for real, journal included (a SQLite file in a temp directory).

The fixtures and hooks here are registered once, by ``tests/conftest.py``, for every test
directory that needs the service (``tests/integration``, ``tests/browser``): one fixture
definition means one cluster and one deployed app per test session, whichever directories run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serve_app.ports import free_port

TEST_SETTINGS: dict[str, Any] = {
    "heartbeat_s": 0.5,
    "session_ttl_min_s": 1,
    "subscriber_buffer": 50,
    "snapshot_every": 20,
    "passivate_after_s": 6.0,
    "max_live_actors": 500,
    # the renderer scales up within seconds and back down 2 s after a burst (tests stay short)
    "renderer_max_replicas": 3,
    "renderer_num_cpus": 0.25,
    "renderer_upscale_delay_s": 1.0,
    "renderer_downscale_delay_s": 2.0,
    "renderer_look_back_period_s": 2.0,
    "speech_upscale_delay_s": 1.0,
    "speech_downscale_delay_s": 2.0,
    "speech_look_back_period_s": 2.0,
    # live streams gather host candidates on loopback only (no traffic leaves the machine)
    "live_ice_addresses": ["127.0.0.1"],
    "live_num_cpus": 0.25,
    "live_connect_timeout_s": 20.0,
    # explicit: the "keys" configuration leaves keys in the shared journal, which "auto" would
    # then take as a reason to require them in the configurations deployed after it
    "auth": "none",
}

#: The admin key of the "keys" configuration (tests/integration/test_tenants.py).
ADMIN_KEY = "test-admin-key-" + "x" * 32
TOKEN_SECRET = "test-token-secret-" + "y" * 32
#: What the "keys" configuration adds: keys required, an admin key, CORS for one origin.
KEYS_SETTINGS: dict[str, Any] = {
    "auth": "keys",
    "admin_key": ADMIN_KEY,
    "token_secret": TOKEN_SECRET,
    "key_refresh_s": 0.5,
    "cors_origins": ["https://app.example"],
    "cors_credentials": True,
    "rate_speech_per_min": 3,  # low enough to see the 429 (test_tenants.py)
    # quotas low enough to reach (test_quotas.py)
    "quota_render_jobs": 2,
    "quota_live_streams": 1,
    "quota_storage_bytes": 64 * 1024 * 1024,
    # a synchronous render stays well under the fuzzer's 120-s request timeout
    "render_timeout_s": 60.0,
    "render_sync_max_s": 20.0,
    "ingress_min_replicas": 2,  # revocation is tested on every replica
}


@dataclass
class Service:
    base: str
    ws: str
    data_dir: Path
    port: int
    placement: str = "dedicated"
    journal: str | None = None  # None: SQLite in data_dir
    extra: dict[str, Any] = field(default_factory=dict)  # settings of the configuration
    _directory: Any = None

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1/avatars"

    @property
    def ws_api(self) -> str:
        return f"{self.ws}/api/v1/avatars"

    @property
    def settings(self) -> dict[str, Any]:
        return {**TEST_SETTINGS, "placement": self.placement, **self.extra}

    @property
    def journal_url(self) -> str:
        return self.journal or f"sqlite:///{self.data_dir.resolve()}/journal.sqlite"

    @property
    def on_postgres(self) -> bool:
        return self.journal is not None and self.journal.startswith("postgres")

    def deploy(self) -> None:
        from ray import serve

        from serve_app.app import AppArgs, build_app

        args = AppArgs(data_dir=str(self.data_dir), journal=self.journal, settings=self.settings)
        serve.run(build_app(args), name="avatar-service", route_prefix="/", blocking=False)
        wait_healthy(self.base)

    def undeploy(self) -> None:
        """Delete the app and every actor of ours (entities, hosts, registry)."""
        import ray
        from ray import serve

        from actors.naming import NAMESPACE

        serve.delete("avatar-service")
        for name in _our_names():
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
        # ray.kill returns before the actors are gone: wait until their names are free
        deadline = time.monotonic() + 30
        while _our_names():
            if time.monotonic() > deadline:
                raise TimeoutError(f"actors still alive after kill: {_our_names()[:5]}")
            time.sleep(0.05)
        self._directory = None

    @property
    def directory(self) -> Any:
        """The same placement's directory, from the test process (pids, liveness)."""
        if self._directory is None:
            from actors.directory import make_directory
            from serve_app.app import AppArgs, resolve_settings

            s = resolve_settings(
                AppArgs(data_dir=str(self.data_dir), journal=self.journal, settings=self.settings)
            )
            # Ray calls, not the hosts' direct channels: each test runs on its own event loop,
            # and a channel lives on the loop that opened it (the service's ingress has one)
            config = s.entity_config().model_copy(update={"entity_transport": "ray"})
            self._directory = make_directory(
                config, s.placement, s.host_count, s.max_entities_per_host
            )
        return self._directory


def _our_names() -> list[str]:
    """Names of the live actors in our namespace (entities, hosts, registry)."""
    import ray

    from actors.naming import NAMESPACE

    return [
        n["name"]
        for n in ray.util.list_named_actors(all_namespaces=True)
        if n["namespace"] == NAMESPACE
    ]


def wait_healthy(base: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base} not healthy after {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Ray and Serve, started once; yields a not yet deployed Service."""
    import ray
    from ray import serve

    from actors.naming import NAMESPACE
    from serve_app.raytune import apply_high_throughput, apply_serve_env_defaults

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    port = free_port()
    data_dir = tmp_path_factory.mktemp("avatar-data")
    apply_serve_env_defaults()
    haproxy: dict[str, str] = {}
    if os.environ.get("AVATAR_HTTP_MODE", "haproxy") == "haproxy":  # the service's default
        haproxy = apply_high_throughput(data_dir / "haproxy", usual_ports=False)
    ray.init(
        include_dashboard=False,
        namespace=NAMESPACE,
        num_cpus=2,
        logging_level="warning",
        log_to_driver=False,
    )
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        yield Service(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", data_dir, port)
    finally:
        serve.shutdown()
        ray.shutdown()
        if haproxy:  # HAProxy's socket directory lives in the temp dir (short unix paths)
            shutil.rmtree(Path(haproxy["RAY_SERVE_HAPROXY_SOCKET_PATH"]).parent, ignore_errors=True)


# How the app is deployed: a placement, on SQLite (the embedded default) or on PostgreSQL
# (the cluster configuration: hosted placement, journal and asset index on the server).
CONFIGURATIONS = {
    "dedicated": ("dedicated", False),
    "hosted": ("hosted", False),
    "postgres": ("hosted", True),
}
#: Chosen by name only (never in ``*CONFIGURATIONS``): the app with API keys required
#: (KEYS_SETTINGS), for the tenant, token and CORS tests.
KEYS_CONFIGURATION = {"keys": ("hosted", False)}
#: Tests that do not choose run on these. A module (or test) whose behaviour depends on the
#: journal (entities, streams, durability, jobs, assets) chooses more with
#: ``pytestmark = pytest.mark.configurations(*CONFIGURATIONS)``; an explicit
#: ``parametrize("service", [...], indirect=True)`` on a test still wins.
DEFAULT_CONFIGURATIONS = ["dedicated", "hosted"]


@pytest.fixture(scope="session", params=DEFAULT_CONFIGURATIONS)
def service(ray_cluster: Service, request: pytest.FixtureRequest) -> Iterator[Service]:
    """The app deployed in each configuration in turn (see :data:`CONFIGURATIONS`)."""
    placement, on_postgres = {**CONFIGURATIONS, **KEYS_CONFIGURATION}[request.param]
    ray_cluster.placement = placement
    ray_cluster.extra = KEYS_SETTINGS if request.param == "keys" else {}
    ray_cluster.journal = (
        request.getfixturevalue("pg_server").fresh_database("svc") if on_postgres else None
    )
    ray_cluster.deploy()
    try:
        yield ray_cluster
    finally:
        ray_cluster.undeploy()
        ray_cluster.journal = None
        ray_cluster.extra = {}


@pytest.fixture
async def http(service: Service) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``@pytest.mark.configurations(...)`` becomes the test's parametrisation of ``service``
    (as a marker, before pytest's own hooks read the markers and the fixture's params)."""
    if "service" not in metafunc.fixturenames:
        return
    explicit = any(
        "service" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")
    )
    chosen = metafunc.definition.get_closest_marker("configurations")
    if chosen is not None and not explicit:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("service", list(chosen.args), indirect=True)
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/integration" in path or "tests/browser" in path:
            item.add_marker(pytest.mark.integration)
        if "tests/browser" in path:
            item.add_marker(pytest.mark.browser)

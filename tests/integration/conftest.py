"""The service fixtures of these tests live in ``tests/service.py`` (shared with ``tests/browser``)
and are registered by ``tests/conftest.py``; the names tests import are kept here, with the
fixtures of the live-stream tests."""

from collections.abc import AsyncIterator, Iterator

import pytest

from serve_app.live.ice import use_host_addresses
from serve_app.live.viewer import LiveViewer
from tests.service import CONFIGURATIONS, DEFAULT_CONFIGURATIONS, TEST_SETTINGS, Service

__all__ = ["CONFIGURATIONS", "DEFAULT_CONFIGURATIONS", "TEST_SETTINGS", "Service"]


@pytest.fixture
async def viewers() -> AsyncIterator[list[LiveViewer]]:
    """WebRTC viewers a test opens (appended here), closed after it."""
    made: list[LiveViewer] = []
    yield made
    for v in made:
        await v.close()


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """This process's WebRTC peers gather ICE candidates on 127.0.0.1 only."""
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses([])

"""The service fixtures of these tests live in ``tests/service.py`` (shared with ``tests/browser``)
and are registered by ``tests/conftest.py``; the names tests import are kept here."""

from tests.service import CONFIGURATIONS, DEFAULT_CONFIGURATIONS, TEST_SETTINGS, Service

__all__ = ["CONFIGURATIONS", "DEFAULT_CONFIGURATIONS", "TEST_SETTINGS", "Service"]

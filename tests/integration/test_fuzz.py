"""Schemathesis against /openapi.json, every operation, with a valid key ("keys"
configuration): no 5xx and no response that breaks the documented schema.

``AVATAR_FUZZ_EXAMPLES`` examples per operation: 2 in the suite (about a minute), more with
``make fuzz``.
"""

from __future__ import annotations

import os
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.service import ADMIN_KEY, Service

pytestmark = [pytest.mark.configurations("keys"), pytest.mark.timeout(1800)]

EXAMPLES = int(os.environ.get("AVATAR_FUZZ_EXAMPLES", "2"))
MATCH = os.environ.get("AVATAR_FUZZ_MATCH", "")
"""Only the operations whose label ("POST /api/v1/avatars/render/sequence") contains this."""


def fresh_key(service: Service) -> str:
    """A key of its own tenant for each example: rate limits never carry over."""
    r = requests.post(
        f"{service.base}/admin/keys",
        json={"tenant": f"fuzz-{uuid.uuid4().hex[:12]}"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["key"])


def test_no_server_errors_and_no_schema_violations(service: Service) -> None:
    schema = schemathesis.openapi.from_url(f"{service.base}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if MATCH not in operation.label:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=EXAMPLES <= 5,  # the suite's short run: the same examples every time
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=service.base,
                headers={"Authorization": f"Bearer {fresh_key(service)}"},
                timeout=120,
                checks=[not_a_server_error, response_schema_conformance],
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as e:  # every operation is tried, all reported
            failures.append(f"{operation.label}: {e}")
    assert operations > (50 if not MATCH else 0)
    assert not failures, "\n\n".join(failures)

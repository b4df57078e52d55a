"""The OpenAPI document says what the edge may answer, besides what each route does."""

from __future__ import annotations

import pytest

from serve_app.app import create_app

pytestmark = pytest.mark.timeout(60)


def test_refusals_quotas_and_open_routes_are_documented() -> None:
    paths = create_app().openapi()["paths"]
    assert paths["/health"]["get"]["security"] == []
    assert "401" not in paths["/health"]["get"]["responses"]
    state = paths["/api/v1/avatars/{avatar_id}/state"]["get"]["responses"]
    assert {"401", "403"} <= set(state) and "429" not in state  # reads are never limited
    sequence = paths["/api/v1/avatars/render/sequence"]["post"]["responses"]
    assert {"202", "401", "429", "507"} <= set(sequence)
    assert "507" in paths["/api/v1/avatars/session/{session_id}/replay"]["post"]["responses"]
    assert "507" in paths["/api/v1/avatars/assets/upload"]["post"]["responses"]
    assert "429" in paths["/api/v1/avatars/session/{session_id}/live"]["post"]["responses"]
    error = sequence["429"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/HTTPValidationError")  # our error body: code, message, detail
    assert paths["/admin/keys"]["post"]["responses"]["401"]

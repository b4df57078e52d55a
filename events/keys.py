"""API keys as events, in one stream for every tenant (``tenant:keys``).

- ``KeyIssued``: a key of ``tenant`` exists; only its SHA-256 digest and a short prefix are
  recorded (the key itself is shown once, to whoever issued it).
- ``KeyRevoked``: the key no longer authenticates (nor do the tokens made with it).

The token signing secret lives in its own stream (``tenant:token-secret``) when it is not set
in the settings, so that every ingress replica signs and checks with the same one.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.base import Event
from events.fold import Folder, State

KEYS_STREAM = "tenant:keys"
TOKEN_SECRET_STREAM = "tenant:token-secret"


class KeyIssued(Event):
    type: Literal["KeyIssued"] = "KeyIssued"
    key_id: str
    tenant: str
    prefix: str = Field(description="The key's first characters, to tell keys apart in lists.")
    digest: str = Field(description="Hex SHA-256 of the key.")
    name: str = ""


class KeyRevoked(Event):
    type: Literal["KeyRevoked"] = "KeyRevoked"
    key_id: str


class TokenSecretSet(Event):
    type: Literal["TokenSecretSet"] = "TokenSecretSet"
    secret: str = Field(description="Hex HMAC key of the service's scoped tokens.")


class KeyRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    tenant: str
    prefix: str
    digest: str
    name: str = ""
    created_at: float
    revoked_at: float | None = None


class KeysState(State):
    """Every key ever issued, by id (revoked ones stay, marked)."""

    state_type: ClassVar[str] = "KeysState"

    keys: dict[str, KeyRecord] = Field(default_factory=dict)


keys_folder: Folder[KeysState] = Folder(KeysState)


@keys_folder.mutator(KeyIssued)
def _issued(state: KeysState, e: KeyIssued, at: float) -> dict[str, Any]:
    record = KeyRecord(
        key_id=e.key_id,
        tenant=e.tenant,
        prefix=e.prefix,
        digest=e.digest,
        name=e.name,
        created_at=at,
    )
    return {"keys": {**state.keys, e.key_id: record}}


@keys_folder.mutator(KeyRevoked)
def _revoked(state: KeysState, e: KeyRevoked, at: float) -> dict[str, Any]:
    found = state.keys.get(e.key_id)
    if found is None or found.revoked_at is not None:
        return {}
    return {"keys": {**state.keys, e.key_id: found.model_copy(update={"revoked_at": at})}}

"""API keys, the key ring's freshness, scoped tokens, secure-by-default and the keys CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from starlette.types import Message, Receive, Scope, Send

from events import MemoryJournal
from serve_app.auth.edge import is_open
from serve_app.auth.keys import KeyRing, digest, issue_key, list_keys, revoke_key, token_secret
from serve_app.auth.mode import is_loopback, resolve_auth
from serve_app.auth.revocation import serve_while_valid
from serve_app.auth.tokens import BadToken, TokenClaims, allows, make_token, read_token
from serve_app.cli import main
from serve_app.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_random_shown_once_and_stored_only_as_its_hash() -> None:
    journal = MemoryJournal()
    record, key = issue_key(journal, "acme")
    other, key2 = issue_key(journal, "acme")
    assert key != key2 and len(key) >= 4 + 43  # avk_ + 32 bytes in base64url
    assert record.digest == digest(key) and record.prefix == key[:12]
    stored = json.dumps([r.event.model_dump(mode="json") for r in journal.read("tenant:keys")])
    assert key not in stored and key[12:] not in stored
    assert [k.key_id for k in list_keys(journal, "acme")] == [record.key_id, other.key_id]
    assert list_keys(journal, "other") == []


def test_the_ring_sees_a_revocation_at_its_next_refresh() -> None:
    journal = MemoryJournal()
    clock = Clock()
    ring = KeyRing(journal, refresh_s=0.5, clock=clock)
    record, key = issue_key(journal, "acme")
    asyncio.run(ring.fresh())
    found = ring.lookup(key)
    assert found is not None and found.tenant == "acme"
    assert revoke_key(journal, record.key_id, tenant="someone-else") is None
    assert revoke_key(journal, record.key_id) is not None
    clock.now += 0.4
    asyncio.run(ring.fresh())
    assert ring.lookup(key) is not None  # within the TTL: not read yet
    clock.now += 0.1
    asyncio.run(ring.fresh())
    assert ring.lookup(key) is None and not ring.active(record.key_id)
    assert ring.lookup("avk_" + "x" * 43) is None


def test_the_token_secret_is_made_once() -> None:
    journal = MemoryJournal()
    assert token_secret(journal) == token_secret(journal)
    assert len(token_secret(journal)) == 32


def _claims(**kw: object) -> TokenClaims:
    base: dict[str, object] = {"tenant": "acme", "expires_at": 2e9, "sessions": ("s1",)}
    return TokenClaims.model_validate({**base, **kw})


def test_a_token_round_trips_and_a_tampered_or_expired_one_fails() -> None:
    secret = b"k" * 32
    token = make_token(secret, _claims())
    assert read_token(secret, token).tenant == "acme"
    body, sig = token.split(".")
    forged = make_token(secret, _claims(tenant="other")).split(".")[0]
    with pytest.raises(BadToken, match="signature"):
        read_token(secret, f"{forged}.{sig}")
    with pytest.raises(BadToken, match="signature"):
        read_token(b"z" * 32, token)
    with pytest.raises(BadToken):
        read_token(secret, body)
    with pytest.raises(BadToken, match="expired"):
        read_token(secret, make_token(secret, _claims(expires_at=99.0)), now=100.0)


def test_a_token_reaches_its_sessions_and_avatars_only() -> None:
    claims = _claims(sessions=("s1",), avatars=("ada",), actions=("read", "stream"))
    assert allows(claims, ["session", "s1"], "read")
    assert allows(claims, ["session", "s1", "stream"], "stream")
    assert allows(claims, ["ada", "state"], "read")
    assert not allows(claims, ["session", "s2"], "read")
    assert not allows(claims, ["session", "s1"], "write")
    assert not allows(claims, ["session", "s1", "live"], "live")
    assert not allows(claims, ["bob", "state"], "read")
    assert not allows(_claims(avatars=("assets",)), ["assets", "a1"], "read")
    assert not allows(claims, ["tokens"], "write")


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_no_keys_means_loopback_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="0.0.0.0")
    with pytest.raises(ValueError, match="without API keys"):
        resolve_auth(settings)
    assert resolve_auth(settings.model_copy(update={"host": "127.0.0.1"})).auth == "none"
    admin = settings.model_copy(update={"admin_key": "a" * 32})
    assert resolve_auth(admin).auth == "keys"


def test_cors_credentials_need_explicit_origins() -> None:
    with pytest.raises(ValueError, match="explicit"):
        Settings(cors_origins=["*"], cors_credentials=True)
    assert Settings.from_env({"cors_origins": ["https://app.example"]}).cors_origins


def test_cli_issues_lists_and_revokes_keys_and_serve_then_requires_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["keys", *data, "create", "--tenant", "acme", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["key"].startswith("avk_") and "digest" not in made
    assert main(["keys", "list", "--tenant", "acme", *data]) == 0  # options after the action too
    listing = capsys.readouterr().out
    assert made["key_id"] in listing and made["key"] not in listing
    # a key exists: auto becomes keys, so a public bind is allowed
    settings = Settings(data_dir=tmp_path, host="0.0.0.0")
    assert resolve_auth(settings).auth == "keys"
    assert main(["keys", *data, "revoke", made["key_id"]]) == 0
    assert main(["keys", *data, "revoke", "key-nope"]) == 1
    assert main(["keys", *data, "create", "--tenant", "bad tenant"]) == 2
    with pytest.raises(ValueError, match="without API keys"):
        resolve_auth(settings)
    assert main(["serve", *data, "--host", "0.0.0.0"]) == 2  # refused before Ray starts
    assert "without API keys" in capsys.readouterr().err


def test_open_paths_and_the_docs_setting() -> None:
    for path in ("/health", "/version", "/api/v1/avatars/health", "/", "/web/app.js"):
        assert is_open(path, docs_public=False)
    assert is_open("/docs", docs_public=True) and not is_open("/docs", docs_public=False)
    assert not is_open("/openapi.json", docs_public=False)
    for path in ("/status", "/api/v1/avatars/status", "/api/v1/avatars/ada/state"):
        assert not is_open(path, docs_public=True)


# ---------------------------------------------------------------------------- revocation


async def test_an_open_websocket_is_closed_when_its_key_is_revoked() -> None:
    """A handler that streams forever ends, and the client gets a 1008 close frame."""
    sent: list[Message] = []
    ended = asyncio.Event()
    valid = True

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "websocket.accept"})
            while True:
                await send({"type": "websocket.send", "text": "frame"})
                await asyncio.sleep(0.01)
        finally:
            ended.set()

    async def receive() -> Message:
        await asyncio.sleep(3600)
        return {}

    async def send(message: Message) -> None:
        sent.append(message)

    async def still_valid() -> bool:
        return valid

    serving = asyncio.ensure_future(
        serve_while_valid(handler, {"type": "websocket"}, receive, send, still_valid, 0.02)
    )
    await asyncio.sleep(0.1)
    assert not serving.done() and sent[0]["type"] == "websocket.accept"
    valid = False
    await asyncio.wait_for(serving, 2)
    assert ended.is_set()
    assert sent[-1] == {"type": "websocket.close", "code": 1008, "reason": "API key revoked"}


async def test_a_websocket_that_ends_on_its_own_is_not_closed_again() -> None:
    sent: list[Message] = []

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": 1000})

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        sent.append(message)

    async def still_valid() -> bool:
        return False

    await asyncio.wait_for(serve_while_valid(handler, {}, receive, send, still_valid, 10.0), 2)
    assert sent == [{"type": "websocket.close", "code": 1000}]

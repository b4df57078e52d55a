"""API keys: issued, listed and revoked as events (:mod:`events.keys`), looked up by digest.

A key is ``avk_`` + 32 random bytes (base64url); only its SHA-256 is kept. A slow hash
(bcrypt, scrypt) defends guessable passwords; a 256-bit random key cannot be guessed, so one
SHA-256 is as safe and lets every request find its key with a dict lookup.

:class:`KeyRing` is one process's view of the ``tenant:keys`` stream: it reads what is new at
most every ``refresh_s`` (a short TTL), so a revocation written anywhere is seen by every
ingress replica within that time plus one small read.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable

from actors.naming import check_id
from events.errors import VersionConflict
from events.journal import Journal
from events.keys import (
    KEYS_STREAM,
    TOKEN_SECRET_STREAM,
    KeyIssued,
    KeyRecord,
    KeyRevoked,
    KeysState,
    TokenSecretSet,
    keys_folder,
)
from events.replay import load_state
from events.types import ANY, NO_STREAM

KEY_PREFIX = "avk_"
_SHOWN_PREFIX = 12  # "avk_" and 8 characters of the secret: enough to tell keys apart


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(journal: Journal, tenant: str, name: str = "") -> tuple[KeyRecord, str]:
    """A new key of ``tenant``: its record and the key itself (shown once, never stored)."""
    check_id(tenant, "tenant")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    event = KeyIssued(
        key_id=f"key-{uuid.uuid4().hex[:16]}",
        tenant=tenant,
        prefix=key[:_SHOWN_PREFIX],
        digest=digest(key),
        name=name[:100],
    )
    journal.append(KEYS_STREAM, [event], ANY)
    record = KeyRecord(
        key_id=event.key_id,
        tenant=tenant,
        prefix=event.prefix,
        digest=event.digest,
        name=event.name,
        created_at=time.time(),
    )
    return record, key


def revoke_key(journal: Journal, key_id: str, tenant: str | None = None) -> KeyRecord | None:
    """Revoke ``key_id`` (of ``tenant`` when given); its record, or ``None`` if unknown."""
    found = load_keys(journal).keys.get(key_id)
    if found is None or (tenant is not None and found.tenant != tenant):
        return None
    if found.revoked_at is None:
        journal.append(KEYS_STREAM, [KeyRevoked(key_id=key_id)], ANY)
    return load_keys(journal).keys[key_id]


def load_keys(journal: Journal) -> KeysState:
    return load_state(journal, KEYS_STREAM, keys_folder, use_snapshots=False)


def list_keys(journal: Journal, tenant: str | None = None) -> list[KeyRecord]:
    keys = load_keys(journal).keys.values()
    return sorted(
        (k for k in keys if tenant is None or k.tenant == tenant), key=lambda k: k.created_at
    )


def token_secret(journal: Journal) -> bytes:
    """The service's token signing key from the journal; the first caller makes it (a
    concurrent first caller loses the race and reads the winner's)."""
    for _ in range(2):
        found = journal.read(TOKEN_SECRET_STREAM, 1, 1)
        if found and isinstance(found[0].event, TokenSecretSet):
            return bytes.fromhex(found[0].event.secret)
        try:
            journal.append(
                TOKEN_SECRET_STREAM, [TokenSecretSet(secret=secrets.token_hex(32))], NO_STREAM
            )
        except VersionConflict:
            continue
    raise RuntimeError("no token secret in the journal")


class KeyRing:
    """Active keys by digest, kept fresh from the journal (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        refresh_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal = journal
        self.refresh_s = refresh_s
        self.clock = clock
        self._state = keys_folder.initial()
        self._by_digest: dict[str, KeyRecord] = {}
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._refreshing: asyncio.Future[None] | None = None

    @property
    def state(self) -> KeysState:
        return self._state

    def refresh(self) -> None:
        """Read the keys stream's new events (blocking; one indexed read)."""
        with self._lock:
            started = self.clock()  # what the read sees is at least as recent as this
            records = self.journal.read(KEYS_STREAM, self._state.version + 1)
            if records:
                self._state = keys_folder.fold(self._state, records)
                self._by_digest = {
                    k.digest: k for k in self._state.keys.values() if k.revoked_at is None
                }
            self._checked = started

    def stale(self) -> bool:
        return self.clock() - self._checked >= self.refresh_s

    async def fresh(self) -> None:
        """Refresh if stale; concurrent callers share one read."""
        if not self.stale():
            return
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(asyncio.to_thread(self.refresh))
        await asyncio.shield(self._refreshing)

    async def recheck(self, min_interval_s: float = 0.05) -> None:
        """Make sure a read that started after now has happened (a key unknown here may have
        been issued a moment ago on another replica). Reads are at least ``min_interval_s``
        apart (a flood of wrong keys costs one read per interval), and concurrent misses
        share one."""
        asked = self.clock()
        wait = self._checked + min_interval_s - asked
        if wait > 0:
            await asyncio.sleep(wait)
        while self._checked < asked:  # no read has started since this miss: start one
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(asyncio.to_thread(self.refresh))
            await asyncio.shield(self._refreshing)

    def lookup(self, key: str) -> KeyRecord | None:
        """The active key ``key`` is, if any (as of the last refresh)."""
        return self._by_digest.get(digest(key))

    def active(self, key_id: str) -> bool:
        found = self._state.keys.get(key_id)
        return found is not None and found.revoked_at is None

    def any_active(self) -> bool:
        return bool(self._by_digest)

    def tenants(self) -> set[str]:
        return {k.tenant for k in self._by_digest.values()}

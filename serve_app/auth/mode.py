"""Secure by default: which authentication a deployment runs with, decided before it starts."""

from __future__ import annotations

import ipaddress

from events.factory import open_journal
from serve_app.auth.keys import load_keys
from serve_app.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def resolve_auth(settings: Settings) -> Settings:
    """``auth="auto"`` made concrete (keys when an admin key is set or the journal holds an
    active key); ``ValueError`` for a non-loopback bind without keys."""
    mode = settings.auth
    if mode == "auto":
        mode = "keys" if settings.admin_key or _has_keys(settings.journal_url) else "none"
    if mode == "none" and not is_loopback(settings.host):
        raise ValueError(
            f"refusing to listen on {settings.host} without API keys: anyone reaching the port "
            "would own every avatar. Create a key (avatar-service keys create --tenant NAME) "
            "or set AVATAR_ADMIN_KEY, or bind 127.0.0.1."
        )
    return settings.model_copy(update={"auth": mode})


def _has_keys(journal_url: str) -> bool:
    journal = open_journal(journal_url)
    try:
        return any(k.revoked_at is None for k in load_keys(journal).keys.values())
    finally:
        journal.close()

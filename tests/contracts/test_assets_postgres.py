"""The asset store contract with the PostgreSQL index (a fresh database per test, from the
session's real server) and blobs in a temporary folder; then what only this backend promises:
its own tables with a schema version, created once by processes opening at once, errors that
are ours and never carry the password, and an outage that is a retryable StorageFailure."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest

from assets import (
    AssetNotFound,
    AssetStore,
    BlobAssetStore,
    BlobDir,
    StorageFailure,
    open_asset_store,
)
from assets.pg_index import SCHEMA_VERSION, PostgresAssetIndex, libpq_url
from tests.contracts.assets import PNG, SharedAssetStoreContract, stop


class TestPostgresAssetIndex(SharedAssetStoreContract):
    @pytest.fixture(autouse=True)
    def _pg(self, tmp_path: Path, pg_url: str) -> None:
        self.url = pg_url
        self.blobs = tmp_path / "blobs"

    def create_store(self) -> AssetStore:
        return open_asset_store(self.url, blob_dir=self.blobs)

    def worker_args(self) -> tuple[str, str]:
        return self.url, str(self.blobs)

    def blob_root(self) -> Path:
        return self.blobs

    def stored_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.blobs.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------- schema


def tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def schema_versions(url: str) -> list[int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM asset_schema_version")]


def test_the_index_has_tables_of_its_own_with_a_schema_version_row(
    pg_url: str, tmp_path: Path
) -> None:
    store = open_asset_store(pg_url, blob_dir=tmp_path)
    info = store.put_bytes("t", PNG, name="a.png")
    store.close()
    assert tables(pg_url) == {"asset_records", "asset_schema_version"}
    assert schema_versions(pg_url) == [SCHEMA_VERSION]
    again = open_asset_store(pg_url, blob_dir=tmp_path)  # opening again changes nothing
    assert again.get("t", info.asset_id) == info
    again.close()
    assert schema_versions(pg_url) == [SCHEMA_VERSION]


OPEN_WHEN_TOLD = """
import pathlib, sys, time
from assets import open_asset_store
go = pathlib.Path(sys.argv[3])
while not go.exists():
    time.sleep(0.002)
open_asset_store(sys.argv[1], blob_dir=sys.argv[2]).close()
"""


@pytest.mark.timeout(60)
def test_processes_opening_an_empty_database_at_once_create_the_schema_once(
    pg_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-P", "-c", OPEN_WHEN_TOLD, pg_url, str(tmp_path / "b"), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        time.sleep(1.5)  # they import and wait; then all open at once
        go.touch()
        for p in procs:
            _, err = p.communicate(timeout=45)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            stop(p)
    assert schema_versions(pg_url) == [SCHEMA_VERSION]
    assert tables(pg_url) == {"asset_records", "asset_schema_version"}


def test_a_schema_newer_than_the_code_is_refused(pg_url: str, tmp_path: Path) -> None:
    open_asset_store(pg_url, blob_dir=tmp_path).close()
    with psycopg.connect(libpq_url(pg_url)) as conn:
        conn.execute("UPDATE asset_schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageFailure, match=f"schema version {SCHEMA_VERSION + 1}"):
        open_asset_store(pg_url, blob_dir=tmp_path)


def test_query_options_libpq_does_not_know_are_left_to_the_journal(
    pg_url: str, tmp_path: Path
) -> None:
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}snapshot_every=50&connect_timeout=5"
    assert parse_qs(urlsplit(libpq_url(url)).query).get("connect_timeout") == ["5"]
    assert "snapshot_every" not in libpq_url(url)
    store = open_asset_store(url, blob_dir=tmp_path)
    store.put_bytes("t", PNG, name="a.png")
    store.close()


# ---------------------------------------------------------------------------- errors


SECRET = "s3cret-Pa55word"


def test_an_unreachable_server_is_a_storage_failure_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://avatar:{SECRET}@127.0.0.1:{port}/assets"
    with pytest.raises(StorageFailure) as caught:
        open_asset_store(url, blob_dir=tmp_path)
    assert SECRET not in str(caught.value) and "avatar@127.0.0.1" in str(caught.value)
    assert not isinstance(caught.value, psycopg.Error)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert caught.value.retryable


@pytest.mark.parametrize("password", ["pa%zz55", "pass word"])
def test_a_malformed_url_is_refused_without_the_password(password: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL") as caught:
        open_asset_store(f"postgresql://avatar:{password}@db.invalid/assets", blob_dir=tmp_path)
    assert password not in str(caught.value)


class Proxy:
    """A TCP port forwarding to the test server (its unix socket or TCP address) that a test
    can cut and restore: an outage of the database as the store sees it."""

    def __init__(self, upstream: str) -> None:
        params = psycopg.conninfo.conninfo_to_dict(libpq_url(upstream))
        host, port = str(params.get("host") or "localhost"), int(params.get("port") or 5432)
        self.upstream: tuple[int, str | tuple[str, int]] = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
            if host.startswith("/")
            else (socket.AF_INET, (host, port))
        )
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            family, address = self.upstream
            server = socket.socket(family)
            try:
                server.connect(address)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()

    def url(self, database_url: str, password: str) -> str:
        parts = urlsplit(database_url)
        user = parts.username or "postgres"
        netloc = f"{user}:{password}@127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc, query=""))


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy(pg_url: str) -> Iterator[Proxy]:
    p = Proxy(pg_url)
    p.start()
    yield p
    p.cut()


@pytest.mark.timeout(90)
def test_an_outage_is_a_retryable_storage_failure_then_the_store_recovers(
    pg_url: str, proxy: Proxy, tmp_path: Path
) -> None:
    url = proxy.url(pg_url, SECRET)
    store = BlobAssetStore(BlobDir(tmp_path), PostgresAssetIndex(url, timeout=2.0))
    info = store.put_bytes("t", PNG, name="a.png")
    proxy.cut()
    for call in (
        lambda: store.get("t", info.asset_id),
        lambda: store.page("t"),
        lambda: store.put_bytes("t", PNG + b"2", name="b.png"),
        lambda: store.delete("t", info.asset_id),
    ):
        with pytest.raises(StorageFailure) as caught:
            call()
        assert caught.value.retryable and SECRET not in str(caught.value)
        assert not isinstance(caught.value, psycopg.Error)
    assert list((tmp_path / "tmp").iterdir()) == []  # the failed upload left nothing
    proxy.start()  # the same port again
    deadline = time.monotonic() + 60
    while True:
        try:
            assert store.get("t", info.asset_id) == info
            break
        except StorageFailure:
            assert time.monotonic() < deadline, "the store never recovered"
            time.sleep(0.5)
    assert store.page("t").total == 1
    store.delete("t", info.asset_id)
    with pytest.raises(AssetNotFound):
        store.get("t", info.asset_id)
    store.close()

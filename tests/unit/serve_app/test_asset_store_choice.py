"""Where the service keeps assets: the one choice every process (ingress, Renderer, Speech)
makes through ``Settings`` and ``shared_asset_store``. SQLite under ``data_dir`` unless the
journal is PostgreSQL, then that database; blobs under ``AVATAR_BLOB_DIR``."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets import BlobAssetStore, LocalAssetStore, SqliteAssetIndex
from assets.pg_index import PostgresAssetIndex
from serve_app.rendering.outputs import open_output_store, shared_asset_store
from serve_app.settings import Settings

PNG = b"\x89PNG\r\n\x1a\nchoice"


def test_by_default_the_index_and_blobs_keep_the_make_serve_layout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.asset_index_url == f"sqlite:///{tmp_path.resolve()}/assets/index.sqlite"
    assert settings.asset_blob_dir == tmp_path.resolve() / "assets" / "blobs"
    old = LocalAssetStore(tmp_path / "assets")  # what earlier versions wrote
    info = old.put_bytes("t", PNG, name="old.png")
    old.close()
    store = shared_asset_store(settings)
    assert store is shared_asset_store(settings)  # one per process and configuration
    assert isinstance(store, BlobAssetStore) and isinstance(store.index, SqliteAssetIndex)
    assert store.open_path("t", info.asset_id)[0].read_bytes() == PNG


def test_blob_dir_moves_the_blobs_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_BLOB_DIR", str(tmp_path / "shared" / "blobs"))
    settings = Settings.from_env({"data_dir": tmp_path / "data"})
    assert settings.asset_blob_dir == tmp_path / "shared" / "blobs"
    assert settings.asset_index_url.endswith("/data/assets/index.sqlite")
    outputs = open_output_store(settings, tenant="t")
    stored = outputs.put_bytes(PNG, name="frame.png", kind="image", mime="image/png")
    blob = tmp_path / "shared" / "blobs" / stored.sha256[:2] / stored.sha256
    assert blob.read_bytes() == PNG
    assert (tmp_path / "data" / "assets" / "index.sqlite").is_file()
    assert not (tmp_path / "data" / "assets" / "blobs").exists()


def test_a_postgresql_journal_brings_the_index_into_its_database(
    tmp_path: Path, pg_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, journal=pg_url, blob_dir=tmp_path / "blobs")
    assert settings.asset_index_url == pg_url
    store = shared_asset_store(settings)
    assert isinstance(store, BlobAssetStore) and isinstance(store.index, PostgresAssetIndex)
    info = store.put_bytes("t", PNG, name="a.png")
    assert (tmp_path / "blobs" / info.sha256[:2] / info.sha256).is_file()
    assert not (tmp_path / "assets" / "index.sqlite").exists()
    store.close()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_postgresql_schemes_count(scheme: str) -> None:
    url = f"{scheme}://avatar:pw@db.internal:5432/avatar"
    assert Settings(journal=url).asset_index_url == url

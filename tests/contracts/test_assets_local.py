"""The asset store contract on the single-folder layout: blobs in ``<root>/blobs``, the SQLite
index at ``<root>/index.sqlite`` (what ``make serve`` writes under ``<data_dir>/assets``)."""

import os
from pathlib import Path

import pytest

from assets import AssetNotFound, AssetStore, LocalAssetStore, SqliteAssetIndex, open_asset_store
from tests.contracts.assets import SharedAssetStoreContract


class TestLocalAssetStore(SharedAssetStoreContract):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.root = tmp_path / "assets"

    def create_store(self) -> AssetStore:
        return open_asset_store(self.root)

    def worker_args(self) -> tuple[str, str]:
        return f"file://{self.root}", "-"

    def blob_root(self) -> Path:
        return self.root / "blobs"

    def stored_bytes(self) -> int:
        return sum(
            p.stat().st_size
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith("index.sqlite")
        )


class TestSqliteIndexWithABlobDirectory(SharedAssetStoreContract):
    """The service's configuration on one machine: ``sqlite:///`` index URL + ``blob_dir``."""

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.index = tmp_path / "index" / "index.sqlite"
        self.blobs = tmp_path / "shared" / "blobs"

    def create_store(self) -> AssetStore:
        return open_asset_store(f"sqlite:///{self.index}", blob_dir=self.blobs)

    def worker_args(self) -> tuple[str, str]:
        return f"sqlite:///{self.index}", str(self.blobs)

    def blob_root(self) -> Path:
        return self.blobs

    def stored_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.blobs.rglob("*") if p.is_file())


# Backend-specific: what lives where on disk.


def test_blobs_are_named_by_checksum_and_index_is_wal(tmp_path: Path) -> None:
    store = LocalAssetStore(tmp_path)
    info = store.put_bytes("t", b"\x89PNG\r\n\x1a\nabc", name="a.png")
    assert (tmp_path / "blobs" / info.sha256[:2] / info.sha256).is_file()
    assert (tmp_path / "index.sqlite").is_file()
    assert not any((tmp_path / "blobs" / "tmp").iterdir())
    assert isinstance(store.index, SqliteAssetIndex)
    assert store.index._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_the_service_layout_is_the_single_folder_layout(tmp_path: Path) -> None:
    """``sqlite:///<data_dir>/assets/index.sqlite`` + ``<data_dir>/assets/blobs`` (the service's
    defaults) reads what :class:`LocalAssetStore` wrote before there was a blob directory."""
    old = LocalAssetStore(tmp_path / "assets")
    info = old.put_bytes("t", b"\x89PNG\r\n\x1a\nold", name="old.png")
    old.close()
    (tmp_path / "assets" / "tmp").mkdir()
    stale = tmp_path / "assets" / "tmp" / "up-stale"  # an upload of an older version that died
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    new = open_asset_store(
        f"sqlite:///{tmp_path}/assets/index.sqlite", blob_dir=tmp_path / "assets" / "blobs"
    )
    path, again = new.open_path("t", info.asset_id)
    assert again == info and path.read_bytes() == b"\x89PNG\r\n\x1a\nold"
    assert not stale.exists()
    new.close()


def test_a_blob_replaced_by_a_symlink_pointing_out_is_not_served(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    store = LocalAssetStore(tmp_path / "root")
    info = store.put_bytes("t", b"\x89PNG\r\n\x1a\nabc", name="a.png")
    blob = store.blob_path(info.sha256)
    blob.unlink()
    os.symlink(outside, blob)
    with pytest.raises(AssetNotFound):
        store.open_path("t", info.asset_id)
    store.close()


@pytest.mark.parametrize("url", ["s3://bucket/assets", "mysql://db/assets"])
def test_unknown_url_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="scheme"):
        open_asset_store(url)


@pytest.mark.parametrize("url", ["sqlite:////x/index.sqlite", "postgresql://u@h/db"])
def test_an_index_url_needs_a_blob_directory(url: str) -> None:
    with pytest.raises(ValueError, match="blob"):
        open_asset_store(url)


def test_uploads_left_by_an_older_version_are_swept_on_open(tmp_path: Path) -> None:
    """Before the blob directory had its own ``tmp``, uploads went to ``<root>/tmp/up-*``."""
    LocalAssetStore(tmp_path).close()
    (tmp_path / "tmp").mkdir()
    stale, fresh = tmp_path / "tmp" / "up-stale", tmp_path / "tmp" / "up-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (0, 0))
    LocalAssetStore(tmp_path).close()
    assert not stale.exists() and fresh.exists()

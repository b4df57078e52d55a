import os
from pathlib import Path

import pytest

from assets import AssetStore, LocalAssetStore, open_asset_store
from tests.contracts.assets import SharedAssetStoreContract


class TestLocalAssetStore(SharedAssetStoreContract):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.root = tmp_path / "assets"

    def create_store(self) -> AssetStore:
        return open_asset_store(self.root)

    def store_url(self) -> str:
        return f"file://{self.root}"

    def stored_bytes(self) -> int:
        return sum(
            p.stat().st_size
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith("index.sqlite")
        )


# Backend-specific: what lives where on disk.


def test_blobs_are_named_by_checksum_and_index_is_wal(tmp_path: Path) -> None:
    store = LocalAssetStore(tmp_path)
    info = store.put_bytes("t", b"\x89PNG\r\n\x1a\nabc", name="a.png")
    assert (tmp_path / "blobs" / info.sha256[:2] / info.sha256).is_file()
    assert not any((tmp_path / "tmp").iterdir())
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_blob_replaced_by_a_symlink_pointing_out_is_not_served(tmp_path: Path) -> None:
    from assets import AssetNotFound

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


def test_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        open_asset_store("s3://bucket/assets")


def test_uploads_left_by_a_dead_process_are_swept_on_open(tmp_path: Path) -> None:
    LocalAssetStore(tmp_path).close()
    stale, fresh = tmp_path / "tmp" / "up-stale", tmp_path / "tmp" / "up-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (0, 0))
    LocalAssetStore(tmp_path).close()
    assert not stale.exists() and fresh.exists()

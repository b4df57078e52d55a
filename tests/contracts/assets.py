"""The asset store contract: one abstract suite that every backend's test module subclasses.

Subclasses implement :meth:`AssetStoreContract.create_store` (and :meth:`stored_bytes`, what
the backend holds on disk, to check that refused uploads leave nothing). Stores shared by OS
processes also subclass :class:`SharedAssetStoreContract` and implement :meth:`store_url`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets import (
    AssetNotFound,
    AssetStore,
    AssetTooLarge,
    InvalidAsset,
    UnsafeName,
    UnsupportedMedia,
)
from tests.unit.assets.samples import SAMPLES, face_glb

WORKER = Path(__file__).with_name("assets_worker.py")
PNG, _ = SAMPLES["png"]


class AssetStoreContract(ABC):
    """Promises every asset store keeps."""

    @abstractmethod
    def create_store(self) -> AssetStore: ...

    @abstractmethod
    def stored_bytes(self) -> int:
        """Bytes of files the backend holds (blobs and temporary files, not its index)."""

    @pytest.fixture
    def store(self) -> Iterator[AssetStore]:
        s = self.create_store()
        yield s
        s.close()

    # ---------------------------------------------------------- storing and reading

    def test_put_then_get_and_read_back(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", PNG, name="face.png", mime="image/png")
        assert info.asset_id.startswith("as-")
        assert (info.name, info.kind, info.mime, info.format) == (
            "face.png",
            "image",
            "image/png",
            "png",
        )
        assert info.size == len(PNG)
        assert info.sha256 == hashlib.sha256(PNG).hexdigest()
        assert info.created_at > 0
        assert store.get("t1", info.asset_id) == info
        path, again = store.open_path("t1", info.asset_id)
        assert again == info
        assert path.read_bytes() == PNG

    def test_streamed_upload_hashes_on_the_way(self, store: AssetStore) -> None:
        data = PNG + b"x" * 3_000_000
        with store.begin("t1") as up:
            for i in range(0, len(data), 65536):
                up.write(data[i : i + 65536])
            info = up.commit(name="big.png", mime="image/png")
        assert info.size == len(data)
        assert info.sha256 == hashlib.sha256(data).hexdigest()

    def test_same_bytes_twice_are_two_assets_sharing_one_blob(self, store: AssetStore) -> None:
        a = store.put_bytes("t1", PNG, name="a.png")
        b = store.put_bytes("t1", PNG, name="b.png")
        assert a.asset_id != b.asset_id and a.sha256 == b.sha256
        before = self.stored_bytes()
        store.delete("t1", a.asset_id)
        assert self.stored_bytes() == before  # b still points at the blob
        assert store.open_path("t1", b.asset_id)[0].read_bytes() == PNG
        store.delete("t1", b.asset_id)
        assert self.stored_bytes() == before - len(PNG)

    def test_kind_defaults_from_the_content_and_may_be_narrowed(self, store: AssetStore) -> None:
        assert store.put_bytes("t1", PNG, name="x").kind == "image"
        assert store.put_bytes("t1", PNG, name="x", kind="texture").kind == "texture"
        wav, _ = SAMPLES["wav"]
        assert store.put_bytes("t1", wav, name="x.wav").kind == "audio"

    def test_unknown_content_is_other_under_its_declared_type(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", b"hello", name="notes.txt", mime="text/plain")
        assert (info.kind, info.mime, info.format) == ("other", "text/plain", "")

    def test_names_are_sanitised(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", PNG, name="../../etc/pass\x00wd.png")
        assert info.name == "passwd.png"

    def test_glb_model_metadata_is_recorded(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", face_glb(), name="face.glb")
        assert (info.kind, info.mime, info.format) == ("model", "model/gltf-binary", "glb")
        model = info.meta["model"]
        assert "jawOpen" in model["morph_targets"] and model["arkit"] and model["visemes"]
        assert store.get("t1", info.asset_id).meta == info.meta

    # ---------------------------------------------------------- refusals leave nothing

    def test_too_large_is_refused_and_leaves_nothing(self, store: AssetStore) -> None:
        before = self.stored_bytes()
        up = store.begin("t1", max_bytes=100_000)
        up.write(PNG)
        for _ in range(9):
            up.write(b"y" * 10_000)
        with pytest.raises(AssetTooLarge):
            up.write(b"y" * 10_000)
        assert self.stored_bytes() == before
        assert store.page("t1").total == 0

    @pytest.mark.parametrize(
        ("data", "mime", "kind"),
        [
            (SAMPLES["jpeg"][0], "image/png", None),
            (b"plain text", "image/png", None),
            (PNG, "audio/wav", None),
            (PNG, None, "model"),
            (b"plain text", None, "audio"),
        ],
    )
    def test_content_that_contradicts_its_type_is_refused(
        self, store: AssetStore, data: bytes, mime: str | None, kind: str | None
    ) -> None:
        before = self.stored_bytes()
        with pytest.raises(UnsupportedMedia):
            store.put_bytes("t1", data, name="x", mime=mime, kind=kind)  # type: ignore[arg-type]
        assert self.stored_bytes() == before
        assert store.page("t1").total == 0

    def test_a_broken_gltf_is_invalid(self, store: AssetStore) -> None:
        with pytest.raises(InvalidAsset):
            store.put_bytes("t1", b'{"asset": {"version": "1.0"}}', name="old.gltf")
        assert store.page("t1").total == 0

    def test_internal_writers_keep_their_kind_and_type(self, store: AssetStore) -> None:
        info = store.put_bytes(
            "t1", b"\x00\x01pcm", name="a.pcm", kind="audio", strict=False, mime="audio/L16"
        )
        assert (info.kind, info.mime) == ("audio", "audio/l16")

    # ---------------------------------------------------------- tenants

    def test_tenants_never_see_each_others_assets(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", PNG, name="secret.png")
        with pytest.raises(AssetNotFound):
            store.get("t2", info.asset_id)
        with pytest.raises(AssetNotFound):
            store.open_path("t2", info.asset_id)
        with pytest.raises(AssetNotFound):
            store.find("t2", "secret.png")
        with pytest.raises(AssetNotFound):
            store.delete("t2", info.asset_id)
        assert store.page("t2").total == 0
        assert store.search("t2", "secret") == []
        assert store.get("t1", info.asset_id) == info

    # ---------------------------------------------------------- listing, search, names

    def test_page_is_newest_first_with_kind_filter(self, store: AssetStore) -> None:
        wav, _ = SAMPLES["wav"]
        ids = [store.put_bytes("t1", PNG, name=f"p{i}.png").asset_id for i in range(5)]
        audio = store.put_bytes("t1", wav, name="a.wav")
        page = store.page("t1", limit=3)
        assert page.total == 6 and len(page.items) == 3
        assert page.items[0].asset_id == audio.asset_id
        rest = store.page("t1", offset=3, limit=3)
        assert [i.asset_id for i in page.items[1:] + rest.items] == ids[::-1]
        images = store.page("t1", kind="image")
        assert images.total == 5 and all(i.kind == "image" for i in images.items)

    def test_search_is_case_insensitive_and_literal(self, store: AssetStore) -> None:
        store.put_bytes("t1", PNG, name="Smile_Texture.png")
        store.put_bytes("t1", PNG, name="frown.png")
        store.put_bytes("t1", PNG, name="50 percent.png")
        assert [i.name for i in store.search("t1", "smile")] == ["Smile_Texture.png"]
        assert store.search("t1", "%") == []
        assert [i.name for i in store.search("t1", "_")] == ["Smile_Texture.png"]
        assert [i.name for i in store.search("t1", "e_t")] == ["Smile_Texture.png"]
        assert len(store.search("t1", "png")) == 3
        assert store.search("t1", "png", kind="audio") == []

    def test_find_gives_the_newest_of_a_name(self, store: AssetStore) -> None:
        store.put_bytes("t1", PNG, name="same.png")
        newer = store.put_bytes("t1", PNG + b"2", name="same.png")
        assert store.find("t1", "same.png").asset_id == newer.asset_id
        with pytest.raises(AssetNotFound):
            store.find("t1", "other.png")

    def test_delete_then_gone(self, store: AssetStore) -> None:
        info = store.put_bytes("t1", PNG, name="x.png")
        store.delete("t1", info.asset_id)
        with pytest.raises(AssetNotFound):
            store.get("t1", info.asset_id)
        with pytest.raises(AssetNotFound):
            store.delete("t1", info.asset_id)

    @pytest.mark.parametrize("bad", ["../etc", "as-../../x", "as-" + "g" * 32, "as-\x00"])
    def test_malformed_ids_are_never_paths(self, store: AssetStore, bad: str) -> None:
        with pytest.raises((AssetNotFound, UnsafeName)):
            store.open_path("t1", bad)


class SharedAssetStoreContract(AssetStoreContract):
    """Stores that several OS processes (ingress and renderer replicas) write at once."""

    @abstractmethod
    def store_url(self) -> str: ...

    @pytest.mark.timeout(120)
    def test_several_processes_write_and_delete_at_once(self, store: AssetStore) -> None:
        workers, count = 4, 30
        procs = [
            subprocess.Popen(
                [sys.executable, "-P", str(WORKER), self.store_url(), "t1", str(count)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=100)
            assert p.returncode == 0, err
            results += [json.loads(line) for line in out.splitlines()]
        assert len(results) == workers * count
        kept = [r for r in results if not r["deleted"]]
        assert store.page("t1", limit=1000).total == len(kept)
        for r in kept:
            path, info = store.open_path("t1", r["asset_id"])
            assert info.sha256 == r["sha256"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == r["sha256"]
        for r in results:
            if r["deleted"]:
                with pytest.raises(AssetNotFound):
                    store.get("t1", r["asset_id"])

"""The asset store contract: one abstract suite that every backend's test module subclasses.

Subclasses implement :meth:`AssetStoreContract.create_store` (and :meth:`stored_bytes`, what
the backend holds on disk, to check that refused uploads leave nothing). Stores shared by OS
processes also subclass :class:`SharedAssetStoreContract` and implement :meth:`worker_args`
(how another process opens the same store) and :meth:`blob_root` (its blob directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets import (
    AssetNotFound,
    AssetStore,
    AssetTooLarge,
    BlobDir,
    InvalidAsset,
    StorageQuotaExceeded,
    UnsafeName,
    UnsupportedMedia,
    open_asset_store,
)
from tests.contracts.assets_worker import ROUNDS, same_bytes
from tests.unit.assets.samples import SAMPLES, face_glb

WORKER = Path(__file__).with_name("assets_worker.py")
PNG, _ = SAMPLES["png"]


def stop(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` (if it still runs) and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.wait()


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

    # ---------------------------------------------------------- storage quota

    def test_usage_is_the_sum_of_a_tenants_sizes(self, store: AssetStore) -> None:
        assert store.usage("t1") == 0
        first = store.put_bytes("t1", PNG, name="a.png")
        store.put_bytes("t1", PNG, name="b.png")  # one shared blob, charged per record
        store.put_bytes("t2", b"x" * 1000, name="c.bin")
        assert store.usage("t1") == 2 * len(PNG)
        assert store.usage("t2") == 1000
        store.delete("t1", first.asset_id)
        assert store.usage("t1") == len(PNG)
        assert store.usage("nobody") == 0

    def test_a_write_over_the_tenants_quota_is_refused_and_leaves_nothing(
        self, store: AssetStore
    ) -> None:
        store.quota_bytes = 3 * len(PNG)
        kept = store.put_bytes("t1", PNG, name="a.png")
        store.put_bytes("t1", PNG, name="b.png")
        before = self.stored_bytes()
        up = store.begin("t1")  # a streamed upload is refused as soon as it is over
        up.write(PNG)
        with pytest.raises(StorageQuotaExceeded):
            up.write(b"y" * 10)
        with pytest.raises(StorageQuotaExceeded):  # internal writers too (renders, audio)
            store.put_bytes("t1", PNG + b"y", name="c.bin", strict=False, kind="other")
        assert self.stored_bytes() == before
        assert store.page("t1").total == 2
        assert not store.over_quota("t1")
        store.put_bytes("t1", PNG, name="c.png")  # exactly at the quota is fine
        assert store.over_quota("t1")
        with pytest.raises(StorageQuotaExceeded):
            store.begin("t1").write(b"z")
        assert store.put_bytes("t2", PNG, name="other.png").size == len(PNG)  # its own quota
        store.delete("t1", kept.asset_id)  # deleting makes room
        assert store.put_bytes("t1", PNG, name="d.png").size == len(PNG)

    def test_the_quota_is_checked_again_when_the_record_is_written(self, store: AssetStore) -> None:
        """Two uploads that each fit, started before either is stored: the second to commit is
        refused in the index's write transaction."""
        store.quota_bytes = len(PNG) + 10
        first, second = store.begin("t1"), store.begin("t1")
        first.write(PNG)
        second.write(PNG)
        first.commit(name="a.png")
        with pytest.raises(StorageQuotaExceeded):
            second.commit(name="b.png")
        assert store.usage("t1") == len(PNG)

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

    def test_values_with_nul_bytes_match_nothing(self, store: AssetStore) -> None:
        store.put_bytes("t1", PNG, name="a.png")
        assert store.search("t1", "a\x00") == []
        with pytest.raises(AssetNotFound):
            store.find("t1", "a.png\x00")
        assert store.page("t1\x00").total == 0
        assert store.search("t1\x00", "a") == []

    @pytest.mark.parametrize("bad", ["../etc", "as-../../x", "as-" + "g" * 32, "as-\x00"])
    def test_malformed_ids_are_never_paths(self, store: AssetStore, bad: str) -> None:
        with pytest.raises((AssetNotFound, UnsafeName)):
            store.open_path("t1", bad)


class SharedAssetStoreContract(AssetStoreContract):
    """Stores that several OS processes (ingress and renderer replicas, on several nodes) write
    at once, with blobs in a blob directory."""

    @abstractmethod
    def worker_args(self) -> tuple[str, str]:
        """``(url, blob_dir)`` for :func:`assets.open_asset_store` in another process
        (``blob_dir`` ``"-"``: none)."""

    @abstractmethod
    def blob_root(self) -> Path:
        """The store's blob directory (``<root>/ab/<sha256>``, temporary files in ``tmp``)."""

    def spawn(self, mode: str, arg: str, tenant: str = "t1") -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-P", str(WORKER), mode, *self.worker_args(), tenant, arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def blobs_on_disk(self) -> list[Path]:
        root = self.blob_root()
        return [p for p in root.glob("*/*") if p.is_file() and p.parent.name != "tmp"]

    def temp_files(self) -> list[Path]:
        return list((self.blob_root() / "tmp").iterdir())

    @pytest.mark.timeout(120)
    def test_several_processes_write_and_delete_at_once(self, store: AssetStore) -> None:
        workers, count = 4, 30
        procs = [self.spawn("mixed", str(count)) for _ in range(workers)]
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
        assert self.temp_files() == []

    @pytest.mark.timeout(120)
    def test_processes_storing_the_same_bytes_at_once_share_one_intact_blob(
        self, store: AssetStore, tmp_path: Path
    ) -> None:
        go = tmp_path / "go"
        shas = [hashlib.sha256(same_bytes(r)).hexdigest() for r in range(ROUNDS)]
        blobs = [self.blob_root() / sha[:2] / sha for sha in shas]
        procs = [self.spawn("same", str(go)) for _ in range(3)]
        try:
            for p in procs:  # every one has opened the store: then all start at once
                assert p.stdout is not None
                assert json.loads(p.stdout.readline() or "{}").get("ready"), p
            go.touch()
            # a reader racing the writers: a blob is absent or whole, never partial
            seen = set()
            while any(p.poll() is None for p in procs):
                for sha, blob in zip(shas, blobs, strict=True):
                    try:
                        data = blob.read_bytes()
                    except FileNotFoundError:
                        continue
                    assert hashlib.sha256(data).hexdigest() == sha, "a partial blob was seen"
                    seen.add(sha)
                time.sleep(0.005)
            results = []
            for p in procs:
                out, err = p.communicate(timeout=60)
                assert p.returncode == 0, err
                results += [json.loads(line) for line in out.splitlines()]
        finally:
            for p in procs:
                stop(p)
        assert len(results) == 3 * ROUNDS
        assert len({r["asset_id"] for r in results}) == 3 * ROUNDS
        for r, sha in enumerate(shas):
            assert sorted(x["sha256"] for x in results if x["round"] == r) == [sha] * 3
        assert seen, "the reader never saw a blob"
        assert sorted(self.blobs_on_disk()) == sorted(blobs)
        for sha, blob in zip(shas, blobs, strict=True):
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha
        assert self.temp_files() == []
        assert store.page("t1", limit=100).total == 3 * ROUNDS

    @pytest.mark.timeout(60)
    def test_a_writer_killed_mid_write_leaves_no_blob_only_a_temp_file_the_sweep_removes(
        self, store: AssetStore
    ) -> None:
        proc = self.spawn("hang", "8")
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            started = json.loads(line)
            sha, temp = started["sha256"], Path(started["temp"])
            assert temp.parent == self.blob_root() / "tmp" and temp.is_file()
            # a live writer's temporary file is never swept, however old
            assert BlobDir(self.blob_root()).sweep(min_age_s=0) == 0
            assert temp.is_file()
        finally:
            stop(proc)
        assert not (self.blob_root() / sha[:2] / sha).exists()
        assert self.blobs_on_disk() == []
        assert store.page("t1").total == 0
        assert self.temp_files() == [temp]
        # fresh (under the sweep's minimum age): kept; older: opening the store sweeps it
        assert BlobDir(self.blob_root()).sweep() == 0
        os.utime(temp, (time.time() - 3600, time.time() - 3600))
        url, blob_dir = self.worker_args()
        open_asset_store(url, blob_dir=None if blob_dir == "-" else blob_dir).close()
        assert self.temp_files() == []

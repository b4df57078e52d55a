"""The blob directory on its own: placing, symlinks never followed, sweeping temporary files.

(Writers in several processes, and a writer killed mid-write, are in the store contract:
``tests/contracts/assets.py``.)
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from assets import AssetNotFound, BlobDir, StorageFailure, UnsafeName


def put(blobs: BlobDir, data: bytes) -> Path:
    temp = blobs.temp()
    temp.write(data)
    temp.finish()
    sha = hashlib.sha256(data).hexdigest()
    blobs.place(temp, sha, len(data))
    return blobs.path_of(sha)


def test_a_blob_is_named_by_its_checksum_and_its_temp_file_is_gone(tmp_path: Path) -> None:
    blobs = BlobDir(tmp_path)
    path = put(blobs, b"hello")
    sha = hashlib.sha256(b"hello").hexdigest()
    assert path == tmp_path / sha[:2] / sha and path.read_bytes() == b"hello"
    assert blobs.open_path(sha) == path
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_blob_already_present_is_kept_and_a_damaged_one_replaced(tmp_path: Path) -> None:
    blobs = BlobDir(tmp_path)
    path = put(blobs, b"hello")
    inode = path.stat().st_ino
    put(blobs, b"hello")
    assert path.stat().st_ino == inode  # the same bytes: the new copy was dropped
    path.write_bytes(b"hel")  # truncated (a disk that lied): the next writer repairs it
    put(blobs, b"hello")
    assert path.read_bytes() == b"hello"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_blob_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"secret")
    blobs = BlobDir(tmp_path / "root")
    path = put(blobs, b"hello")
    sha = hashlib.sha256(b"hello").hexdigest()
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(AssetNotFound):
        blobs.open_path(sha)
    put(blobs, b"hello")  # the link is replaced, its target untouched
    assert not path.is_symlink() and path.read_bytes() == b"hello"
    assert outside.read_bytes() == b"secret"
    path.unlink()
    path.symlink_to(outside)
    blobs.remove(sha)  # removes the link only
    assert not path.exists() and outside.read_bytes() == b"secret"


def test_a_fan_out_folder_that_is_a_symlink_is_never_written_or_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    blobs = BlobDir(tmp_path / "root")
    sha = hashlib.sha256(b"hello").hexdigest()
    (blobs.root / sha[:2]).symlink_to(outside, target_is_directory=True)
    temp = blobs.temp()
    temp.write(b"hello")
    temp.finish()
    with pytest.raises(StorageFailure, match="not a directory"):
        blobs.place(temp, sha, 5)
    temp.discard()
    assert list(outside.iterdir()) == []
    (outside / sha).write_bytes(b"hello")  # planted through the link
    with pytest.raises(AssetNotFound):
        blobs.open_path(sha)
    assert list((blobs.root / "tmp").iterdir()) == []


def test_a_temp_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "tmp").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(StorageFailure, match="not a directory"):
        BlobDir(tmp_path / "root")


def test_a_removed_temp_folder_is_made_again(tmp_path: Path) -> None:
    blobs = BlobDir(tmp_path)
    (tmp_path / "tmp").rmdir()
    assert put(blobs, b"hello").read_bytes() == b"hello"


def test_a_discarded_temp_file_is_removed(tmp_path: Path) -> None:
    blobs = BlobDir(tmp_path)
    temp = blobs.temp()
    temp.write(b"partial")
    temp.discard()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_sweep_keeps_this_process_s_live_temp_files(tmp_path: Path) -> None:
    blobs = BlobDir(tmp_path)
    temp = blobs.temp()
    temp.write(b"in flight")
    os.utime(temp.path, (0, 0))
    assert blobs.sweep(min_age_s=0) == 0
    assert BlobDir(tmp_path).sweep(min_age_s=0) == 0  # another BlobDir of the same process
    assert temp.path.exists()
    temp.discard()


def test_the_sweep_removes_unlocked_temp_files_past_their_age_and_stray_links(
    tmp_path: Path,
) -> None:
    blobs = BlobDir(tmp_path)
    dead = tmp_path / "tmp" / "0123456789ab-dead.part"  # another process's, nobody holds it
    dead.write_bytes(b"partial")
    assert blobs.sweep() == 0  # too fresh: its writer may be between its last write and rename
    os.utime(dead, (time.time() - 3600, time.time() - 3600))
    target = tmp_path / "keep-me"
    target.write_bytes(b"x")
    (tmp_path / "tmp" / "link").symlink_to(target)
    assert blobs.sweep() == 2
    assert list((tmp_path / "tmp").iterdir()) == [] and target.read_bytes() == b"x"


@pytest.mark.parametrize("bad", ["../" + "a" * 62, "A" * 64, "a" * 63, ""])
def test_blob_names_are_checked_digests(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafeName):
        BlobDir(tmp_path).path_of(bad)

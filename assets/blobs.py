"""The blob directory: content-addressed files, ``<root>/ab/<sha256>``, shared by every process.

On one machine ``root`` is ``<data_dir>/assets/blobs``; on a cluster it is a directory every
node mounts (``AVATAR_BLOB_DIR``). Several processes on several nodes write it at once, so:

- **Writes are atomic.** Bytes go to a temporary file under ``<root>/tmp`` (same directory tree,
  same filesystem), are fsynced, and the file is renamed to ``<root>/ab/<sha256>``; a reader
  either finds no blob or the whole blob, never a partial one. The parent directory is fsynced
  after the rename so the name survives a crash.
- **Content addressing makes racing writers harmless.** Two writers of the same bytes produce
  the same name and the same content: whichever rename lands last replaces an identical file
  (a reader holding the first keeps its inode). A blob already present with the right size is
  kept and the new temporary file dropped.
- **Nothing outside the root is reached.** Blob names are checked hex digests; a fan-out folder
  or a blob that is a symlink, or that resolves anywhere but its own place under the root, is
  refused (never followed).
- **Temporary files of dead writers are swept.** A writer holds an exclusive ``flock`` on its
  temporary file until the file is renamed or removed; the kernel (or the NFS server, when a
  client node dies) drops the lock with the process. :meth:`BlobDir.sweep` (on open, then
  hourly) removes temporary files whose lock it can take, once they are a few minutes old:
  their writer is gone. Live uploads are never touched.

Which record points at which blob is the index's business (``assets/index.py``); removing a
blob only when no record points at it is the store's (``assets/blobstore.py``), under the
index's per-checksum lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
import uuid
from pathlib import Path

from assets.errors import AssetNotFound, StorageFailure
from assets.names import check_sha256

TEMP_DIR = "tmp"
_SUFFIX = ".part"
# names of this process's temporary files start with it: a process never sweeps its own (they
# are alive while it is, and with POSIX-emulated locks it could not tell)
_PROCESS_TOKEN = uuid.uuid4().hex[:12]
SWEEP_EVERY_S = 3600.0
# an unlocked temporary file is left this long after its last write before it goes: on NFS a
# lock taken with flock is a POSIX lock, which the writer's process drops when it closes any
# other descriptor of the file (reading a model's metadata by path, just before the rename)
SWEEP_MIN_AGE_S = 300.0
_STALE_UNLOCKABLE_S = 86_400.0


class TempBlob:
    """A temporary file being written, locked by this process until placed or discarded."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._file = os.fdopen(fd, "wb")
        self.placed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)

    def finish(self) -> None:
        """Flush and fsync the bytes (the file stays open and locked)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file, dropping its lock."""
        self._file.close()

    def discard(self) -> None:
        """Remove the file unless it was placed (an aborted or failed upload), then close it."""
        if not self.placed:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
        self.close()


class BlobDir:
    """Content-addressed files under ``root``; safe for many processes and nodes at once."""

    def __init__(self, root: Path | str) -> None:
        try:
            Path(root).mkdir(parents=True, exist_ok=True)
            self.root = Path(root).resolve(strict=True)
            self.tmp = self.root / TEMP_DIR
            self.tmp.mkdir(exist_ok=True)
            _check_real_dir(self.tmp)
        except OSError as e:
            raise StorageFailure(f"cannot open the blob directory {root}: {e}") from e
        self._last_sweep = 0.0
        self.sweep()

    def __repr__(self) -> str:
        return f"BlobDir({str(self.root)!r})"

    # ------------------------------------------------------------------ naming

    def path_of(self, sha256: str) -> Path:
        """Where the blob of ``sha256`` lives (whether or not it exists)."""
        sha = check_sha256(sha256)
        return self.root / sha[:2] / sha

    def open_path(self, sha256: str) -> Path:
        """The blob's file, checked to be a regular file at its own place under the root (a
        symlink, or a fan-out folder that is one, is never followed): AssetNotFound otherwise."""
        blob = self.path_of(sha256)
        with contextlib.suppress(OSError):
            real = blob.resolve(strict=True)
            if real == blob and stat.S_ISREG(blob.lstat().st_mode):
                return blob
        raise AssetNotFound("the content of this asset is not available")

    def exists(self, sha256: str) -> bool:
        try:
            self.open_path(sha256)
        except AssetNotFound:
            return False
        return True

    # ------------------------------------------------------------------ writing

    def temp(self) -> TempBlob:
        """A new temporary file under ``<root>/tmp``, created and locked by this process."""
        for _ in range(5):
            path = self.tmp / f"{_PROCESS_TOKEN}-{uuid.uuid4().hex}{_SUFFIX}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            try:
                try:
                    fd = os.open(path, flags, 0o644)
                except FileNotFoundError:  # the folder was removed (by hand): make it again
                    self.tmp.mkdir(exist_ok=True)
                    _check_real_dir(self.tmp)
                    fd = os.open(path, flags, 0o644)
            except OSError as e:
                raise StorageFailure(f"cannot create a temporary file in {self.tmp}: {e}") from e
            try:
                if _try_lock(fd) is False:
                    raise BlockingIOError  # a sweeper holds it for a moment: take another name
                # a sweeper may have removed the file between our create and our lock: only a
                # file still linked under its name once we hold the lock is ours to use
                if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    return TempBlob(path, fd)
            except OSError:
                pass
            os.close(fd)
        raise StorageFailure(f"cannot create a temporary file in {self.tmp} (lost it 5 times)")

    def place(self, temp: TempBlob, sha256: str, size: int) -> None:
        """Move the finished (fsynced) ``temp`` to the blob of ``sha256``, or drop it when a
        regular file of the right ``size`` is already there. Atomic for readers."""
        blob = self.path_of(sha256)
        try:
            with contextlib.suppress(FileExistsError):
                blob.parent.mkdir()
                _fsync_dir(self.root)
            _check_real_dir(blob.parent)
            try:
                st = blob.lstat()
                present = stat.S_ISREG(st.st_mode) and st.st_size == size
            except FileNotFoundError:
                present = False
            if present:
                temp.path.unlink()
            else:
                # replaces a symlink or a damaged file (the link itself, never its target)
                os.replace(temp.path, blob)
                _fsync_dir(blob.parent)
        except OSError as e:
            raise StorageFailure(f"cannot store a blob in {self.root}: {e}") from e
        temp.placed = True
        temp.close()

    def remove(self, sha256: str) -> None:
        """Remove the blob of ``sha256`` (a symlink in its place is removed, never followed)."""
        try:
            self.path_of(sha256).unlink(missing_ok=True)
        except OSError as e:
            raise StorageFailure(f"cannot remove a blob in {self.root}: {e}") from e

    # ------------------------------------------------------------------ sweeping

    def sweep(self, *, min_age_s: float = SWEEP_MIN_AGE_S) -> int:
        """Remove temporary files whose writer is gone (their lock is free) and that were last
        written over ``min_age_s`` ago; the count. On a filesystem without locks, only files
        older than a day go (no live upload is that idle)."""
        self._last_sweep = time.monotonic()
        removed = 0
        try:
            names = os.listdir(self.tmp)
        except OSError:
            return 0
        now = time.time()
        for name in names:
            if name.startswith(_PROCESS_TOKEN):
                continue  # ours: alive by definition
            if _remove_if_abandoned(self.tmp / name, now, min_age_s):
                removed += 1
        return removed

    def maybe_sweep(self) -> None:
        """Sweep when the last sweep is older than an hour (long-lived processes)."""
        if time.monotonic() - self._last_sweep > SWEEP_EVERY_S:
            self.sweep()


def _try_lock(fd: int) -> bool | None:
    """Take the exclusive lock of ``fd`` without waiting: True, False if someone holds it,
    None if this filesystem has no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        raise
    return True


def _remove_if_abandoned(path: Path, now: float, min_age_s: float) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:  # a symlink: not a file of ours; remove the link only
            with contextlib.suppress(OSError):
                path.unlink()
                return True
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        locked = _try_lock(fd)
        age = now - st.st_mtime
        if locked is False or age < (min_age_s if locked else _STALE_UNLOCKABLE_S):
            return False
        if os.stat(path, follow_symlinks=False).st_ino != st.st_ino:
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _check_real_dir(path: Path) -> None:
    """A directory, not a symlink to one (which could point outside the root)."""
    if not stat.S_ISDIR(path.lstat().st_mode):
        raise StorageFailure(f"{path} is not a directory of the blob store (a symlink?)")


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (best effort: not every filesystem
    lets a directory be fsynced)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""An asset writer run as its own OS process by the asset store contract tests.

Usage: ``python -P assets_worker.py MODE URL BLOB_DIR TENANT ARG`` (``BLOB_DIR`` ``-`` for none).
Run with ``-P``: this folder's ``assets.py`` (the contract) must not shadow the package.

- ``mixed COUNT``: stores COUNT small PNG-headed files (every third one with bytes shared by
  all workers, so blobs are written concurrently), deletes every fourth asset it stored, and
  prints one JSON line per asset: ``{"asset_id", "sha256", "deleted"}``.
- ``same GO_FILE``: prints ``{"ready": true}``, waits until GO_FILE exists, then stores the
  same rounds of bytes as every other ``same`` worker (:func:`same_bytes`), printing one JSON
  line per asset.
- ``hang MIB``: begins an upload of :func:`same_bytes` ``(0, MIB)``, writes half of it, prints
  ``{"sha256", "temp"}`` (the full checksum, the temporary file) and waits to be killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

from assets import AssetStore, open_asset_store

PNG = b"\x89PNG\r\n\x1a\n"
ROUNDS = 4
MiB = 1024**2


def same_bytes(round_: int, mib: int = 4) -> bytes:
    """The bytes every ``same`` worker stores in round ``round_`` (large enough for the
    writes of several processes to overlap)."""
    return PNG + random.Random(round_).randbytes(mib * MiB)


def emit(**values: object) -> None:
    print(json.dumps(values), flush=True)


def mixed(store: AssetStore, tenant: str, count: int) -> None:
    for i in range(count):
        body = b"shared" if i % 3 == 0 else f"{os.getpid()}-{i}".encode()
        data = PNG + body * 1000
        info = store.put_bytes(tenant, data, name=f"w{i}.png", mime="image/png")
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        deleted = i % 4 == 3
        if deleted:
            store.delete(tenant, info.asset_id)
        emit(asset_id=info.asset_id, sha256=info.sha256, deleted=deleted)


def same(store: AssetStore, tenant: str, go: Path) -> None:
    emit(ready=True)
    deadline = time.monotonic() + 60
    while not go.exists():
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.005)
    for r in range(ROUNDS):
        info = store.put_bytes(tenant, same_bytes(r), name=f"same{r}.png", mime="image/png")
        emit(asset_id=info.asset_id, sha256=info.sha256, round=r)


def hang(store: AssetStore, tenant: str, mib: int) -> None:
    data = same_bytes(0, mib)
    up = store.begin(tenant)
    up.write(data[: len(data) // 2])
    emit(sha256=hashlib.sha256(data).hexdigest(), temp=str(up.path))
    time.sleep(600)


def main() -> None:
    mode, url, blob_dir, tenant, arg = sys.argv[1:6]
    store = open_asset_store(url, blob_dir=None if blob_dir == "-" else blob_dir)
    if mode == "mixed":
        mixed(store, tenant, int(arg))
    elif mode == "same":
        same(store, tenant, Path(arg))
    elif mode == "hang":
        hang(store, tenant, int(arg))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    store.close()


if __name__ == "__main__":
    main()

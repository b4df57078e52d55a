"""An asset writer run as its own OS process by the asset store contract tests.

Usage: ``python -P assets_worker.py URL TENANT COUNT``. Stores COUNT small PNG-headed files (every
third one with bytes shared by all workers, so blobs are written concurrently), deletes every
fourth asset it stored, and prints one JSON line per asset: ``{"asset_id", "sha256", "deleted"}``.
Run with ``-P``: this folder's ``assets.py`` (the contract) must not shadow the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

from assets import open_asset_store

PNG = b"\x89PNG\r\n\x1a\n"


def main() -> None:
    url, tenant, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_asset_store(url)
    for i in range(count):
        body = b"shared" if i % 3 == 0 else f"{os.getpid()}-{i}".encode()
        data = PNG + body * 1000
        info = store.put_bytes(tenant, data, name=f"w{i}.png", mime="image/png")
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        deleted = i % 4 == 3
        if deleted:
            store.delete(tenant, info.asset_id)
        print(json.dumps({"asset_id": info.asset_id, "sha256": info.sha256, "deleted": deleted}))
    store.close()


if __name__ == "__main__":
    main()

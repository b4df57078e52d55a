from pathlib import Path

import pytest

from events import MemoryJournal, SqliteJournal, open_journal


def test_memory_url() -> None:
    assert isinstance(open_journal("memory://"), MemoryJournal)


def test_sqlite_url_with_options(tmp_path: Path) -> None:
    j = open_journal(f"sqlite:///{tmp_path}/sub/j.db?synchronous=normal&busy_timeout=2")
    assert isinstance(j, SqliteJournal)
    assert j.path == tmp_path / "sub" / "j.db" and j.path.exists()
    assert j.synchronous == "NORMAL" and j.busy_timeout == 2.0
    j.close()


@pytest.mark.parametrize("url", ["sqlite://x.db", "redis://x", "sqlite:///x.db?synchronous=fast"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite|unknown|synchronous"):
        open_journal(url)


# PostgreSQL URLs: parsed without a server (the journal itself is tested in tests/contracts).


def test_postgres_url_options_are_split_from_libpq_ones() -> None:
    from events.postgres import PostgresOptions, split_url

    url, options = split_url(
        "postgres://u:pw@db.example:5433/j?sslmode=require&pool_max=8&host=/run/pg&lock_timeout=2.5"
        "&commit=sync"
    )
    assert url == "postgres://u:pw@db.example:5433/j?sslmode=require&host=/run/pg"
    assert options == PostgresOptions(pool_max=8, lock_timeout=2.5, commit="sync")
    assert split_url("postgresql:///j") == ("postgresql:///j", PostgresOptions())


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@h/j?pool_max=lots",
        "postgresql://u:pw@h/j?pool_max=0",
        "postgresql://u:pw@h/j?pool_min=3&pool_max=2",
        "postgresql://u:pw@h/j?lock_timeout=0",
        "postgresql://u:pw@h/j?commit=later",
    ],
)
def test_bad_postgres_options(url: str) -> None:
    with pytest.raises(ValueError, match=r"pool|timeout|commit") as info:
        open_journal(url)
    assert "pw" not in str(info.value) and "u:***@h" in str(info.value)


def test_redacted_urls_keep_everything_but_the_password() -> None:
    from events.urls import redact_url as redact

    assert redact("postgresql://user:s3cret@host:5432/db?sslmode=require") == (
        "postgresql://user:***@host:5432/db?sslmode=require"
    )
    assert redact("postgresql://user@/db?host=/tmp/s&password=s3cret") == (
        "postgresql://user@/db?host=/tmp/s&password=***"
    )
    assert redact("postgresql:///db") == "postgresql:///db"

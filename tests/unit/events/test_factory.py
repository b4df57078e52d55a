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

import pytest

from events.urls import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@db:5432/j", "postgresql://u:***@db:5432/j"),
        ("postgresql://u:s3cret@db/j?sslmode=require", "postgresql://u:***@db/j?sslmode=require"),
        ("postgres://:pw@[::1]:5432/j", "postgres://:***@[::1]:5432/j"),
        ("postgresql://u@db/j", "postgresql://u@db/j"),
        ("postgresql:///j?host=/tmp/sock", "postgresql:///j?host=/tmp/sock"),
        ("sqlite:////var/lib/avatar/journal.sqlite", "sqlite:////var/lib/avatar/journal.sqlite"),
    ],
)
def test_passwords_never_show(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url) and "pw@" not in redact_url(url)

"""Which Ray the service starts or joins, and which state it refuses to run on many nodes with."""

from __future__ import annotations

import pytest

from serve_app.cluster import LOCAL, cluster_problems, joins_cluster, ray_address, refusal
from serve_app.settings import Settings

PG = "postgresql://avatar:hunter2@db:5432/avatar"


def test_without_an_address_the_service_starts_a_local_ray_of_its_own() -> None:
    settings = Settings.from_env({})
    assert ray_address(settings) == LOCAL == "local"
    assert not joins_cluster(settings)


@pytest.mark.parametrize("address", ["auto", "10.0.0.5:6379"])
def test_an_address_joins_that_cluster(address: str) -> None:
    settings = Settings.from_env({"ray_address": address})
    assert ray_address(settings) == address
    assert joins_cluster(settings)


def test_the_address_comes_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_RAY_ADDRESS", "head:6379")
    assert ray_address(Settings.from_env({})) == "head:6379"
    assert ray_address(Settings.from_env({"ray_address": "auto"})) == "auto"  # the flag wins


def test_one_node_runs_on_anything() -> None:
    assert cluster_problems(Settings.from_env({}), 1) == []
    assert refusal(Settings.from_env({}), 1) is None


def test_many_nodes_with_the_embedded_defaults_are_refused_naming_what_to_set() -> None:
    message = refusal(Settings.from_env({}), 2)
    assert message is not None
    assert message.startswith("refusing to run on 2 Ray nodes")
    assert "AVATAR_JOURNAL=postgresql://" in message
    assert "asset index" in message
    assert "AVATAR_BLOB_DIR" in message and "AVATAR_BLOB_DIR_SHARED=true" in message


def test_a_postgresql_journal_moves_the_index_but_the_blobs_must_be_declared_shared() -> None:
    problems = cluster_problems(Settings.from_env({"journal": PG}), 3)
    assert len(problems) == 1 and "AVATAR_BLOB_DIR_SHARED" in problems[0]


def test_postgresql_and_a_shared_blob_dir_run_on_many_nodes() -> None:
    settings = Settings.from_env({"journal": PG, "blob_dir": "/mnt/blobs", "blob_dir_shared": True})
    assert cluster_problems(settings, 5) == []


def test_the_refusal_never_shows_the_journal_password() -> None:
    settings = Settings.from_env({"journal": "sqlite:////var/lib/avatar/j.sqlite"})
    message = refusal(settings, 2)
    assert message is not None and "sqlite:////var/lib/avatar/j.sqlite" in message
    shared_blobs_only = refusal(Settings.from_env({"journal": PG}), 2)
    assert shared_blobs_only is not None and "hunter2" not in shared_blobs_only

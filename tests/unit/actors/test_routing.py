"""Hosted routing: an id goes to the same shard from every process, whenever it started."""

from __future__ import annotations

import os
import subprocess
import sys

from actors.config import EntityConfig
from actors.directory import (
    HostedDirectory,
    host_index,
    make_directory,
    shard_node,
    shard_placement,
)
from actors.remote import ENTITY_OPTIONS, HOST_OPTIONS

CONFIG = EntityConfig(journal_url="sqlite:////tmp/unused.sqlite")
IDS = [f"a{i}" for i in range(8)]
PINNED = [3, 2, 3, 0, 3, 2, 3, 3]  # host_index("avatar", "default", a<i>, 4): never changes


def test_the_shard_of_an_id_is_pinned() -> None:
    assert [host_index("avatar", "default", a, 4) for a in IDS] == PINNED


def test_another_process_with_another_hash_seed_picks_the_same_shards() -> None:
    code = (
        "from actors.directory import host_index;"
        f"print([host_index('avatar', 'default', a, 4) for a in {IDS!r}])"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert out.strip() == repr(PINNED)


def test_the_number_of_shards_comes_from_the_settings_not_from_the_nodes() -> None:
    directory = make_directory(CONFIG, "hosted", host_shards=6)  # no Ray running: not asked
    assert isinstance(directory, HostedDirectory) and directory.hosts == 6
    assert {host_index("avatar", "t", f"x{i}", 6) for i in range(200)} == set(range(6))


def test_entity_actors_spread_over_nodes_and_come_back_after_a_loss() -> None:
    for options in (ENTITY_OPTIONS, HOST_OPTIONS):
        assert options["scheduling_strategy"] == "SPREAD"
        assert options["lifetime"] == "detached"  # the name survives restarts
        assert options["max_task_retries"] == 0  # retries are the directory's, with keys
    assert HOST_OPTIONS["max_restarts"] == 0  # the directory makes a dead shard anew


def test_shards_are_created_round_robin_over_the_alive_nodes_in_a_fixed_order() -> None:
    nodes = ["n2", "n1", "n3"]
    assert [shard_node(i, nodes) for i in range(4)] == ["n1", "n2", "n3", "n1"]
    assert [shard_node(i, list(reversed(nodes))) for i in range(4)] == ["n1", "n2", "n3", "n1"]
    assert shard_node(0, []) is None  # no node list: Ray's SPREAD decides


def test_a_shard_is_pinned_to_its_node_so_a_lost_node_makes_it_anew_elsewhere() -> None:
    a, b = "a" * 56, "b" * 56  # node ids are hex
    strategy = shard_placement(1, [b, a])
    assert (strategy.node_id, strategy.soft) == (b, False)  # Ray ignored soft affinity
    assert shard_placement(0, []) == "SPREAD"

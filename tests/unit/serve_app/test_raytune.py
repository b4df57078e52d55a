"""The HAProxy wrapper really rebinds wildcard listeners to loopback (runs the script)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from serve_app.raytune import server_timeout_s, write_loopback_wrapper

CONFIG = """frontend prometheus
    bind :9101
frontend http_frontend
    bind 127.0.0.1:8000
listen stats
  bind *:8404
  stats enable
"""


def test_wrapper_rebinds_wildcards_and_execs_the_binary(tmp_path: Path) -> None:
    fake = tmp_path / "fake-haproxy"
    fake.write_text('#!/bin/sh\necho "ran with: $*"\n')
    fake.chmod(0o755)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(CONFIG)
    wrapper = write_loopback_wrapper(tmp_path / "wrapper", str(fake))
    out = subprocess.run(
        [str(wrapper), "-db", "-f", str(cfg), "-sf", "12"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    assert out.strip() == f"ran with: -db -f {cfg} -sf 12"
    binds = [line.strip() for line in cfg.read_text().splitlines() if "bind" in line]
    assert binds == ["bind 127.0.0.1:9101", "bind 127.0.0.1:8000", "bind 127.0.0.1:8404"]


def test_port_or_free_moves_off_a_taken_port() -> None:
    import socket

    from serve_app.ports import port_or_free

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        other = port_or_free(taken)
        assert other != taken and other > 0
    assert port_or_free(other) == other  # free: kept


def test_free_ports_never_come_from_the_ephemeral_range() -> None:
    """The kernel hands ephemeral ports to any process binding port 0 or connecting out; a
    port we choose before Ray starts its processes must not be one of them."""
    from serve_app.ports import ephemeral_range, free_port, is_free

    low, high = ephemeral_range()
    ports = {free_port() for _ in range(50)}
    assert all(not low <= p <= high for p in ports)
    assert all(is_free(p) for p in ports)
    assert len(ports) > 1, "ports are drawn at random: two runs rarely collide"


def test_a_taken_quiet_port_is_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from serve_app import ports

    monkeypatch.setattr(ports, "ephemeral_range", lambda: (1, 2))
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        monkeypatch.setattr(ports, "QUIET_RANGE", (taken, taken))
        with pytest.raises(OSError, match="no free port"):
            ports.free_port()
    assert ports.free_port() == taken


def test_port_blocks_are_free_and_apart_from_single_ports() -> None:
    from serve_app.ports import BLOCK_RANGE, QUIET_RANGE, free_block, is_free

    start = free_block(200)
    assert BLOCK_RANGE[0] <= start and start + 199 <= BLOCK_RANGE[1]
    assert all(is_free(p) for p in range(start, start + 200))
    assert QUIET_RANGE[1] < BLOCK_RANGE[0]  # a single port never falls inside a block


def test_haproxy_waits_longer_than_the_longest_synchronous_render() -> None:
    """Else HAProxy cuts a long render first and the client gets a bare 500 (found by fuzzing:
    a 12-minute video asked for synchronously) instead of the app's 503 ``render_timeout``."""
    assert server_timeout_s(300.0) == 330
    assert server_timeout_s(900.5) == 931
    assert server_timeout_s(10.0) == 120  # long polls and streams still have their 120 s

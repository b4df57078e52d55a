"""Ray Serve settings we apply before Ray starts (CLI, tests, benchmarks use the same).

``RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0`` runs the ingress's handlers on the replica's own
event loop: awaiting an actor call then does not hop between two loops (measured here: command
p50 10.4 -> 8.7 ms over HTTP). Our handlers never block the loop (journal reads go to threads).
An explicit value in the environment wins.
"""

from __future__ import annotations

import os

SERVE_ENV_DEFAULTS: dict[str, str] = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
}


def apply_serve_env_defaults() -> None:
    """Set :data:`SERVE_ENV_DEFAULTS` in this process's environment unless already set."""
    for key, value in SERVE_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)

"""For tests that run a Ray cluster of their own in a subprocess (the soak, the node loss).

The test session's shared cluster put its settings into this process's environment before Ray
started (``apply_high_throughput``: HAProxy's stats and metrics ports, Serve's fallback and
direct-ingress ports, ...). A subprocess that inherits them would start its own HAProxy on
those very ports and fail to bind ("Address already in use"), so it gets none of them.
"""

from __future__ import annotations

import os


def env_without_our_cluster() -> dict[str, str]:
    """This process's environment without any ``RAY_*`` or ``AVATAR_*`` variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AVATAR_"))}

"""Which Ray the service runs on, and whether its state can be seen from every node of it.

``avatar-service serve`` joins a cluster only when told (``--address`` / ``AVATAR_RAY_ADDRESS``);
otherwise it starts a Ray of its own, even if a ``ray start`` cluster (alive or dead) is recorded
on this machine. On more than one node, everything an entity, a job or a request touches must be
visible from every node: a SQLite journal or asset index, or a blob folder not declared shared,
is refused with a message that names what to set. The check runs when the service starts (CLI)
and when the ingress starts (``serve deploy`` included).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from serve_app.settings import ENV_PREFIX, Settings

LOCAL = "local"
"""``ray.init``'s address for "start a new local Ray, whatever else runs on this machine"."""


class ClusterRefused(RuntimeError):
    """The service would run on several nodes with state only one node sees."""


def ray_address(settings: Settings) -> str:
    """The address to give ``ray.init``: the configured cluster, else a fresh local Ray (a plain
    ``ray.init()`` would join the newest cluster recorded on the machine, even a dead one)."""
    address = (settings.ray_address or "").strip()
    return address or LOCAL


def joins_cluster(settings: Settings) -> bool:
    return ray_address(settings) != LOCAL


def _is_shared_url(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql")


def cluster_problems(settings: Settings, nodes: int) -> list[str]:
    """What keeps ``settings`` from running on ``nodes`` alive Ray nodes (empty: nothing)."""
    if nodes <= 1:
        return []
    problems = []
    if not _is_shared_url(settings.journal_url):
        problems.append(
            f"the journal ({settings.journal_shown}) is a SQLite file only this node sees: set "
            f"{ENV_PREFIX}JOURNAL=postgresql://user:password@host:5432/db (or --journal)"
        )
    if not _is_shared_url(settings.asset_index_url):
        problems.append(
            "the asset index is a SQLite file only this node sees: it moves to the journal's "
            "PostgreSQL database once the journal is PostgreSQL"
        )
    if not settings.blob_dir_shared:
        problems.append(
            f"the asset blobs ({settings.asset_blob_dir}) are a local folder: set "
            f"{ENV_PREFIX}BLOB_DIR to a directory every node mounts and "
            f"{ENV_PREFIX}BLOB_DIR_SHARED=true"
        )
    return problems


def refusal(settings: Settings, nodes: int) -> str | None:
    """The whole message for :func:`cluster_problems`, or ``None`` when there are none."""
    problems = cluster_problems(settings, nodes)
    if not problems:
        return None
    listed = "; ".join(problems)
    return f"refusing to run on {nodes} Ray nodes with state only one node sees: {listed}"


def alive_nodes() -> int:
    """Alive nodes of the Ray this process is connected to."""
    import ray  # noqa: PLC0415 - callers that only decide need no Ray

    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return sum(1 for n in nodes if n.get("Alive"))


def check_cluster(settings: Settings) -> None:
    """Raise :class:`ClusterRefused` when the connected Ray has more nodes than the settings'
    state can serve (called once Ray is up: CLI, ingress)."""
    message = refusal(settings, alive_nodes())
    if message:
        raise ClusterRefused(message)

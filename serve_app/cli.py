"""``avatar-service``: run the service on a local Ray (dashboard off) with embedded defaults,
or on a running Ray cluster when told (``--address``); or talk to a running service (speak,
render, video, replay, watch, sessions, assets, status)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

from serve_app import client_cli, keys_cli

log = logging.getLogger("avatar-service")


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `avatar-service --help` answers without loading Ray.
    import ray  # noqa: PLC0415
    from ray import serve  # noqa: PLC0415

    from actors.naming import NAMESPACE  # noqa: PLC0415
    from serve_app.app import AppArgs, build_app, resolve_settings  # noqa: PLC0415
    from serve_app.auth.mode import resolve_auth  # noqa: PLC0415
    from serve_app.cluster import (  # noqa: PLC0415
        ClusterRefused,
        check_cluster,
        joins_cluster,
        ray_address,
    )
    from serve_app.raytune import (  # noqa: PLC0415
        SERVE_ENV_DEFAULTS,
        apply_high_throughput,
        apply_serve_env_defaults,
    )

    overrides: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "http_mode": args.http_mode,
        "placement": args.placement,
        "ray_address": args.address,
    }
    app_args = AppArgs(
        data_dir=args.data_dir,
        journal=args.journal,
        settings={k: v for k, v in overrides.items() if v is not None},
    )
    try:
        settings = resolve_settings(app_args)
    except ValueError as e:
        print(f"avatar-service: {e}", file=sys.stderr)
        return 2
    problem = journal_problem(settings.journal_url)
    if problem:
        print(f"avatar-service: {problem}", file=sys.stderr)
        return 2
    try:
        settings = resolve_auth(settings)  # no keys: loopback only (before Ray starts)
    except ValueError as e:
        print(f"avatar-service: {e}", file=sys.stderr)
        return 2
    apply_serve_env_defaults()  # before Ray starts: its processes inherit the environment
    address = ray_address(settings)
    joining = joins_cluster(settings)
    if settings.http_mode == "haproxy" and not joining:
        # a cluster's nodes take Serve's HTTP mode from their own `ray start` environment
        apply_high_throughput(
            settings.data_dir / "haproxy", longest_request_s=settings.render_timeout_s
        )
    t = time.perf_counter()
    if joining:
        log.info("joining the Ray cluster at %s...", address)
    else:
        log.info("starting local Ray (dashboard off)...")
    ray.init(
        address=address,
        include_dashboard=False,
        namespace=NAMESPACE,
        logging_level=logging.WARNING,
        configure_logging=True,
        # on a cluster, the processes Serve starts for this app get the same Serve variables
        runtime_env={"env_vars": dict(SERVE_ENV_DEFAULTS)} if joining else None,
    )
    try:
        check_cluster(settings)
    except ClusterRefused as e:
        print(f"avatar-service: {e}", file=sys.stderr)
        ray.shutdown()
        return 2
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(build_app(app_args), name="avatar-service", route_prefix="/", blocking=False)
    log.info(
        "Avatar Service on http://%s:%d (console: /, docs: /docs) in %.1f s; journal %s",
        settings.host,
        settings.port,
        time.perf_counter() - t,
        settings.journal_shown,
    )
    base = f"http://{settings.host}:{settings.port}"
    print(f"Avatar Service ready: console {base}/ , API docs {base}/docs", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("shutting down...")
    if joining:  # the cluster and its Serve are not ours: take only our app away
        serve.delete("avatar-service")
    else:
        serve.shutdown()  # type: ignore[no-untyped-call]
    ray.shutdown()
    return 0


def journal_problem(url: str) -> str | None:
    """Why the journal at ``url`` cannot be used, or ``None``: checked once before Ray starts,
    so a server that is down is a clear message and a non-zero exit, not a hang."""
    from events import StorageError, open_journal  # noqa: PLC0415
    from events.urls import redact_url  # noqa: PLC0415

    try:
        open_journal(url).close()
    except (StorageError, ValueError) as e:
        shown = redact_url(url)
        detail = str(e).replace(url, shown)
        return f"cannot open the journal at {shown}: {detail}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="avatar-service",
        description=__doc__,
        epilog=client_cli.MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the service (local Ray + Serve, SQLite journal)")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument(
        "--address",
        default=None,
        help="join this Ray cluster: 'auto' (the one `ray start` made here) or a GCS "
        "host:port (default: start a local Ray of its own; env AVATAR_RAY_ADDRESS)",
    )
    p.add_argument("--data-dir", default=None, help="data directory (default ./data)")
    p.add_argument("--journal", default=None, help="journal URL (default SQLite in data dir)")
    p.add_argument(
        "--placement",
        choices=["dedicated", "hosted"],
        default=None,
        help="one actor per avatar/session, or many per host actor",
    )
    p.add_argument(
        "--http-mode",
        choices=["proxy", "haproxy"],
        default=None,
        help="Serve's high-throughput HAProxy mode (default) or its Python HTTP proxy",
    )
    client_cli.register(sub)  # speak, render, video, replay, watch, sessions, assets, status
    keys_cli.register(sub)
    args = parser.parse_args(argv)
    if args.command in client_cli.COMMANDS:
        return client_cli.run(args)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return _serve(args)
    if args.command == "keys":
        return keys_cli.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""``avatar-service keys create|list|revoke``: API keys in the journal, no service needed.

The journal is ``--journal``, else ``AVATAR_JOURNAL``, else the SQLite journal in the data
directory (``--data-dir`` / ``AVATAR_DATA_DIR`` / ``./data``): the one ``serve`` uses. A running
service sees new keys and revocations within ``key_refresh_s`` (0.5 s).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add the ``keys`` command to the CLI's subparsers."""
    p = sub.add_parser("keys", help="issue, list and revoke API keys (per tenant)")
    journal_help = "journal URL (default: as serve)"
    data_help = "data directory (default ./data)"
    p.add_argument("--journal", default=None, help=journal_help)
    p.add_argument("--data-dir", default=None, help=data_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    # the same two options after the action too (`keys create --data-dir d ...`); SUPPRESS keeps
    # a value given before the action when they are not repeated after it
    common.add_argument("--journal", default=argparse.SUPPRESS, help=journal_help)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_help)
    actions = p.add_subparsers(dest="keys_command", required=True)
    c = actions.add_parser("create", parents=[common], help="issue a key (shown once)")
    c.add_argument("--tenant", required=True)
    c.add_argument("--name", default="", help="a label for lists")
    ls = actions.add_parser("list", parents=[common], help="keys by id and prefix")
    ls.add_argument("--tenant", default=None)
    r = actions.add_parser("revoke", parents=[common], help="revoke a key by id")
    r.add_argument("key_id")
    r.add_argument("--tenant", default=None, help="only if the key is this tenant's")


def run(args: argparse.Namespace) -> int:
    from events import open_journal  # noqa: PLC0415 - `--help` stays fast
    from serve_app.app import AppArgs, resolve_settings  # noqa: PLC0415
    from serve_app.auth.keys import issue_key, list_keys, revoke_key  # noqa: PLC0415

    try:
        settings = resolve_settings(AppArgs(data_dir=args.data_dir, journal=args.journal))
        journal = open_journal(settings.journal_url)
    except ValueError as e:
        print(f"avatar-service: {e}", file=sys.stderr)
        return 2
    try:
        if args.keys_command == "create":
            try:
                record, key = issue_key(journal, args.tenant, args.name)
            except ValueError as e:
                print(f"avatar-service: {e}", file=sys.stderr)
                return 2
            shown = {**record.model_dump(exclude={"digest"}), "key": key}
            if args.json:
                print(json.dumps(shown))
            else:
                print(f"{record.key_id} tenant={record.tenant}\n{key}")
                print("(the key is shown once; only its hash is kept)", file=sys.stderr)
            return 0
        if args.keys_command == "list":
            keys = list_keys(journal, args.tenant)
            if args.json:
                print(json.dumps([k.model_dump(exclude={"digest"}) for k in keys]))
            for k in [] if args.json else keys:
                state = "revoked" if k.revoked_at is not None else "active"
                print(f"{k.key_id}\t{k.tenant}\t{k.prefix}...\t{state}\t{k.name}")
            return 0
        revoked = revoke_key(journal, args.key_id, args.tenant)
        if revoked is None:
            print(f"avatar-service: no key {args.key_id!r}", file=sys.stderr)
            return 1
        print(f"{revoked.key_id} revoked")
        return 0
    finally:
        journal.close()

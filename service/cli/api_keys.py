"""``api-keys create``: a key for the platform, staff or an administrator."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from service.cli.common import settings_from_args
from service.registry.api_keys import create_api_key
from service.registry.db import open_registry, transaction


def cmd_api_keys_create(args: argparse.Namespace) -> int:
    sessions = open_registry(settings_from_args(args))
    with transaction(sessions) as session:
        key = create_api_key(session, args.role, datetime.now(UTC), label=args.label)
    print(f"role: {args.role}", file=sys.stderr)
    print("Keep this key secret; it is not stored and cannot be shown again.", file=sys.stderr)
    print(key)
    return 0


def add_commands(commands, with_data_dir) -> None:
    keys = commands.add_parser("api-keys", help="manage API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = with_data_dir(actions.add_parser("create", help="create a key; prints it as the last line"))
    create.add_argument("--role", required=True, choices=["platform", "staff", "admin"])
    create.add_argument("--label", default=None)
    create.set_defaults(func=cmd_api_keys_create)

"""``keys published`` and ``keys invalidate KID --after DATE``: the keys that signed offline
payloads (GET /.well-known/zc/keys).

Rotation is ``orgs update --code … --key-pem …``: the new key signs from then on and is
published with its first certificate; the old one stays published, so the certificates
it signed still verify. A key that must no longer be trusted (lost, compromised) is
invalidated after a date: certificates issued before it stay valid, those dated on or
after it are refused by every verifier that has the new key list.
"""

from __future__ import annotations

import argparse
from datetime import date

from service.cli.common import CliError, print_table, settings_from_args


def cmd_keys_published(args: argparse.Namespace) -> int:
    from service.registry.db import open_registry
    from service.registry.published_keys import list_keys

    with open_registry(settings_from_args(args))() as session:
        rows = [
            (
                k.kid,
                k.alg,
                k.org_code,
                k.role,
                f"{k.valid_from:%Y-%m-%d}–{k.valid_to:%Y-%m-%d}",
                f"invalid from {k.invalidated_after}" if k.invalidated_after else "in force",
            )
            for k in list_keys(session)
        ]
    if not rows:
        print("no key has signed an offline payload yet")
        return 0
    print_table([("kid", "alg", "organisation", "role", "valid", "state"), *rows])
    return 0


def cmd_keys_invalidate(args: argparse.Namespace) -> int:
    from service.registry.db import open_registry, transaction
    from service.registry.published_keys import invalidate_key

    try:
        after = date.fromisoformat(args.after)
    except ValueError:
        raise CliError(f"--after {args.after!r}: 日期格式应为 YYYY-MM-DD") from None
    with transaction(open_registry(settings_from_args(args))) as session:
        row = invalidate_key(session, args.kid, after)
        if row is None:
            raise CliError(f"没有 kid 为 {args.kid} 的已发布密钥 (python -m service keys published)")
    print(f"key {args.kid} ({row.org_code}) invalid for certificates issued on or after {after}")
    return 0


def add_key_commands(key_actions, with_data_dir) -> None:
    published = with_data_dir(key_actions.add_parser("published", help="keys that signed offline QR payloads"))
    published.set_defaults(func=cmd_keys_published)
    invalidate = with_data_dir(
        key_actions.add_parser("invalidate", help="stop trusting a payload key for certificates from a date on")
    )
    invalidate.add_argument("kid")
    invalidate.add_argument("--after", required=True, help="YYYY-MM-DD: certificates issued on or after it are invalid")
    invalidate.set_defaults(func=cmd_keys_invalidate)

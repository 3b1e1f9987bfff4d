"""Command line: ``python -m service serve|api-keys|orgs|keys ...``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from service.cli_orgs import CliError, run_guarded
from service.cli_orgs import add_commands as add_org_commands

DEFAULT_DATA_DIR = Path("data")


def settings_from_args(args: argparse.Namespace):
    from service.config import Settings

    overrides = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def cmd_doctor(args: argparse.Namespace) -> int:
    from service.checks import run_checks

    checks = run_checks(settings_from_args(args))
    for check in checks:
        print(check.line())
    return 1 if any(c.verdict == "MISSING" for c in checks) else 0


def check_before_serving(settings) -> None:
    """The doctor's checks, at start-up: refuse to start when documents would come out
    wrong; say loudly when they would only come out slowly."""
    from service.checks import OK, run_checks

    checks = run_checks(settings)
    for check in checks:
        level = logging.INFO if check.verdict == OK else logging.ERROR
        logging.getLogger("service.checks").log(level, "%s", check.line())
    fatal = [c for c in checks if c.fatal]
    if fatal:
        raise CliError("cannot serve: " + "; ".join(f"{c.name}: {c.detail}" for c in fatal)
                       + " (python -m service doctor shows every check)")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.runtime import tune_gc

    tune_gc()
    settings = settings_from_args(args)
    check_before_serving(settings)
    if args.public_base_url is None and settings.public_base_url == "http://127.0.0.1:8000":
        settings = settings.model_copy(update={"public_base_url": f"http://{args.host}:{args.port}"})
    elif args.public_base_url:
        settings = settings.model_copy(update={"public_base_url": args.public_base_url})
    if args.workers <= 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
        return 0
    # Several processes: migrate the registry and create the development keys
    # once, here, so that the workers do not race to do it.
    from service.app import build_services

    build_services(settings).close()
    os.environ.update({"ZC_DATA_DIR": str(settings.data_dir.resolve()), "ZC_PUBLIC_BASE_URL": settings.public_base_url})
    uvicorn.run("service.app:create_app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info")
    return 0


def cmd_api_keys_create(args: argparse.Namespace) -> int:
    from service.app import build_registry
    from service.registry.api_keys import create_api_key
    from service.registry.db import transaction

    sessions = build_registry(settings_from_args(args))
    with transaction(sessions) as session:
        key = create_api_key(session, args.role, datetime.now(timezone.utc), label=args.label)
    print(f"role: {args.role}", file=sys.stderr)
    print("Keep this key secret; it is not stored and cannot be shown again.", file=sys.stderr)
    print(key)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="职称文书与电子证书服务")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", type=Path, default=None,
                       help=f"where the service keeps everything it writes (default: $ZC_DATA_DIR or ./{DEFAULT_DATA_DIR})")
        return p

    serve = with_data_dir(commands.add_parser("serve", help="run the HTTP service"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public-base-url", default=None, help="base of the verification URLs in QR codes")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (one per core suits the scan pages)")
    serve.set_defaults(func=cmd_serve)

    keys = commands.add_parser("api-keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    create = with_data_dir(key_commands.add_parser("create", help="create a key; prints it as the last line"))
    create.add_argument("--role", required=True, choices=["platform", "staff", "admin"])
    create.add_argument("--label", default=None)
    create.set_defaults(func=cmd_api_keys_create)
    add_org_commands(commands, with_data_dir)

    doctor = with_data_dir(commands.add_parser(
        "doctor", help="check what the service needs: libraries, fonts, database, keys, TSA; exit 1 if anything is missing"))
    doctor.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # one line per migration step on every command drowns the one line that matters
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from service.runtime import quiet_libraries

    quiet_libraries()
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)

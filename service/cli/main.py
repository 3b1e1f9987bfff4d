"""``python -m service serve|worker|api-keys|orgs|keys|doctor ...``: the parser and the entry point."""

from __future__ import annotations

import argparse
import logging
import os

from service.cli import api_keys, batch, doctor, orgs, serve, verify_qr
from service.cli.common import run_guarded, with_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="职称文书与电子证书服务")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (serve, api_keys, orgs, batch, doctor, verify_qr):
        module.add_commands(commands, with_data_dir)
    return parser


# The long-running commands write JSON lines for the log collector; the others talk to a
# person. ZC_LOG_FORMAT chooses for all of them.
JSON_LOG_COMMANDS = {"serve", "worker"}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_format_of(command: str) -> str:
    chosen = os.environ.get("ZC_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    return "json" if command in JSON_LOG_COMMANDS else "text"


def main(argv: list[str] | None = None) -> int:
    from service.observability.logs import configure_logging
    from service.runtime import quiet_libraries

    args = build_parser().parse_args(argv)
    # On the arguments, for the settings: the worker processes log alike.
    args.log_format = log_format_of(args.command)
    level = os.environ.get("ZC_LOG_LEVEL", "INFO").strip().upper()
    if not logging.root.handlers:  # as basicConfig: a host that set up logging (pytest) keeps its own
        configure_logging(args.log_format, level if level in LEVELS else "INFO")
    quiet_libraries()
    return run_guarded(args.func, args)

"""``python -m service serve|worker|api-keys|orgs|keys|doctor ...``: the parser and the entry point."""

from __future__ import annotations

import argparse
import logging

from service.cli import api_keys, batch, doctor, orgs, serve
from service.cli.common import run_guarded, with_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="职称文书与电子证书服务")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (serve, api_keys, orgs, batch, doctor):
        module.add_commands(commands, with_data_dir)
    return parser


def main(argv: list[str] | None = None) -> int:
    from service.runtime import quiet_libraries

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # one line per migration step on every command drowns the one line that matters
    logging.getLogger("alembic").setLevel(logging.WARNING)
    quiet_libraries()
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)

"""``doctor``: what the service needs from this machine, one line per check."""

from __future__ import annotations

import argparse

from service.cli.common import settings_from_args


def cmd_doctor(args: argparse.Namespace) -> int:
    from service.checks import MISSING, run_checks  # renders a probe: loads WeasyPrint

    checks = run_checks(settings_from_args(args))
    for check in checks:
        print(check.line())
    return 1 if any(c.verdict == MISSING for c in checks) else 0


def add_commands(commands, with_data_dir) -> None:
    doctor = with_data_dir(
        commands.add_parser(
            "doctor", help="check libraries, fonts, database, keys and TSA; exit 1 if anything is missing"
        )
    )
    doctor.set_defaults(func=cmd_doctor)

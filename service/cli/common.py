"""What every command shares: settings from the arguments, the registry, the one-line
error, tables for the terminal.

The commands import their heavy libraries (WeasyPrint, pyHanko, uvicorn: about a second
between them) inside the command functions, so that ``api-keys create`` or ``orgs list``
answer at once.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from service.config import Settings

EXIT_USAGE = 2
DEFAULT_DATA_DIR = Path("data")


class CliError(Exception):
    """Bad input or configuration: printed as one line, exit code 2."""


def with_data_dir(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where the service keeps everything it writes (default: $ZC_DATA_DIR or ./{DEFAULT_DATA_DIR})",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    if getattr(args, "log_format", None) is not None:  # chosen by the command (service.cli.main)
        overrides["log_format"] = args.log_format
    return Settings(**overrides)


def run_guarded(func, args: argparse.Namespace) -> int:
    """Run a command; expected failures become one line on stderr and exit code 2."""
    from service.certificates.identifiers import PatternError
    from service.documents.seal_image import SealImageError
    from service.errors import ServiceError
    from service.profiles.load import ProfileError
    from service.sealing.startup import StartupError
    from service.signing.errors import SigningError

    try:
        return func(args)
    except (CliError, ServiceError, SigningError, SealImageError, StartupError, PatternError, ProfileError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_USAGE


def print_table(rows: Sequence[tuple[str, ...]], indent: str = "") -> None:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(indent + "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

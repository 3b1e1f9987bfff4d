"""Run the benchmarks: ``python -m bench [name ...]`` (default: all)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "render",
    "seal",
    "issue",
    "verify",
    "concurrency",
    "batch",
    "season",
    "install",
    "hostile",
    "print",
    "words",
    "sm2",
    "ofd",
    "batch_ofd",
]


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        importlib.import_module(f"bench.bench_{name}").main()
    return 0


raise SystemExit(main(sys.argv[1:]))

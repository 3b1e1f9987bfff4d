"""Writes tests/slow-tests.txt from a full run's test-durations.json.

The fast lane (`pytest -m "not slow"`) leaves out every test that took longer than the
threshold in the last full run, besides the modules conftest.SLOW_MODULES names and the
PostgreSQL twin of each registry test (its SQLite twin stays in the lane). Run after a full
run on a quiet machine:  .venv/bin/python tests/slow_lane.py [threshold-seconds]
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(threshold: float = 1.5) -> None:
    durations = json.loads((ROOT / "test-durations.json").read_text())["tests"]
    slow = sorted(node for node, seconds in durations.items() if seconds > threshold and "[postgresql" not in node)
    header = f"# tests over {threshold} s in a full run (tests/slow_lane.py writes this file)\n"
    (ROOT / "tests" / "slow-tests.txt").write_text(header + "".join(f"{node}\n" for node in slow), encoding="utf-8")
    print(f"{len(slow)} tests marked slow")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)

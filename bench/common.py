"""Helpers shared by the benchmarks: timing statistics, child processes, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def summarize(seconds: list[float]) -> dict:
    """Median, p95 and spread of a list of durations, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    quartiles = statistics.quantiles(ms, n=4) if len(ms) >= 2 else [ms[0]] * 3
    return {
        "runs": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))], 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))], 2),
        "min_ms": round(ms[0], 2),
        "max_ms": round(ms[-1], 2),
        "iqr_ms": round(quartiles[2] - quartiles[0], 2),
    }


def time_runs(fn, runs: int, warmup: int = 1) -> tuple[list[float], object]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(module: str, *args: str, env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``python -m module args`` in a fresh process; it prints one JSON object last.
    ``cwd``: another checkout of the project (its ``service`` and ``bench`` come first)."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from service.checks import check_harfbuzz_subsetting, installed_versions

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # what was measured: the exact library versions (requirements.lock pins them)
        "versions": installed_versions(),
        "harfbuzz_subsetting": check_harfbuzz_subsetting().verdict,
    }


def versions_line(m: dict) -> str:
    """The library versions a result was measured with, for the markdown reports."""
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    return f"Versions: {versions}; HarfBuzz subsetting {m.get('harfbuzz_subsetting', '?')}."


def write_results(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (RESULTS / f"{name}.md").write_text(markdown, "utf-8")
    print(markdown)


def baselines() -> dict[str, str]:
    """Earlier commits to measure beside this one, in the same run:
    ``BENCH_BASELINES="label=ref label=ref"`` (render and upload figures)."""
    return dict(pair.split("=", 1) for pair in os.environ.get("BENCH_BASELINES", "").split())


@contextmanager
def checkouts(refs: dict[str, str]):
    """label → a temporary checkout (git worktree) of each ref, removed afterwards."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="zc-bench-baseline-") as tmp:
        trees = {}
        try:
            for label, ref in refs.items():
                trees[label] = Path(tmp) / label
                subprocess.run(
                    ["git", "worktree", "add", "--detach", "-q", str(trees[label]), ref], cwd=ROOT, check=True
                )
            yield trees
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)

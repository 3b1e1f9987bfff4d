"""Benchmark: ``COUNT`` pending certificates sealed by the local pool of ``serve``, the
province issuing the PDF alone and then both formats (the PDF and its OFD twin with two
GB/T 38540 seals). Target: both formats in at most 2× the PDF-only time.

    BENCH_BATCH_COUNT=1000 BENCH_BATCH_ROUNDS=1 python -m bench batch_ofd

Same prepared data dir and the same run as ``bench batch``'s local pool (imported from
it); the two take turns round after round, each from its own copy.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_batch import BASE_ENV, COUNT, prepare, run_local  # noqa: E402
from bench.common import machine, versions_line, write_results  # noqa: E402

TARGET = 2.0


def pdf_only_profiles(folder: Path) -> Path:
    """A copy of the shipped profiles whose province issues the PDF alone."""
    shutil.copytree(ROOT / "profiles", folder)
    for path in folder.glob("*.toml"):
        text = path.read_text("utf-8")
        path.write_text(text.replace('formats = ["pdf", "ofd"]', 'formats = ["pdf"]'), "utf-8")
    return folder


def main() -> None:
    rounds = int(os.environ.get("BENCH_BATCH_ROUNDS", "1"))
    seconds: dict[str, list[float]] = {"pdf": [], "pdf_ofd": []}
    with tempfile.TemporaryDirectory(prefix="zc-bench-batch-ofd-") as tmp:
        prepared = Path(tmp) / "prepared"
        prepare(prepared)
        envs = {
            "pdf": {**BASE_ENV, "ZC_PROFILES_DIR": str(pdf_only_profiles(Path(tmp) / "profiles"))},
            "pdf_ofd": BASE_ENV,
        }
        for round_no in range(rounds):
            for name, env in envs.items():
                copy = Path(tmp) / f"{name}-{round_no}"
                shutil.copytree(prepared, copy)
                result = run_local(copy, env)
                assert result["done"] == COUNT, (name, result)
                seconds[name].append(result["seconds"])
                shutil.rmtree(copy)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratio = round(medians["pdf_ofd"] / medians["pdf"], 2)
    results = {"machine": machine(), "count": COUNT, "rounds": rounds, "seconds": seconds, "ratio": ratio}
    md = "\n".join(
        [
            "# Batch sealing, PDF alone and PDF + OFD twin (local pool, 2 workers)",
            "",
            f"{COUNT} `pending_seal` certificates, {rounds} round(s), each engine from its own copy of one prepared "
            "data dir (SQLite).",
            "",
            "| formats | median s | min–max s | certificates/s |",
            "|---|---:|---:|---:|",
            *(
                f"| {name} | {medians[name]:.1f} | {min(v):.1f}–{max(v):.1f} | {COUNT / medians[name]:.1f} |"
                for name, v in seconds.items()
            ),
            "",
            f"Both formats / PDF alone: **{ratio}×** (target ≤ {TARGET}×).",
            "",
            versions_line(results["machine"]),
            "",
        ]
    )
    write_results("batch_ofd", results, md)


if __name__ == "__main__":
    main()

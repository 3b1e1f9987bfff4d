"""Which Chinese word segmenter breaks the lines (service/documents/words.py).

Each candidate cuts the same values — the fields of the forms and certificates, from a name
to a committee's name — in a child process of its own: the time to build its dictionary
(once per process, paid at a worker's first render), the time per value (median of 7
rounds over 1,800 values, no HMM: a guessing model would change a document's breaks with
the model's version), and whether its cuts agree with rjieba's. Candidates missing from the
project's environment are looked for in ``BENCH_WORDS_PYTHON`` (another interpreter where
``pip install jieba jieba-fast`` was run), else reported as not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from bench.common import machine, versions_line, write_results

VALUES = [
    "高级教师",
    "湖北省职称改革工作领导小组办公室",
    "化学工程与工艺",
    "专业技术职务",
    "湖北省中小学教师高级职务评审委员会",
    "武汉市人力资源和社会保障局",
    "正高级工程师（教授级）",
    "（2019.03.01 起，5年）",
    "在国家级期刊发表论文三篇，主持省部级科研项目两项",
]
CANDIDATES = {
    "rjieba": "import rjieba\ncut = lambda s: rjieba.cut(s, False)",
    "jieba_fast": "import jieba_fast, logging\njieba_fast.setLogLevel(logging.WARNING)\n"
    "jieba_fast.initialize()\ncut = lambda s: jieba_fast.lcut(s, HMM=False)",
    "jieba": "import jieba, logging\njieba.setLogLevel(logging.WARNING)\njieba.initialize()\n"
    "cut = lambda s: jieba.lcut(s, HMM=False)",
}
CHILD = """
import json, statistics, sys, time
from importlib.metadata import version
values = json.loads(sys.argv[1])
start = time.perf_counter()
{setup}
built = time.perf_counter() - start
rounds = []
for _ in range(7):
    t = time.perf_counter()
    for _ in range(200):
        for v in values:
            cut(v)
    rounds.append((time.perf_counter() - t) / (200 * len(values)) * 1e6)
print(json.dumps({{"version": version("{dist}"), "build_s": round(built, 3),
    "us_median": round(statistics.median(rounds), 2), "us_min": round(min(rounds), 2),
    "us_max": round(max(rounds), 2), "cuts": [list(cut(v)) for v in values]}}, ensure_ascii=False))
"""
DISTRIBUTIONS = {"rjieba": "rjieba", "jieba_fast": "jieba_fast", "jieba": "jieba"}


def _measure(name: str) -> dict | None:
    code = textwrap.dedent(CHILD.format(setup=CANDIDATES[name], dist=DISTRIBUTIONS[name]))
    for python in filter(None, [sys.executable, os.environ.get("BENCH_WORDS_PYTHON")]):
        done = subprocess.run([python, "-c", code, json.dumps(VALUES)], capture_output=True, text=True)
        if done.returncode == 0:
            return {**json.loads(done.stdout.strip().splitlines()[-1]), "python": python}
    return None


def main() -> None:
    found = {name: _measure(name) for name in CANDIDATES}
    reference = (found.get("rjieba") or {}).get("cuts")
    rows = []
    for name, result in found.items():
        if result is None:
            rows.append(f"| {name} | not installed | | | |")
            continue
        same = "yes" if result["cuts"] == reference else "no"
        rows.append(
            f"| {name} {result['version']} | {result['build_s']} s | {result['us_median']} µs "
            f"({result['us_min']}–{result['us_max']}) | {same} | `{result['python']}` |"
        )
    m = machine()
    markdown = "\n".join(
        [
            "# Word segmenters for line breaking",
            "",
            "The same fields cut by each candidate, one child process each, the same run.",
            "",
            "| segmenter | dictionary built | per value, median (min–max of 7 rounds) | cuts as rjieba's | interpreter |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Machine: {m['cpu']}. {versions_line(m)}",
            "",
        ]
    )
    write_results("words", {"machine": m, "results": found}, markdown)


if __name__ == "__main__":
    main()

"""Rendering benchmark: forms from the contract examples, warm and first-in-process.

Each setup runs in its own fresh process so that its peak RSS is its own:
``shipped`` (the project's isolated, pre-subset fonts) and ``default``
(WeasyPrint's default font setup: system fontconfig with Debian's Noto CJK),
the baseline, in the same run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    baselines,
    checkouts,
    machine,
    peak_rss_mb,
    run_child,
    summarize,
    time_runs,
    versions_line,
    write_results,
)

WARM_RUNS = 25
FIRST_RUNS = 5
SETUPS = ("shipped", "default")
# Publicity tables: rows → timed runs (each size in its own process, for its peak RSS).
LISTS = {300: 5, 3000: 3, 10000: 1}
# Long unbreakable runs (issue 11, item 4): characters per free-text field → timed runs.
# Ten times the characters should take about ten times as long (it took minutes, quadratically).
LONG_RUNS = {2000: 2, 20000: 1}


def documents() -> dict:
    """name → (form slug, payload): what is rendered."""
    from service import TEMPLATES_DIR
    from service.forms.catalog import all_forms
    from tests import variants
    from tests.conftest import load_contract

    declaration = load_contract("declaration.json")
    docs = {
        "review-form/contract": ("review-form", declaration),
        "review-form/long": ("review-form", variants.long_variant(declaration)),
        "summary-sheet/contract": ("summary-sheet", declaration),
        "publicity/contract-24-rows": ("publicity", load_contract("publicity-result.json")),
    }
    # Every other form, from its sample payload (the auxiliary forms among them).
    for slug in all_forms():
        if not any(name.startswith(slug + "/") for name in docs):
            sample = TEMPLATES_DIR / "forms" / slug / "sample.json"
            docs[f"{slug}/sample"] = (slug, json.loads(sample.read_text("utf-8")))
    return docs


def publicity_rows(count: int) -> dict:
    from tests.conftest import load_contract

    payload = load_contract("publicity-pre-review.json")
    base = payload["rows"]
    payload["rows"] = [
        dict(base[i % len(base)], name=f"{base[i % len(base)]['name'][:2]}{i:05d}") for i in range(count)
    ]
    return payload


def long_run_payload(chars: int) -> dict:
    """The contract's declaration with ``chars`` × W (no break opportunity) in each of the
    15 free-text fields the review form prints."""
    from tests.conftest import load_contract

    d = load_contract("declaration.json")
    run = "W" * chars
    d["books"] = [{"title": run}]
    d["projects"] = [{"name": run}]
    d["opinions"]["recommending"] = {"text": run}
    d["opinions"]["approval"] = {"text": run}
    d["opinions"]["committee"] = {"text": run}
    d["opinions"]["unit"]["text"] = run
    d["work_summary"] = d["applicant"]["academic_societies"] = d["training"][0]["content"] = run
    d["papers"][0]["title"] = d["patents"][0]["title"] = d["awards"][0]["name"] = run
    d["achievements"][0].update(name=run, content_and_role=run, outcome=run)
    return d


def _renderer(setup: str):
    from service.config import Settings
    from service.documents.render import Renderer

    settings = Settings()
    if setup == "default":
        os.environ.pop("FONTCONFIG_FILE", None)
    return Renderer(settings.templates_dir, settings.fonts_dir, isolate_fonts=setup == "shipped")


def _render_fn(renderer, slug: str, payload: dict, setup: str):
    from service.config import Limits
    from service.forms.catalog import all_forms
    from service.forms.spec import RenderContext, render_form

    spec = all_forms()[slug]
    model = spec.validate(payload, Limits())
    # The baseline lays out lists the plain way too: a table cell per column.
    ctx = RenderContext(renderer.fonts_dir, fast_lists=setup == "shipped")
    return lambda: render_form(renderer, spec, model, ctx)


def child_warm(setup: str) -> dict:
    from service.runtime import freeze_startup_objects, tune_gc

    tune_gc()  # as the service's worker processes do
    renderer = _renderer(setup)
    out = {}
    for name, (slug, payload) in documents().items():
        render = _render_fn(renderer, slug, payload, setup)
        render()
        freeze_startup_objects()
        times, pdf = time_runs(render, WARM_RUNS)
        out[name] = {**summarize(times), "pdf_kb": round(len(pdf) / 1024, 1)}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def child_first(setup: str) -> dict:
    start = time.perf_counter()  # imports count: this is a fresh process's first render
    renderer = _renderer(setup)
    slug, payload = documents()["review-form/contract"]
    _render_fn(renderer, slug, payload, setup)()
    return {"seconds": time.perf_counter() - start}


def child_list(setup: str, rows: int) -> dict:
    from service.config import Limits
    from service.forms.catalog import all_forms
    from service.forms.spec import RenderContext, render_form
    from service.runtime import tune_gc

    tune_gc()
    renderer = _renderer(setup)
    spec = all_forms()["publicity"]
    ctx = RenderContext(renderer.fonts_dir, fast_lists=setup == "shipped")
    small = spec.validate(publicity_rows(24), Limits())
    render_form(renderer, spec, small, ctx)  # warm-up: fonts, templates
    model = spec.validate(publicity_rows(rows), Limits(max_table_rows=rows))
    times, pdf = time_runs(lambda: render_form(renderer, spec, model, ctx), LISTS[rows], warmup=0)
    return {**summarize(times), "pdf_kb": round(len(pdf) / 1024, 1), "peak_rss_mb": peak_rss_mb()}


def child_long_run(setup: str, chars: int) -> dict:
    from service.runtime import tune_gc

    tune_gc()
    renderer = _renderer(setup)
    slug, payload = documents()["review-form/contract"]
    _render_fn(renderer, slug, payload, setup)()  # warm-up: fonts, templates
    render = _render_fn(renderer, "review-form", long_run_payload(chars), setup)
    times, pdf = time_runs(render, LONG_RUNS[chars], warmup=0)
    return {**summarize(times), "pdf_kb": round(len(pdf) / 1024, 1), "peak_rss_mb": peak_rss_mb()}


CACHED_RUNS = 50


def child_cached() -> dict:
    """The contract's review form asked for again over HTTP (the service in process, its cache
    of rendered forms on): the first answer rendered, the repeats looked up."""
    import tempfile

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings
    from service.registry.api_keys import create_api_key
    from service.registry.db import open_registry, transaction

    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data")
    _, payload = documents()["review-form/contract"]
    body = json.dumps(payload, ensure_ascii=False).encode()
    with TestClient(create_app(settings)) as client:
        with transaction(open_registry(settings)) as session:
            secret = create_api_key(session, "platform", datetime.now(UTC), label="bench")
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

        def ask() -> str:
            answer = client.post("/api/v1/forms/review-form", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
            return answer.headers["x-render-cache"]

        start = time.perf_counter()
        first = ask()
        rendered = time.perf_counter() - start
        times, last = time_runs(ask, CACHED_RUNS, warmup=1)
    return {"first": first, "first_ms": round(rendered * 1000, 1), "repeat": last, **summarize(times)}


def compare_with_baselines(refs: dict[str, str]) -> dict:
    """The warm documents (shipped setup) rendered by each earlier commit, in a checkout of
    its own, between two runs of this one, so that a drift of the machine shows."""
    out = {"refs": refs, "runs": {}}
    with checkouts(refs) as trees:
        out["runs"]["this commit"] = run_child("bench.bench_render", "--warm", "shipped")
        for label, tree in trees.items():
            out["runs"][label] = run_child("bench.bench_render", "--warm", "shipped", cwd=tree)
        out["runs"]["this commit, again"] = run_child("bench.bench_render", "--warm", "shipped")
    return out


def main() -> None:
    results = {"machine": machine(), "warm_runs": WARM_RUNS, "setups": {}}
    refs = baselines()
    if refs:
        results["baselines"] = compare_with_baselines(refs)
    if os.environ.get("BENCH_RENDER_BASELINES_ONLY"):  # the comparison alone, in a file of its own
        head = [
            "# Rendering beside earlier commits",
            "",
            f"{results['machine']['date']}, {results['machine']['cpu']} "
            f"({results['machine']['cores']} cores). {WARM_RUNS} warm runs per document after one warm-up.",
            versions_line(results["machine"]),
        ]
        write_results("render-baselines", results, "\n".join(head + _baseline_lines(results.get("baselines"))) + "\n")
        return
    for setup in SETUPS:
        warm = run_child("bench.bench_render", "--warm", setup)
        firsts = [run_child("bench.bench_render", "--first", setup)["seconds"] for _ in range(FIRST_RUNS)]
        lists = {rows: run_child("bench.bench_render", "--list", setup, str(rows)) for rows in LISTS}
        results["setups"][setup] = {"warm": warm, "first_render": summarize(firsts), "lists": lists}
    results["cached_repeat"] = run_child("bench.bench_render", "--cached", "shipped")
    # Layout time of long runs depends on the text, not the fonts: the shipped setup only.
    results["long_runs"] = {
        chars: run_child("bench.bench_render", "--long-run", "shipped", str(chars)) for chars in LONG_RUNS
    }
    write_results("render", results, _markdown(results))


def _markdown(results: dict) -> str:
    lines = [
        "# Rendering benchmark",
        "",
        f"{results['machine']['date']}, {results['machine']['cpu']} ({results['machine']['cores']} cores), "
        f"Python {results['machine']['python']}. {results['warm_runs']} warm runs per document after one warm-up; "
        "each setup in its own fresh process. `shipped` = the project's isolated, pre-subset fonts; "
        "`default` = WeasyPrint's default font setup (system fontconfig, Debian Noto CJK), the baseline.",
        versions_line(results["machine"]),
        "",
        "| document | setup | median ms | p95 ms | min–max ms | IQR ms | PDF KB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    names = [k for k in results["setups"]["shipped"]["warm"] if k != "peak_rss_mb"]
    for name in names:
        for setup in SETUPS:
            r = results["setups"][setup]["warm"][name]
            lines.append(
                f"| {name} | {setup} | {r['median_ms']} | {r['p95_ms']} | {r['min_ms']}–{r['max_ms']} "
                f"| {r['iqr_ms']} | {r['pdf_kb']} |"
            )
    lines += [
        "",
        "Publicity tables (pre-review columns), each size in its own fresh process; `default` also lays the",
        "list out the plain way (a table cell per column).",
        "",
        "| rows | setup | runs | median s | min–max s | peak RSS MB | PDF KB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for rows in LISTS:
        for setup in SETUPS:
            r = results["setups"][setup]["lists"][rows]
            lines.append(
                f"| {rows} | {setup} | {r['runs']} | {r['median_ms'] / 1000:.2f} | {r['min_ms'] / 1000:.2f}–"
                f"{r['max_ms'] / 1000:.2f} | {r['peak_rss_mb']} | {r['pdf_kb']} |"
            )
    lines += [
        "",
        "Long unbreakable runs: the review form with N × W (no break opportunity) in each of its 15",
        "free-text fields, shipped setup, each size in its own fresh process.",
        "",
        "| N per field | runs | median s | min–max s | peak RSS MB | PDF KB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for chars, r in results["long_runs"].items():
        lines.append(
            f"| {chars} | {r['runs']} | {r['median_ms'] / 1000:.2f} | {r['min_ms'] / 1000:.2f}–"
            f"{r['max_ms'] / 1000:.2f} | {r['peak_rss_mb']} | {r['pdf_kb']} |"
        )
    cached = results.get("cached_repeat")
    if cached:
        lines += [
            "",
            "The contract's review form over HTTP (service in process, its cache of rendered forms on): the first",
            f"answer ({cached['first']}) {cached['first_ms']} ms; {cached['runs']} repeats ({cached['repeat']}): median",
            f"{cached['median_ms']} ms, p95 {cached['p95_ms']} ms, {cached['min_ms']}–{cached['max_ms']} ms (target: ≤ 5 ms).",
        ]
    lines += _baseline_lines(results.get("baselines"))
    lines += [
        "",
        "| setup | first render in a fresh process, median s (min–max) | peak RSS MB (all warm documents) |",
        "|---|---:|---:|",
    ]
    for setup in SETUPS:
        first = results["setups"][setup]["first_render"]
        lines.append(
            f"| {setup} | {first['median_ms'] / 1000:.2f} ({first['min_ms'] / 1000:.2f}–"
            f"{first['max_ms'] / 1000:.2f}) | {results['setups'][setup]['warm']['peak_rss_mb']} |"
        )
    return "\n".join(lines) + "\n"


def _baseline_lines(baselines: dict | None) -> list[str]:
    if not baselines:
        return []
    runs = baselines["runs"]
    labels = list(runs)
    refs = ", ".join(f"`{label}` = {ref}" for label, ref in baselines["refs"].items())
    lines = [
        "",
        f"This commit beside earlier ones ({refs}), shipped setup, warm median ms, each in a fresh",
        "process and a checkout of its own, this commit measured before and after them:",
        "",
        "| document | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    names = [n for n in runs[labels[0]] if n != "peak_rss_mb" and all(n in r for r in runs.values())]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(str(runs[label][name]["median_ms"]) for label in labels) + " |")
    total = {label: sum(runs[label][n]["median_ms"] for n in names) for label in labels}
    lines.append("| **sum of medians** | " + " | ".join(f"**{total[label]:.0f}**" for label in labels) + " |")
    return lines


if __name__ == "__main__":
    mode, setup = sys.argv[1], sys.argv[2]
    if mode == "--warm":
        print(json.dumps(child_warm(setup)))
    elif mode == "--list":
        print(json.dumps(child_list(setup, int(sys.argv[3]))))
    elif mode == "--cached":
        print(json.dumps(child_cached()))
    elif mode == "--long-run":
        print(json.dumps(child_long_run(setup, int(sys.argv[3]))))
    else:
        print(json.dumps(child_first(setup)))

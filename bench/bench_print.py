"""Print runs: a booklet of N review forms against the sum of the same N single renders
(the same process kind, the same run), and 2,000 certificates copied into one print file.

Each measurement runs in a fresh process (its peak RSS is its own). The booklet's target:
at most 1.2× the sum of the single renders, peak RSS at most 600 MB; the certificates':
2,000 in at most 20 s. The certificates are 20 distinct rendered certificates, each used
100 times: copying a page costs the same whichever certificate it is.

    python -m bench print            (BENCH_PRINT_N=500 booklet size, BENCH_PRINT_ROUNDS=1)
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import machine, peak_rss_mb, run_child, versions_line, write_results

ROOT = Path(__file__).resolve().parent.parent


def _declarations(n: int) -> list[dict]:
    base = json.loads((ROOT / "tests" / "data" / "contract" / "declaration.json").read_text("utf-8"))
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
    items = []
    for i in range(n):
        d = copy.deepcopy(base)
        d["declaration_id"] = f"BENCH-{i:05d}"
        d["applicant"]["name"] = surnames[i % 10] + given[(i // 10) % 20] + given[(i * 7) % 20]
        items.append(d)
    return items


def _setup():
    from service.config import Settings
    from service.documents.render import Renderer
    from service.forms.catalog import all_forms
    from service.forms.spec import RenderContext
    from service.profiles.load import default_profile

    profile = default_profile()
    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data").with_profile(profile)
    renderer = Renderer(settings.templates_dir, settings.fonts_dir, max_pages=settings.limits.max_pages)
    return settings, renderer, all_forms()["review-form"], RenderContext(settings.fonts_dir, profile=profile)


def child(mode: str, n: int) -> dict:
    from service.forms.booklet import print_run
    from service.forms.spec import render_form

    settings, renderer, spec, ctx = _setup()
    models = [spec.validate(d, settings.limits) for d in _declarations(n)]
    render_form(renderer, spec, models[0], ctx)  # warm: fonts, stylesheets
    start = time.perf_counter()
    pages = 0
    if mode == "single":
        for model in models:
            render_form(renderer, spec, model, ctx)
    elif mode == "run":
        with tempfile.TemporaryDirectory() as tmp:
            run = print_run(renderer, spec, models, ctx, Path(tmp) / "run.pdf", day=date(2024, 12, 30))
            seconds = time.perf_counter() - start
            peak = peak_rss_mb()  # the run's own: the check below opens the whole file
            pages = run.assembled.pages
            found = _applicants_found(run, Path(tmp) / "run.pdf")
        return {"seconds": seconds, "pages": pages, "found": found, "parts": n, "peak_rss_mb": peak}
    else:
        raise SystemExit(f"unknown mode {mode}")
    return {"seconds": time.perf_counter() - start, "pages": pages, "peak_rss_mb": peak_rss_mb()}


def _applicants_found(run, path: Path) -> int:
    """How many applicants' names are on the first page the manifest gives them (the front
    pages come first: the parts' numbers count after them)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        front = len(document) - sum(p.pages + p.padded for p in run.assembled.parts)
        found = 0
        for part in run.assembled.parts:
            page = document[front + part.first_page - 1]
            text = page.get_textpage()
            found += part.title in "".join(text.get_text_bounded().split())
            text.close()
            page.close()
        return found
    finally:
        document.close()


def child_certificates(n: int) -> dict:
    from service.contract.certificate import CertificateRequest
    from service.documents.assemble import Part
    from service.forms.booklet import write_run
    from service.forms.certificate import render_certificate

    settings, renderer, _, ctx = _setup()
    body = json.loads((ROOT / "tests" / "data" / "contract" / "certificate-request.json").read_text("utf-8"))
    pdfs = []
    for i in range(20):
        body["holder"]["name"] = f"持证人{i:02d}"
        request = CertificateRequest.model_validate(body, context={"limits": settings.limits})
        number = f"94220244200010{i:05d}"
        pdfs.append(
            render_certificate(renderer, request, number=number, identifier=f"1.2.{i}", verify_url="http://x/v/t")
        )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        parts = (Part(f"证书 {i}", pdfs[i % len(pdfs)]) for i in range(n))
        run = write_run(
            renderer,
            parts,
            ctx,
            Path(tmp) / "certs.pdf",
            orientation="landscape",
            day=date(2024, 12, 30),
            manifest=True,
            title="证书（供盖章打印）",
            part_label="证书",
        )
        size_mb = (Path(tmp) / "certs.pdf").stat().st_size / 1048576
    return {
        "seconds": time.perf_counter() - start,
        "pages": run.assembled.pages,
        "size_mb": round(size_mb, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    n = int(os.environ.get("BENCH_PRINT_N", "500"))
    rounds = int(os.environ.get("BENCH_PRINT_ROUNDS", "1"))
    single, run = [], []
    for _ in range(rounds):  # interleaved: a drift of the machine's speed hits both alike
        single.append(run_child("bench.bench_print", "single", str(n)))
        run.append(run_child("bench.bench_print", "run", str(n)))
    certs = run_child("bench.bench_print", "certificates", "2000")
    ratios = [r["seconds"] / s["seconds"] for s, r in zip(single, run)]
    m = machine()
    data = {"machine": m, "n": n, "single": single, "run": run, "ratios": ratios, "certificates": certs}
    med = sorted(ratios)[len(ratios) // 2]
    lines = [
        "# Print runs",
        "",
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}). {versions_line(m)}",
        "",
        f"Booklet of {n} review forms (contract declaration, names varied), each mode in a fresh process, "
        f"{rounds} interleaved round(s):",
        "",
        "| round | N single renders, s | one booklet, s | ratio | booklet pages | applicants found where the manifest puts them | booklet peak RSS MB | single peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (s, r) in enumerate(zip(single, run), start=1):
        lines.append(
            f"| {i} | {s['seconds']:.1f} | {r['seconds']:.1f} | {r['seconds'] / s['seconds']:.2f} | {r['pages']} "
            f"| {r['found']} of {r['parts']} | {r['peak_rss_mb']} | {s['peak_rss_mb']} |"
        )
    lines += [
        "",
        f"Median ratio {med:.2f} (target ≤ 1.2; spread {min(ratios):.2f}–{max(ratios):.2f}); "
        f"booklet peak RSS {max(r['peak_rss_mb'] for r in run)} MB (target ≤ 600).",
        "",
        f"2,000 certificates (20 distinct, each 100 times) copied into one print file with its manifest: "
        f"{certs['seconds']:.1f} s (target ≤ 20), {certs['pages']} pages, {certs['size_mb']} MB, "
        f"peak RSS {certs['peak_rss_mb']} MB.",
        "",
    ]
    write_results("print", data, "\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] in ("single", "run"):
        print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
    elif len(sys.argv) >= 3 and sys.argv[1] == "certificates":
        print(json.dumps(child_certificates(int(sys.argv[2]))))
    else:
        main()

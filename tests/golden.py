"""Golden-image comparison of rendered PDFs.

Each page is rasterized with pypdfium2 at ``DPI`` in grayscale and compared
with ``tests/golden/<name>/page-<n>.png``. Tolerance: at most ``MAX_CHANGED``
of the pixels may differ by more than ``THRESHOLD`` grey levels (antialiasing
noise stays far below; a moved line, a missing word or a different font does
not). On failure the actual page and a diff image go to ``tests/artifacts/``.
Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest ...``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops

GOLDEN = Path(__file__).parent / "golden"
ARTIFACTS = Path(__file__).parent / "artifacts" / "golden"
DPI = 50
THRESHOLD = 48
MAX_CHANGED = 0.001  # 0.1 % of the pixels


def rasterize(pdf: bytes, dpi: int = DPI) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for page in document]
    finally:
        document.close()


def assert_matches_golden(pdf: bytes, name: str) -> None:
    pages = rasterize(pdf)
    folder = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("page-*.png"):
            old.unlink()
        for number, page in enumerate(pages, start=1):
            page.save(folder / f"page-{number}.png", optimize=True)
        return
    expected = sorted(folder.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    assert expected, f"no golden images for {name}: run with UPDATE_GOLDEN=1 to create them"
    assert len(pages) == len(expected), f"{name}: {len(pages)} pages, golden has {len(expected)}"
    failures = []
    for number, (page, golden_path) in enumerate(zip(pages, expected), start=1):
        golden = Image.open(golden_path).convert("L")
        if page.size != golden.size:
            failures.append(f"page {number}: size {page.size} != {golden.size}")
            continue
        diff = ImageChops.difference(page, golden)
        changed = sum(diff.histogram()[THRESHOLD + 1 :])
        ratio = changed / (page.size[0] * page.size[1])
        if ratio > MAX_CHANGED:
            out = ARTIFACTS / name
            out.mkdir(parents=True, exist_ok=True)
            page.save(out / f"page-{number}-actual.png")
            diff.point(lambda v: 255 - min(255, v * 4)).save(out / f"page-{number}-diff.png")
            failures.append(f"page {number}: {ratio:.3%} of pixels differ (limit {MAX_CHANGED:.1%}); see {out}")
    assert not failures, f"{name}:\n" + "\n".join(failures)

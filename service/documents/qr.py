"""QR codes for the verification URL printed on certificates.

Pure: a URL in, an SVG string or PNG bytes out, the same output for the same
URL (qrcode picks the smallest version and the mask with the lowest penalty,
both deterministic; the SVG is written here, not by a library serializer).

Choices, for a code printed about 25 mm wide and also scanned off a screen:

* Error correction M (15 %). Q or H survive more damage but need more
  modules for the same URL, and on a screen each module gets fewer pixels;
  a certificate's code sits in a clear area, away from the seals and folds,
  so M is the usual trade-off.
* The 4-module quiet zone that ISO/IEC 18004 requires is part of the symbol, so
  the template only gives the outer size.
* Modules at least 0.4 mm: phone cameras focus from about 10 cm and resolve
  0.3–0.4 mm reliably. A verification URL of up to ~100 characters is
  version 5–6 at M: 45–49 modules with the quiet zone, 0.5–0.55 mm at 25 mm.
  With the offline payload after ``#`` (service.offline.payload, ~430 characters
  for the contract's certificate) it is version 13: 77 modules, 0.45 mm at the
  certificate's 35 mm.
* The text is split into segments by mode (qrcode's ``optimize``): the URL in
  byte mode, the base45 payload in alphanumeric mode (5.5 bits a character).
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from .qr_mask import QuickMaskQRCode

QUIET_ZONE = 4  # modules
PRINT_SIZE_MM = 25.0
MIN_MODULE_MM = 0.4


def qr_matrix(url: str) -> list[list[bool]]:
    """Dark (True) and light modules, rows from the top, quiet zone included."""
    return [list(row) for row in _matrix(url)]


@lru_cache(maxsize=64)
def _matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The symbol, encoded once per text: issuance asks whether a code fits its box and then
    for its image, and the encoder (pure Python) takes about 100 ms for the ~430 characters
    of a URL with its offline payload, most of it trying eight masks for the one of lowest
    penalty, which ``qr_mask`` does in one layout (the same symbol, ~10 ms). zxing-cpp,
    which would encode it in 2 ms, is what the tests check the codes with: the encoder
    stays another implementation."""
    if not url:
        raise ValueError("nothing to encode")
    code = QuickMaskQRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1)
    code.add_data(url.encode("utf-8"))
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def module_mm(url: str, size_mm: float = PRINT_SIZE_MM) -> float:
    """Printed width of one module when the symbol is ``size_mm`` wide."""
    return size_mm / len(qr_matrix(url))


def qr_svg(url: str, size_mm: float = PRINT_SIZE_MM) -> str:
    """The code as an SVG document ``size_mm`` wide, one path on a white square.

    Raises ValueError when the URL is so long that modules would be smaller
    than :data:`MIN_MODULE_MM` at that size: better a clear error at issuance
    than a certificate whose code no phone can read.
    """
    matrix = qr_matrix(url)
    n = len(matrix)
    _check_module_size(n, size_mm)
    # One horizontal run per subpath, all in ONE path: a single fill has no
    # seams between adjacent runs, which separate rectangles show on screens.
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    size = f"{size_mm:g}mm"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def qr_png(url: str, scale: int = 10) -> bytes:
    """The code as a 1-bit PNG, ``scale`` pixels per module (for screens and APIs)."""

    matrix = qr_matrix(url)
    n = len(matrix)
    image = Image.new("1", (n, n), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((n * scale, n * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def fits(text: str, size_mm: float) -> bool:
    """Whether ``text``'s code keeps modules of at least :data:`MIN_MODULE_MM` at ``size_mm``."""
    return size_mm / len(qr_matrix(text)) >= MIN_MODULE_MM


def _check_module_size(modules: int, size_mm: float) -> None:
    if size_mm / modules < MIN_MODULE_MM:
        raise ValueError(
            f"QR code too dense: {modules} modules in {size_mm:g} mm gives "
            f"{size_mm / modules:.2f} mm per module (minimum {MIN_MODULE_MM} mm); shorten the URL"
        )

"""Round red seal images (PNG bytes), and checks for seal images that callers supply.

Pure: text and a font in, PNG bytes out, same bytes for the same input.  The picture is
drawn 3x larger and scaled down, because Pillow draws circles and polygons without
anti-aliasing.  Geometry follows the usual Chinese official seal: outer ring, the
organisation's name along the upper arc reading clockwise, a five-pointed star in the
centre, an optional horizontal line under the star (e.g. 职称评审专用章).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SEAL_RED = (215, 0, 15)
SUPERSAMPLE = 3
MAX_ARC_DEGREES = 240.0
MIN_WIDTH_SCALE = 0.5  # narrower than this and a character stops being legible
SHIPPED_FONT = Path(__file__).resolve().parents[2] / "fonts" / "NotoSerifSC-Bold.otf"
SYSTEM_FONT = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")

MAX_PNG_BYTES = 2 * 1024 * 1024
MIN_PNG_SIDE = 200
MAX_PNG_SIDE = 4000


class SealImageError(ValueError):
    """A supplied seal image is not an acceptable PNG (kept here: documents never import signing)."""

    code = "seal_image"


def default_seal_font() -> Path:
    """The shipped single-face font when present, else the system Noto Serif CJK (.ttc)."""
    return SHIPPED_FONT if SHIPPED_FONT.is_file() else SYSTEM_FONT


def render_round_seal(
    org_name: str,
    bottom_text: str | None,
    font_path: Path,
    diameter_mm: float = 40,
    dpi: int = 300,
) -> bytes:
    """A red round seal, RGBA PNG with a transparent background, at least ``dpi`` at its size."""
    name = "".join(org_name.split())
    if not name:
        raise SealImageError("organisation name is empty")
    size = math.ceil(diameter_mm / 25.4 * dpi)
    big = size * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    _draw_ring(mask)
    _draw_star(mask)
    _draw_arc_text(mask, name, Path(font_path))
    if bottom_text and bottom_text.strip():
        _draw_bottom_text(mask, bottom_text.strip(), Path(font_path))
    alpha = mask.resize((size, size), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size, size), SEAL_RED + (0,))
    image.putalpha(alpha)
    buf = io.BytesIO()
    # dpi recorded so that print paths place it at its true size; no other metadata.
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def check_seal_png(data: bytes) -> bytes:
    """Validate a caller-supplied seal PNG and return it normalised to RGBA without metadata."""
    if len(data) > MAX_PNG_BYTES:
        raise SealImageError(f"seal image is larger than {MAX_PNG_BYTES // 1024} KiB")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SealImageError("seal image must be a PNG file")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if probe.format != "PNG":
                raise SealImageError("seal image must be a PNG file")
            _check_side(width, height)
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgba = img.convert("RGBA")
    except SealImageError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SealImageError(f"seal image is not a readable PNG: {exc}") from exc
    buf = io.BytesIO()
    rgba.save(buf, format="PNG")
    return buf.getvalue()


def _check_side(width: int, height: int) -> None:
    if not (MIN_PNG_SIDE <= width <= MAX_PNG_SIDE and MIN_PNG_SIDE <= height <= MAX_PNG_SIDE):
        raise SealImageError(f"seal image is {width}x{height} px; each side must be {MIN_PNG_SIDE}-{MAX_PNG_SIDE} px")


def _draw_ring(mask: Image.Image) -> None:
    big = mask.width
    ring = big * 0.03
    margin = big * 0.01
    ImageDraw.Draw(mask).ellipse((margin, margin, big - margin, big - margin), outline=255, width=round(ring))


def _draw_star(mask: Image.Image) -> None:
    big = mask.width
    cx = cy = big / 2
    outer = big * 0.16
    inner = outer * 0.382  # golden ratio: the proportion of a regular pentagram
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = math.pi * k / 5
        points.append((cx + radius * math.sin(angle), cy - radius * math.cos(angle)))
    ImageDraw.Draw(mask).polygon(points, fill=255)


def _draw_arc_text(mask: Image.Image, name: str, font_path: Path) -> None:
    big = mask.width
    inner_edge = big / 2 - big * 0.01 - big * 0.03 - big * 0.025  # ring margin, ring, gap
    n = len(name)
    height = big * 0.13
    width_scale = 1.0
    # Shrink gracefully: first narrow the characters (like 长宋体 on real seals), then,
    # past MIN_WIDTH_SCALE, make them smaller as well.
    for _ in range(40):
        radius = inner_edge - height / 2
        natural = math.degrees(height * 1.08 / radius)
        span = min(MAX_ARC_DEGREES, n * natural)
        step_arc = math.radians(span / n) * radius
        width_scale = min(1.0, step_arc * 0.86 / height)  # 14 % gap between characters
        if width_scale >= MIN_WIDTH_SCALE:
            break
        height *= 0.95
    # Short names would huddle at the top: spread them over at least ~150 degrees.
    if n > 1:
        span = max(span, min(150.0, n * natural * 1.6))
    step = span / n
    font = _font(str(font_path), round(height))
    for i, char in enumerate(name):
        angle = -span / 2 + step * (i + 0.5)
        glyph = _glyph(char, font, round(height), width_scale)
        rotated = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = big / 2 + radius * math.sin(math.radians(angle)) - rotated.width / 2
        y = big / 2 - radius * math.cos(math.radians(angle)) - rotated.height / 2
        mask.paste(255, (round(x), round(y)), rotated)


def _draw_bottom_text(mask: Image.Image, text: str, font_path: Path) -> None:
    big = mask.width
    height = round(big * 0.085)
    max_width = big * 0.52
    font = _font(str(font_path), height)
    line = _line(text, font, height)
    if line.width > max_width:
        line = line.resize((round(max_width), line.height), Image.Resampling.LANCZOS)
    x = (big - line.width) / 2
    y = big / 2 + big * 0.245 - line.height / 2
    mask.paste(255, (round(x), round(y)), line)


def _glyph(char: str, font: ImageFont.FreeTypeFont, height: int, width_scale: float) -> Image.Image:
    box = round(height * 1.3)
    img = Image.new("L", (box, box), 0)
    ImageDraw.Draw(img).text((box / 2, box / 2), char, font=font, fill=255, anchor="mm")
    if width_scale < 1.0:
        img = img.resize((max(1, round(box * width_scale)), box), Image.Resampling.LANCZOS)
    return img


def _line(text: str, font: ImageFont.FreeTypeFont, height: int) -> Image.Image:
    width = round(font.getlength(text)) + height
    img = Image.new("L", (width, round(height * 1.3)), 0)
    ImageDraw.Draw(img).text((width / 2, img.height / 2), text, font=font, fill=255, anchor="mm")
    return img


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=_sc_face_index(path))


@lru_cache(maxsize=8)
def _sc_face_index(path: str) -> int:
    """A .ttc holds several faces; pick Simplified Chinese (face names end in 'SC')."""
    if not path.lower().endswith(".ttc"):
        return 0
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(path, size=12, index=index).getname()
        except OSError:
            break
        if family and family.rstrip().endswith("SC"):
            return index
    return 0

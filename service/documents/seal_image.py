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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SEAL_RED = (215, 0, 15)
SUPERSAMPLE = 3
# The name's arc: up to 240° with characters at least half as wide as high (长宋体);
# a name too long for that at the smallest legible height (MIN_ARC_TEXT_MM) gets
# up to 300° and characters down to 0.4 of their height, rather than smaller ones.
ARC_STEPS = ((240.0, 0.5), (300.0, 0.4))
MIN_ARC_TEXT_MM = 2.5  # the smallest name a clerk reads on a printed seal
STAR_RATIO = 0.16  # the star's outer radius, of the seal's diameter
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
    for legend in legend_masks(name, bottom_text, Path(font_path), big, diameter_mm):
        mask.paste(255, (0, 0), legend)
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
    outer = big * STAR_RATIO
    inner = outer * 0.382  # golden ratio: the proportion of a regular pentagram
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = math.pi * k / 5
        points.append((cx + radius * math.sin(angle), cy - radius * math.cos(angle)))
    ImageDraw.Draw(mask).polygon(points, fill=255)


def legend_masks(
    org_name: str, bottom_text: str | None, font_path: Path, big: int, diameter_mm: float
) -> list[Image.Image]:
    """The seal's legends, each on a mask of its own (``big`` pixels square): the name on
    the arc, and the line under the star when there is one."""
    name = "".join(org_name.split())
    arc = Image.new("L", (big, big), 0)
    _draw_arc_text(arc, name, font_path, diameter_mm)
    masks = [arc]
    if bottom_text and bottom_text.strip():
        line = Image.new("L", (big, big), 0)
        _draw_bottom_text(line, bottom_text.strip(), font_path)
        masks.append(line)
    return masks


@dataclass(frozen=True)
class ArcLayout:
    height: float  # of a character, in pixels of the mask
    width_scale: float  # a character's width, of its height
    span: float  # degrees of arc the name takes
    radius: float  # of the characters' centres, in pixels


def arc_layout(count: int, big: float, diameter_mm: float) -> ArcLayout:
    """How ``count`` characters sit on the arc of a seal ``big`` pixels wide."""
    inner_edge = big / 2 - big * 0.01 - big * 0.03 - big * 0.025  # ring margin, ring, gap
    floor = big * MIN_ARC_TEXT_MM / diameter_mm
    for max_span, min_scale in ARC_STEPS:
        height = big * 0.13
        # Shrink gracefully: first narrow the characters (like 长宋体 on real seals), then,
        # past the step's narrowest, make them smaller as well, never below the floor.
        while True:
            radius = inner_edge - height / 2
            natural = math.degrees(height * 1.08 / radius)
            span = min(max_span, count * natural)
            step_arc = math.radians(span / count) * radius
            width_scale = min(1.0, step_arc * 0.86 / height)  # 14 % gap between characters
            if width_scale >= min_scale or height * 0.95 < floor:
                break
            height *= 0.95
        if width_scale >= min_scale:
            break
    # Short names would huddle at the top: spread them over at least ~150 degrees.
    if count > 1:
        span = max(span, min(150.0, count * natural * 1.6))
    return ArcLayout(height, width_scale, span, radius)


def arc_text_mm(org_name: str, diameter_mm: float = 40) -> float:
    """The height of the name's characters on a seal of ``diameter_mm``, in mm."""
    count = len("".join(org_name.split()))
    return arc_layout(count, 1000.0, diameter_mm).height * diameter_mm / 1000.0


def _draw_arc_text(mask: Image.Image, name: str, font_path: Path, diameter_mm: float) -> None:
    big = mask.width
    n = len(name)
    layout = arc_layout(n, big, diameter_mm)
    step = layout.span / n
    font = _font(str(font_path), round(layout.height))
    for i, char in enumerate(name):
        angle = -layout.span / 2 + step * (i + 0.5)
        glyph = _glyph(char, font, round(layout.height), layout.width_scale)
        rotated = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = big / 2 + layout.radius * math.sin(math.radians(angle)) - rotated.width / 2
        y = big / 2 - layout.radius * math.cos(math.radians(angle)) - rotated.height / 2
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

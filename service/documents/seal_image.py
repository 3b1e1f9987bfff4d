"""Round red seal images (PNG bytes), and checks for seal images that callers supply.

Pure: text and a font in, PNG bytes out, same bytes for the same input.  The picture is
drawn 3x larger and scaled down, because Pillow draws circles and polygons without
anti-aliasing.  Geometry follows the usual Chinese official seal: outer ring, the
organisation's name along the upper arc reading clockwise (a long one on two rings, outer
and inner), a five-pointed star in the centre, an optional horizontal line under the star
(e.g. 职称评审专用章) that the name never reaches. ``seal_layout`` says where each character
and the line go; the drawing follows it.
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
MIN_ARC_TEXT_MM = 2.5  # the smallest name a clerk reads on a printed seal (at any seal's size)
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
    its ring (or two), and the line under the star when there is one."""
    layout = seal_layout(org_name, bottom_text, font_path, big, diameter_mm)
    arc = Image.new("L", (big, big), 0)
    _draw_glyphs(arc, layout, font_path)
    masks = [arc]
    if layout.legend is not None:
        line = Image.new("L", (big, big), 0)
        _draw_legend(line, layout.legend, font_path)
        masks.append(line)
    return masks


# --- where the name and the legend go -------------------------------------------------------
#
# Everything in pixels of the seal's square (``big`` wide, centre at big / 2), angles in
# degrees clockwise from the top. A character's box is its em square, set narrower
# (``width``) like the 长宋体 of real seals, standing on the ring: its centre on a circle,
# turned by its angle.

ONE_RING_MIN_SCALE = 0.6  # narrower than this, a long name takes a second ring
MIN_SCALE = 0.6  # the narrowest characters of two rings before they ...
LAST_SCALE = 0.2  # ... are narrowed further (a name too long even for two rings at the floor)
GAP = 0.14  # between characters, of their advance
RING_GAP = 0.15  # between the two rings, of a character's height
CLEARANCE_MM = 0.4  # between a character and the legend
MAX_HALF_SPAN = 150.0  # a name never reaches the seal's lowest point
SHORT_SPREAD = 75.0  # short names are spread over at least twice this, not huddled at the top


@dataclass(frozen=True)
class Glyph:
    """One character of the name as it is placed."""

    char: str
    angle: float  # of its centre
    radius: float  # of its centre
    height: float
    width: float
    centre: tuple[float, float]

    def corners(self, clearance: float = 0.0) -> list[tuple[float, float]]:
        """Its box, turned with it (``clearance`` added on every side)."""
        return _turned_box(self.centre, self.angle, self.width + 2 * clearance, self.height + 2 * clearance)


@dataclass(frozen=True)
class Legend:
    """The line under the star (职称评审专用章): its text, box and type size."""

    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom
    size: int  # the font's size in pixels, before the line is narrowed to its box
    natural_width: float  # the text's width at that size

    def corners(self, clearance: float = 0.0) -> list[tuple[float, float]]:
        left, top, right, bottom = self.box
        return [
            (left - clearance, top - clearance),
            (right + clearance, top - clearance),
            (right + clearance, bottom + clearance),
            (left - clearance, bottom + clearance),
        ]


@dataclass(frozen=True)
class SealLayout:
    glyphs: tuple[Glyph, ...]
    legend: Legend | None
    rings: int
    big: int
    diameter_mm: float

    @property
    def text_mm(self) -> float:
        """The height of the name's characters, in mm."""
        return min(g.height for g in self.glyphs) * self.diameter_mm / self.big

    @property
    def width_scale(self) -> float:
        return min(g.width / g.height for g in self.glyphs)


def seal_layout(
    org_name: str, bottom_text: str | None, font_path: Path, big: int, diameter_mm: float = 40
) -> SealLayout:
    """Where each character of the name and the legend under the star go, from the name's length.

    A name on one ring, as large as fits (up to 0.13 of the seal) and never below
    MIN_ARC_TEXT_MM; one too long for a ring of characters at least ONE_RING_MIN_SCALE as
    wide as high at that floor takes two rings, outer and inner, reading on; one too long
    even for two gets narrower characters, never smaller ones. Neither ring reaches the
    legend: the arcs end where a character would come nearer it than CLEARANCE_MM."""
    name = "".join(org_name.split())
    if not name:
        raise SealImageError("organisation name is empty")
    legend = _legend(bottom_text.strip(), font_path, big) if bottom_text and bottom_text.strip() else None
    clearance = big * CLEARANCE_MM / diameter_mm
    floor = big * MIN_ARC_TEXT_MM / diameter_mm
    outer_edge = big / 2 - big * 0.01 - big * 0.03 - big * 0.025  # ring margin, ring, gap
    n = len(name)

    def rings_at(height: float, count: int) -> list[tuple[float, float]]:
        """(radius, largest angle of a centre) of each ring for characters ``height`` high."""
        found = []
        for k in range(count):
            radius = outer_edge - height / 2 - k * height * (1 + RING_GAP)
            found.append((radius, _free_angle(radius, height, legend, clearance, big)))
        return found

    def scale_for(rings: list[tuple[float, float]], counts: list[int], height: float) -> float:
        """The widest characters (of their height) that the rings hold, at most 1."""
        scale = 1.0
        for (radius, limit), count in zip(rings, counts):
            if count > 1:
                # Measured where characters come nearest each other: their feet, towards the centre.
                step = math.radians(2 * limit) * (radius - height / 2) / (count - 1)
                scale = min(scale, step * (1 - GAP) / height)
        return scale

    heights = []
    height = big * 0.13
    while height > floor:
        heights.append(height)
        height *= 0.95
    heights.append(floor)

    for height in heights:
        rings = rings_at(height, 1)
        scale = scale_for(rings, [n], height)
        if scale >= ONE_RING_MIN_SCALE:
            return _placed(name, [n], rings, height, scale, legend, big, diameter_mm)
    for height in heights:
        rings = rings_at(height, 2)
        counts = _split(n, rings)
        scale = scale_for(rings, counts, height)
        if scale >= MIN_SCALE:
            return _placed(name, counts, rings, height, scale, legend, big, diameter_mm)
    # Two rings at the floor, the characters narrower still (never smaller).
    if scale < LAST_SCALE:
        raise SealImageError(f"organisation name is too long for a seal: {n} characters")
    return _placed(name, counts, rings, floor, scale, legend, big, diameter_mm)


def _split(n: int, rings: list[tuple[float, float]]) -> list[int]:
    """How many characters each ring takes: in proportion to the arc it has, the outer first."""
    lengths = [math.radians(2 * limit) * radius for radius, limit in rings]
    outer = min(n - 1, max(1, round(n * lengths[0] / sum(lengths))))
    return [outer, n - outer]


def _placed(
    name: str,
    counts: list[int],
    rings: list[tuple[float, float]],
    height: float,
    scale: float,
    legend: Legend | None,
    big: int,
    diameter_mm: float,
) -> SealLayout:
    width = height * scale
    step_arc = width / (1 - GAP)  # the advance of a character, at its feet
    glyphs = []
    chars = iter(name)
    for (radius, limit), count in zip(rings, counts):
        step = math.degrees(step_arc / (radius - height / 2))
        span = count * step
        if len(rings) == 1 and count > 1:
            # A short name would huddle at the top: spread it, not beyond where it may go.
            span = max(span, min(2 * SHORT_SPREAD, count * step * 1.6, 2 * limit * count / (count - 1)))
            step = span / count
        for i in range(count):
            angle = -span / 2 + step * (i + 0.5)
            centre = (
                big / 2 + radius * math.sin(math.radians(angle)),
                big / 2 - radius * math.cos(math.radians(angle)),
            )
            glyphs.append(Glyph(next(chars), angle, radius, height, width, centre))
    return SealLayout(tuple(glyphs), legend, len(rings), big, diameter_mm)


def _legend(text: str, font_path: Path, big: int) -> Legend:
    """The line under the star: 0.085 of the seal high, centred 0.245 below the centre,
    narrowed to at most 0.52 of the seal's width."""
    size = round(big * 0.085)
    natural = _font(str(font_path), size).getlength(text)
    width = min(natural, big * 0.52)
    cx, cy = big / 2, big / 2 + big * 0.245
    return Legend(text, (cx - width / 2, cy - size / 2, cx + width / 2, cy + size / 2), size, natural)


def _free_angle(radius: float, height: float, legend: Legend | None, clearance: float, big: int) -> float:
    """The largest angle at which a character's centre may stand on a ring of ``radius``:
    its box (as wide as high: the most it may be) then keeps ``clearance`` from the legend."""
    if legend is None:
        return MAX_HALF_SPAN
    line = legend.corners()
    angle = 0.0
    while angle < MAX_HALF_SPAN:
        nxt = angle + 0.5
        centre = (big / 2 + radius * math.sin(math.radians(nxt)), big / 2 - radius * math.cos(math.radians(nxt)))
        if boxes_overlap(_turned_box(centre, nxt, height + 2 * clearance, height + 2 * clearance), line):
            break
        angle = nxt
    return angle


def _turned_box(centre: tuple[float, float], angle: float, width: float, height: float) -> list[tuple[float, float]]:
    """The corners of a ``width`` × ``height`` box at ``centre``, turned ``angle`` degrees clockwise."""
    cx, cy = centre
    a = math.radians(angle)
    ux, uy = math.cos(a), math.sin(a)  # along the ring
    vx, vy = -math.sin(a), math.cos(a)  # towards the centre
    w, h = width / 2, height / 2
    return [
        (cx + sx * w * ux + sy * h * vx, cy + sx * w * uy + sy * h * vy)
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]


def boxes_overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    """Whether two convex quadrilaterals overlap (separating axes)."""
    for poly in (a, b):
        for i in range(len(poly)):
            x1, y1 = poly[i]
            x2, y2 = poly[(i + 1) % len(poly)]
            nx, ny = y2 - y1, x1 - x2
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            if max(pa) <= min(pb) or max(pb) <= min(pa):
                return False
    return True


def arc_text_mm(
    org_name: str, diameter_mm: float = 40, bottom_text: str | None = None, font_path: Path | None = None
) -> float:
    """The height of the name's characters on a seal of ``diameter_mm``, in mm."""
    return seal_layout(org_name, bottom_text, font_path or default_seal_font(), 1000, diameter_mm).text_mm


def _draw_glyphs(mask: Image.Image, layout: SealLayout, font_path: Path) -> None:
    for g in layout.glyphs:
        size = round(g.height)
        font = _font(str(font_path), size)
        glyph = _glyph(g.char, font, size, g.width / g.height)
        rotated = glyph.rotate(-g.angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = g.centre[0] - rotated.width / 2
        y = g.centre[1] - rotated.height / 2
        mask.paste(255, (round(x), round(y)), rotated)


def _draw_legend(mask: Image.Image, legend: Legend, font_path: Path) -> None:
    font = _font(str(font_path), legend.size)
    line = _line(legend.text, font, legend.size)  # the text centred, half a size of room each side
    left, top, right, bottom = legend.box
    scale = (right - left) / legend.natural_width
    if scale < 1:
        line = line.resize((max(1, round(line.width * scale)), line.height), Image.Resampling.LANCZOS)
    x = (left + right) / 2 - line.width / 2
    y = (top + bottom) / 2 - line.height / 2
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

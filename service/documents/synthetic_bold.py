"""Synthetic bold for the fallback faces, so that a bold name is one weight.

The rare characters of names (龑 U+9F91, 𠇔 U+201D4) come from HanaMinA/B, which
have no bold face: in a bold name such as 欧阳䶮龑, 龑 would be drawn regular
next to three bold characters. ``fonts/fonts.conf`` marks a regular face used
for bold text as bold (fontconfig's usual synthetic-bold rule), so Pango reports
it as e.g. "HanaMinA Bold" and WeasyPrint embeds it as a font of its own. Here,
before the PDF is written, the outlines of each such embedded font are
emboldened; the text layer, the advance widths and so the layout stay as they are.

The outline is offset along each point's bisector, as FreeType's
``FT_Outline_EmboldenXY`` does, but symmetrically: the glyph grows by half the
strength on each side and keeps its place in its em box.
"""

from __future__ import annotations

import io
import math

from fontTools.ttLib import TTFont

BOLD = 600  # CSS/OpenType weights from here on are bold
# Half of FreeType's 1/24 em: an ideograph has many strokes, and at 1/24 em the
# fallback's 龑 got 2.2 times its regular ink where Noto's bold has about 1.5 times.
STRENGTH_EM = 1 / 48


def embolden_synthetic_faces(document, pdf) -> None:
    """A WeasyPrint finisher step: embolden every embedded font that stands in for a missing bold face."""
    names = {font.name for font in document.fonts.values() if font.weight >= BOLD and not font.bitmap}
    if not names:
        return
    for descriptor in pdf.objects:
        if not isinstance(descriptor, dict) or descriptor.get("Type") != "/FontDescriptor":
            continue
        if descriptor.get("FontName") not in names or "FontFile2" not in descriptor:
            continue  # not bold, or CFF outlines (every shipped fallback face is TrueType)
        stream = pdf.objects[int(descriptor["FontFile2"].split()[0])]
        emboldened = embolden_font(b"".join(stream.stream))
        if emboldened is not None:
            stream.stream = [emboldened]
            stream.extra["Length1"] = len(emboldened)


def embolden_font(data: bytes) -> bytes | None:
    """The TrueType font ``data`` with every outline emboldened, or None when the face is bold already."""
    font = TTFont(io.BytesIO(data), lazy=True)
    if "OS/2" in font and font["OS/2"].usWeightClass >= BOLD:
        return None
    glyf, hmtx = font["glyf"], font["hmtx"]
    strength = STRENGTH_EM * font["head"].unitsPerEm
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if glyph.numberOfContours <= 0:
            continue  # empty, or a composite whose components are emboldened themselves
        embolden_glyph(glyph, strength)
        glyph.recalcBounds(glyf)
        width, _ = hmtx[name]
        hmtx[name] = (width, glyph.xMin)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def embolden_glyph(glyph, strength: float) -> None:
    """Offset every contour of a simple glyph outwards by ``strength / 2`` font units."""
    points = [tuple(p) for p in glyph.coordinates]
    clockwise = _signed_area(points, glyph.endPtsOfContours) < 0  # TrueType: outer contours clockwise
    start = 0
    for end in glyph.endPtsOfContours:
        contour = points[start : end + 1]
        for offset, moved in enumerate(_offset_contour(contour, strength / 2, clockwise)):
            glyph.coordinates[start + offset] = moved
        start = end + 1


def _offset_contour(contour: list[tuple[float, float]], half: float, clockwise: bool) -> list[tuple[float, float]]:
    count = len(contour)
    moved = []
    for index, (x, y) in enumerate(contour):
        before = _previous_distinct(contour, index)
        after = _next_distinct(contour, index)
        if before is None or after is None:
            moved.append((x, y))
            continue
        in_x, in_y = _unit(x - before[0], y - before[1])
        out_x, out_y = _unit(after[0] - x, after[1] - y)
        cosine = in_x * out_x + in_y * out_y
        if cosine <= -0.9375 or count < 3:
            moved.append((x, y))  # a turn back of more than ~160°: leave the spike alone
            continue
        # The outward normal of each segment, summed: the bisector, scaled so that
        # both segments move by ``half`` (1 + cos is twice the squared cosine of half the turn).
        # Outward is to the left of the direction of travel on a clockwise outline (and of its
        # counter-clockwise holes, which thereby shrink), to the right on a counter-clockwise one.
        normal_x, normal_y = (-(in_y + out_y), in_x + out_x) if clockwise else (in_y + out_y, -(in_x + out_x))
        scale = half / (1 + cosine)
        moved.append((x + normal_x * scale, y + normal_y * scale))
    return moved


def _previous_distinct(contour, index):
    here = contour[index]
    for step in range(1, len(contour)):
        point = contour[(index - step) % len(contour)]
        if point != here:
            return point
    return None


def _next_distinct(contour, index):
    here = contour[index]
    for step in range(1, len(contour)):
        point = contour[(index + step) % len(contour)]
        if point != here:
            return point
    return None


def _unit(dx: float, dy: float) -> tuple[float, float]:
    length = math.hypot(dx, dy)
    return (dx / length, dy / length) if length else (0.0, 0.0)


def _signed_area(points, ends) -> float:
    area, start = 0.0, 0
    for end in ends:
        contour = points[start : end + 1]
        for (x1, y1), (x2, y2) in zip(contour, contour[1:] + contour[:1]):
            area += x1 * y2 - x2 * y1
        start = end + 1
    return area / 2

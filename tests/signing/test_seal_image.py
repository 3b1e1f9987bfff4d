"""Round seal images: size, transparency, colour, determinism, long names."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageChops, ImageFilter

from service.contract.certificate import MAX_CHARS
from service.documents.seal_image import (
    MIN_ARC_TEXT_MM,
    STAR_RATIO,
    SealImageError,
    arc_text_mm,
    boxes_overlap,
    check_seal_png,
    default_seal_font,
    legend_masks,
    render_round_seal,
    seal_layout,
)

COMMITTEE = "某某省工程技术系列高级职称评审委员会"
VERY_LONG = "中华人民共和国某某自治区某某市某某县人力资源和社会保障局职称改革工作领导小组办公室"


@pytest.fixture(scope="module")
def font():
    path = default_seal_font()
    if not path.is_file():
        pytest.skip(f"no CJK font at {path}: apt-get install fonts-noto-cjk or build fonts/NotoSerifSC-Bold.otf")
    return path


def _open(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    return img


def test_size_mode_and_transparent_corners(font):
    img = _open(render_round_seal(COMMITTEE, "职称评审专用章", font))
    assert img.mode == "RGBA"
    assert img.width == img.height >= 472  # 40 mm at 300 dpi
    for x, y in [(0, 0), (img.width - 1, 0), (0, img.height - 1), (img.width - 1, img.height - 1), (40, 40)]:
        assert img.getpixel((x, y))[3] == 0
    assert img.info.get("dpi", (0, 0))[0] == pytest.approx(300, abs=1)


def test_red_ink_is_present(font):
    img = _open(render_round_seal(COMMITTEE, None, font))
    opaque = sum(img.getchannel("A").histogram()[201:])
    assert opaque > 0.08 * img.width * img.height
    # the star: the centre is solid seal red
    r, g, b, a = img.getpixel((img.width // 2, img.height // 2))
    assert a > 200 and r > 180 and g < 40 and b < 60


def test_bigger_seals_scale(font):
    assert _open(render_round_seal(COMMITTEE, None, font, diameter_mm=42, dpi=600)).width >= 992


def test_deterministic_bytes(font):
    a = render_round_seal(COMMITTEE, "职称评审专用章", font)
    assert a == render_round_seal(COMMITTEE, "职称评审专用章", font)
    assert a != render_round_seal(COMMITTEE, None, font)


@pytest.mark.parametrize("name", ["评委会", COMMITTEE, VERY_LONG, VERY_LONG + VERY_LONG[:20]])
def test_text_stays_inside_the_circle(font, name):
    img = _open(render_round_seal(name, "职称评审专用章", font))
    centre = (img.width - 1) / 2
    radius = img.width / 2
    alpha = img.getchannel("A")
    outside = 0
    for y in range(0, img.height, 2):
        for x in range(0, img.width, 2):
            if math.hypot(x - centre, y - centre) > radius - 1 and alpha.getpixel((x, y)) > 16:
                outside += 1
    assert outside == 0


def test_long_names_do_not_spill_into_the_ring_gap(font):
    """Characters of a 40+ character name stay in the text band: the band between the
    star and the ring (radius 0.6-0.88 of the seal) holds the ink of the name."""
    img = _open(render_round_seal(VERY_LONG + VERY_LONG[:10], None, font))
    alpha = img.getchannel("A")
    c = (img.width - 1) / 2
    inner_ring = img.width * (0.5 - 0.01 - 0.03) - 2
    for angle in range(-110, 111, 5):
        rad = math.radians(angle)
        # a thin circle just inside the ring must stay clear (the text keeps a gap)
        x = c + (inner_ring - img.width * 0.01) * math.sin(rad)
        y = c - (inner_ring - img.width * 0.01) * math.cos(rad)
        assert alpha.getpixel((round(x), round(y))) < 128


def test_empty_name_is_refused(font):
    with pytest.raises(SealImageError):
        render_round_seal("  ", None, font)


def test_caller_png_is_checked_and_normalised(font):
    png = render_round_seal(COMMITTEE, None, font)
    out = check_seal_png(png)
    assert _open(out).mode == "RGBA"
    with pytest.raises(SealImageError):
        check_seal_png(b"GIF89a....")
    with pytest.raises(SealImageError):
        check_seal_png(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    small = io.BytesIO()
    Image.new("RGBA", (50, 50)).save(small, format="PNG")
    with pytest.raises(SealImageError, match="px"):
        check_seal_png(small.getvalue())
    with pytest.raises(SealImageError):
        check_seal_png(b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024))


@pytest.mark.parametrize("length", [24, 39, 45, MAX_CHARS["committee_name"], 80])
def test_long_names_keep_a_legible_legend_clear_of_the_bottom_line(font, length):
    """The longest names the contract allows (60 characters) stay at least 2.5 mm high on
    a 40 mm seal, and never run into the 职称评审专用章 line."""
    name = (VERY_LONG * 2)[:length]
    assert arc_text_mm(name, 40, "职称评审专用章", font) >= MIN_ARC_TEXT_MM
    arc, line = legend_masks(name, "职称评审专用章", font, 1500, 40)
    touching = ImageChops.multiply(
        arc.point(lambda v: 255 if v > 32 else 0),
        line.filter(ImageFilter.MaxFilter(9)).point(lambda v: 255 if v > 32 else 0),
    )
    assert touching.getbbox() is None


# --- the layout: every character placed, none over another or over the legend ---------------

LEGIBLE_MM = 2.2  # the floor a clerk reads at 40 mm (MIN_ARC_TEXT_MM keeps more)
BIG = 1500  # the drawing's pixels (3 × 40 mm at 300 dpi, rounded)


def _name(length: int) -> str:
    return (VERY_LONG * 3)[:length]


@pytest.mark.parametrize("bottom", ["职称评审专用章", None])
@pytest.mark.parametrize("length", [6, 20, 40, MAX_CHARS["committee_name"], 80])
def test_names_of_any_allowed_length_are_legible_and_clear_of_each_other_and_the_legend(font, length, bottom):
    """From the drawing's own layout: every character at least LEGIBLE_MM high (and no
    narrower than half its height), inside the ring, outside the star, no two characters'
    boxes overlapping, none within 0.3 mm of the legend; a name too long for one ring
    takes two."""
    layout = seal_layout(_name(length), bottom, font, BIG, 40)
    glyphs = layout.glyphs
    assert "".join(g.char for g in glyphs) == _name(length)
    mm = BIG / 40
    assert min(g.height for g in glyphs) / mm >= max(LEGIBLE_MM, MIN_ARC_TEXT_MM)
    assert layout.width_scale >= 0.5
    if length <= 20:
        assert layout.rings == 1
    if length >= 60:
        assert layout.rings == 2
    centre = BIG / 2
    ring_inside = BIG * (0.5 - 0.01 - 0.03)
    star = BIG * STAR_RATIO
    for g in glyphs:
        distances = [math.hypot(x - centre, y - centre) for x, y in g.corners()]
        assert max(distances) < ring_inside and min(distances) > star, g
    for i, a in enumerate(glyphs):
        for b in glyphs[i + 1 :]:
            assert not boxes_overlap(a.corners(), b.corners()), (a, b)
    if bottom:
        legend = layout.legend.corners(0.3 * mm)
        assert [g.char for g in glyphs if boxes_overlap(g.corners(), legend)] == []
        # The legend keeps its size whatever the name: 0.085 of the seal (3.4 mm) high.
        left, top, right, bottom_edge = layout.legend.box
        assert (bottom_edge - top) / mm == pytest.approx(3.4, abs=0.05) and right - left > 15 * mm
    else:
        assert layout.legend is None


@pytest.mark.parametrize("length", [6, 20, 40, 60, 80])
def test_long_names_drawn_as_laid_out_keep_off_the_legend_and_are_deterministic(font, length):
    """The ink follows the layout: no pixel of the name touches the legend's line (grown by
    3 px), and the same name gives the same bytes."""
    arc, line = legend_masks(_name(length), "职称评审专用章", font, BIG, 40)
    touching = ImageChops.multiply(
        arc.point(lambda v: 255 if v > 32 else 0),
        line.filter(ImageFilter.MaxFilter(7)).point(lambda v: 255 if v > 32 else 0),
    )
    assert touching.getbbox() is None
    assert render_round_seal(_name(length), "职称评审专用章", font) == render_round_seal(
        _name(length), "职称评审专用章", font
    )


def test_a_name_of_the_longest_an_organisation_may_have_still_gets_a_seal(font):
    """Organisations' names may run to 200 characters (the admin API): two rings at the floor,
    narrower characters, never smaller ones."""
    layout = seal_layout("某" * 200, "职称评审专用章", font, BIG, 40)
    assert layout.rings == 2 and layout.text_mm >= MIN_ARC_TEXT_MM
    with pytest.raises(SealImageError, match="too long"):
        seal_layout("某" * 400, "职称评审专用章", font, BIG, 40)

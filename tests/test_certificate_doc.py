"""The e-certificate document: the request contract, the QR code, text fitting, the
rendered page (fields, QR, rare characters, no overlap at any allowed length, golden
images) and the seal areas, sealed for real with the development PKI."""

from __future__ import annotations

import copy
import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pydantic import ValidationError
from pypdfium2 import raw

from service import FONTS_DIR
from service.certificates.identifiers import make_identifier
from service.contract.certificate import MAX_CHARS, CertificateRequest
from service.documents.qr import qr_matrix, qr_png, qr_svg
from service.documents.seal_image import STAR_RATIO
from service.documents.tabular import advances_for
from service.forms.certificate import (
    DEFAULT_TITLE,
    INNER_FRAME,
    MM_PT,
    NOTICE_BOX,
    PAGE_MM,
    PHOTO_BOX,
    QR_BOX,
    QR_CAPTION_BOX,
    SEAL_AREAS,
    SEAL_BOXES,
    SEAL_MM,
    SEAL_RECTS,
    SLOT_BY_KEY,
    SLOTS,
    Box,
    LayoutError,
    field_values,
    fit_text,
    place,
    render_certificate,
    wrap_text,
)
from tests.conftest import load_contract
from tests.golden import assert_matches_golden
from tests.pdftext import attachments, fonts_of_chars, page_texts, squash

NUMBER = "9422024420001000123"
REGULAR = advances_for(FONTS_DIR / "NotoSerifSC-Regular.otf")
VERIFY_URL = "https://zc.rst.example.gov.cn/v/Xq3vR0b9KfT2mLs8WcYp1A"
CONTRACT = load_contract("certificate-request.json")


def identifier_for(request: CertificateRequest) -> str:
    return make_identifier(type_code="0102", issuer_uscc=request.issuer.code, serial=NUMBER, version=1)


def request_of(data: dict) -> CertificateRequest:
    return CertificateRequest.model_validate(data)


def render(renderer, request: CertificateRequest, **kw) -> bytes:
    return render_certificate(
        renderer, request, number=NUMBER, identifier=identifier_for(request), verify_url=VERIFY_URL, **kw
    )


def filled(pattern: str, length: int) -> str:
    return (pattern * (length // len(pattern) + 1))[:length]


def with_texts(texts: dict[str, str], **holder) -> dict:
    """The contract request with every text field replaced from ``texts`` (by MAX_CHARS key)."""
    data = copy.deepcopy(CONTRACT)
    h, q, c, i = data["holder"], data["qualification"], data["committee"], data["issuer"]
    h["name"], h["work_unit"] = texts["name"], texts["work_unit"]
    q.update({k: texts[k] for k in ("series", "specialty", "title", "nature", "approval_doc_no")})
    c["name"], i["name"] = texts["committee_name"], texts["issuer_name"]
    h.update(holder)
    return data


TEXT_KEYS = (
    "name",
    "work_unit",
    "series",
    "specialty",
    "title",
    "nature",
    "approval_doc_no",
    "committee_name",
    "issuer_name",
)
# Every printed text at its limit: realistic Chinese, and the widest glyph of the
# main face (Ш, 1.151 em) with a Latin run (W) as the ID number.
LONGEST = with_texts(
    {k: filled("新疆维吾尔自治区乌鲁木齐市·阿卜杜热合曼〔2024〕", MAX_CHARS[k]) for k in TEXT_KEYS},
    id_type="护照",
    id_number=filled("E1234567890", MAX_CHARS["id_number"]),
)
WIDEST = with_texts({k: "Ш" * MAX_CHARS[k] for k in TEXT_KEYS}, id_type="护照", id_number="W" * MAX_CHARS["id_number"])
SHORTEST = with_texts({k: "工" for k in TEXT_KEYS}, id_type="护照", id_number="E")


@pytest.fixture(scope="module")
def contract_request() -> CertificateRequest:
    return request_of(CONTRACT)


@pytest.fixture(scope="module")
def contract_pdf(renderer, contract_request) -> bytes:
    return render(renderer, contract_request)


# --- the contract ----------------------------------------------------------------------


def test_contract_request_validates_as_it_is(contract_request):
    assert contract_request.holder.name == "张三"
    assert contract_request.qualification.route == "评审"
    assert contract_request.issuer.code == "11420000011043123X"


@pytest.mark.parametrize("data", [LONGEST, WIDEST, SHORTEST], ids=["longest", "widest", "shortest"])
def test_limits_are_accepted(data):
    request_of(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("holder", "name"), "张" * (MAX_CHARS["name"] + 1), "过长"),
        (("committee", "name"), "委" * (MAX_CHARS["committee_name"] + 1), "过长"),
        (("holder", "id_number"), "42010619890526152", "18 位"),
        (("issuer", "code"), "11420000011043123I", "统一社会信用代码"),
        (("qualification", "route"), "正常", "评审"),
        (("qualification", "acquired_on"), "2025-01-01", "不能晚于发证日期"),
        (("holder", "photo", "data_base64"), "bm90IGFuIGltYWdl", "照片"),
    ],
)
def test_bad_requests_are_refused_in_chinese(path, value, message):
    from service.config import Limits
    from service.contract.parse import validate_payload
    from service.errors import InvalidInput

    data = copy.deepcopy(CONTRACT)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidInput) as caught:
        validate_payload(CertificateRequest, data, Limits())
    assert any(message in e.message for e in caught.value.errors), caught.value.errors


def test_request_is_immutable(contract_request):
    with pytest.raises(ValidationError):
        contract_request.holder.name = "李四"


# --- QR code ------------------------------------------------------------------------------


def test_qr_code_is_deterministic_with_quiet_zone():
    assert qr_svg(VERIFY_URL) == qr_svg(VERIFY_URL)
    assert qr_png(VERIFY_URL) == qr_png(VERIFY_URL)
    matrix = qr_matrix(VERIFY_URL)
    quiet = matrix[:4] + matrix[-4:] + [row[:4] + row[-4:] for row in matrix]
    assert not any(any(row) for row in quiet)
    svg = qr_svg(VERIFY_URL)
    assert svg.count("<path") == 1 and 'width="25mm"' in svg
    assert 25 / len(matrix) >= 0.5  # mm per module at the printed size


def test_qr_png_decodes():
    from PIL import Image

    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(VERIFY_URL, scale=4))))
    assert code.text == VERIFY_URL


def test_qr_refuses_a_url_too_dense_to_scan():
    with pytest.raises(ValueError, match="too dense"):
        qr_svg("https://example.org/v/" + "x" * 400)


# --- fitting text -----------------------------------------------------------------------------


def test_fit_text_keeps_the_largest_size_that_fits():
    a = {"advances": REGULAR}
    assert fit_text("张三", 75, 1, 13, 7, **a) == 13
    # 40 ideographs: 1 line would need 5.3 pt; 2 lines of 20 fit at 10.5 pt.
    assert fit_text("字" * 40, 75, 1, 13, 7, **a) == 7
    assert fit_text("字" * 40, 75, 2, 13, 7, **a) == 10.5
    # ... unless the box is too low for two such lines: 7 mm holds two of 7.75 pt
    assert fit_text("字" * 40, 75, 2, 13, 7, box_height_mm=7, **a) == 7.75


def test_wrap_text_follows_chinese_line_breaking_rules():
    lines = wrap_text("鄂职称〔2024〕15号，附件（一）", 20, 12, advances=REGULAR)
    assert "".join(lines) == "鄂职称〔2024〕15号，附件（一）"
    for line in lines:
        assert line[0] not in "，〕）" and line[-1] not in "〔（"
    assert any("2024" in line for line in lines)  # numbers are not cut when a line can hold them
    # A word longer than a whole line is cut between its letters, and nothing is lost.
    cut = wrap_text("W" * 60, 20, 12, advances=REGULAR)
    assert len(cut) > 1 and "".join(cut) == "W" * 60


def test_wrap_text_leaves_no_lone_last_character():
    width = REGULAR.width_em("武汉市人力资源和社会保障") * 10.5 * 25.4 / 72 + 0.5  # room for 12 of the 13
    lines = wrap_text("武汉市人力资源和社会保障局", width, 10.5, advances=REGULAR)
    assert "".join(lines) == "武汉市人力资源和社会保障局" and len(lines) == 2 and len(lines[-1]) >= 2


def test_a_title_too_long_for_the_page_is_an_error(renderer, contract_request):
    with pytest.raises(LayoutError):
        render(renderer, contract_request, province_title="专业技术资格证书" * 8)


# --- the page -------------------------------------------------------------------------------


def test_contract_request_renders_one_landscape_page(contract_pdf):
    document = pdfium.PdfDocument(contract_pdf)
    try:
        assert len(document) == 1
        width, height = document[0].get_size()
        assert (round(width / MM_PT), round(height / MM_PT)) == PAGE_MM
    finally:
        document.close()


def test_text_layer_holds_every_printed_field(contract_pdf, contract_request):
    text = squash(page_texts(contract_pdf)[0])
    values = field_values(
        contract_request, number=NUMBER, identifier=identifier_for(contract_request), title=DEFAULT_TITLE
    )
    for key, value in values.items():
        assert squash(value) in text, key
    for expected in (
        "张三",
        "女",
        "1989年05月",
        "420106198905261525",
        "工程技术人员",
        "化工",
        "工程师",
        "中级",
        "评审",
        "社会化",
        "2024年12月20日",
        "鄂职称〔2024〕15号",
        "湖北省人力资源和社会保障厅",
        "湖北省工程技术中级专业技术职务任职资格评审委员会",
        "2024年12月30日",
        NUMBER,
        "扫码查验",
    ):
        assert expected in text
    for slot in SLOTS:
        if slot.label:
            assert squash(slot.label) in text


def test_province_wording_of_the_title(renderer, contract_request):
    pdf = render(renderer, contract_request, province_title="专业技术职务任职资格证书")
    assert "专业技术职务任职资格证书" in squash(page_texts(pdf)[0])


def test_pdf_a_3b_with_the_certificate_data_attached(contract_pdf, contract_request):
    from pyhanko.pdf_utils.reader import PdfFileReader

    root = PdfFileReader(io.BytesIO(contract_pdf)).root
    xmp = root["/Metadata"].data.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    # PDF/A forbids /Interpolate true on images (ISO 19005-2, 6.2.8).
    images = root["/Pages"]["/Kids"][0].get_object()["/Resources"]["/XObject"]
    assert len(images) == 2 and all(not x.get_object().get("/Interpolate", False) for x in images.values())
    attached = json.loads(attachments(contract_pdf)["certificate.json"])
    assert attached["number"] == NUMBER and attached["verify_url"] == VERIFY_URL
    assert attached["identifier"] == identifier_for(contract_request)
    assert attached["holder"]["id_number"] == "420106198905261525"
    assert "photo" not in attached["holder"]


@pytest.mark.skipif(not (shutil.which("qpdf") and shutil.which("pdffonts")), reason="needs qpdf and poppler-utils")
def test_the_drawn_page_passes_qpdf_and_every_font_is_an_embedded_subset_with_unicode(contract_pdf, tmp_path):
    """Read by tools nobody here wrote: qpdf finds the structure sound (no warning), and
    poppler's pdffonts lists every font embedded, subset, with a ToUnicode map."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(contract_pdf)
    checked = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0 and "WARNING" not in checked.stdout + checked.stderr, checked.stdout
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listed.splitlines()[2:]]
    assert {row[0].split("+", 1)[1] for row in rows} == {"NotoSerifSC-Regular", "NotoSerifSC-Bold"}
    for row in rows:  # name, type (two words), encoding, emb, sub, uni, object, generation
        assert row[1:3] == ["CID", "TrueType"] and row[4:7] == ["yes", "yes", "yes"], row


def test_output_is_deterministic(renderer, contract_request, contract_pdf):
    assert render(renderer, contract_request) == contract_pdf


_RENDER_SCRIPT = """
import json, sys
from service.forms.certificate import render_certificate
from service.config import Settings
from service.contract.certificate import CertificateRequest
from service.documents.render import Renderer
s = Settings()
request = CertificateRequest.model_validate(json.load(open(sys.argv[1], encoding="utf-8")))
pdf = render_certificate(Renderer(s.templates_dir, s.fonts_dir), request, number=sys.argv[2], identifier=sys.argv[3],
                         verify_url=sys.argv[4])
sys.stdout.buffer.write(pdf)
"""


def test_byte_identical_across_processes(contract_pdf, contract_request, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    source = tmp_path / "request.json"
    source.write_text(json.dumps(CONTRACT, ensure_ascii=False), "utf-8")
    args = [sys.executable, "-c", _RENDER_SCRIPT, str(source), NUMBER, identifier_for(contract_request), VERIFY_URL]
    root = Path(__file__).resolve().parent.parent
    outputs = []
    for seed in ("1", "2"):
        result = subprocess.run(
            args, capture_output=True, check=True, cwd=root, env={**os.environ, "PYTHONHASHSEED": seed}
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == contract_pdf


def test_qr_code_scans_from_the_rasterized_page(contract_pdf):
    document = pdfium.PdfDocument(contract_pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [VERIFY_URL]
    # ... and it is where the layout puts it (pixels at 200 dpi)
    left, top = codes[0].position.top_left.x / 200 * 25.4, codes[0].position.top_left.y / 200 * 25.4
    module = QR_BOX.w / len(qr_matrix(VERIFY_URL))
    assert abs(left - (QR_BOX.x + 4 * module)) < 1 and abs(top - (QR_BOX.y + 4 * module)) < 1


@pytest.mark.parametrize("name", ["刘䶮", "王𠇔"])
def test_rare_name_characters_render_through_a_face_that_has_them(renderer, name):
    data = copy.deepcopy(CONTRACT)
    data["holder"]["name"] = name
    pdf = render(renderer, request_of(data))
    assert name in squash(page_texts(pdf)[0])
    fonts = fonts_of_chars(pdf, name[1])[name[1]]
    assert fonts, f"{name[1]} is not drawn"
    if name[1] == "𠇔":  # outside the main face's subset: the CJK Ext. B fallback
        assert all("HanaMinB" in font for font in fonts), fonts


# --- no overlap ------------------------------------------------------------------------------


def regions(request: CertificateRequest, notice: str | None = None) -> dict[str, tuple[Box, str]]:
    """Every text on the page: its box and its expected (squashed) text."""
    values = field_values(
        request, number=NUMBER, identifier=identifier_for(request), title=DEFAULT_TITLE, notice=notice
    )
    found = {slot.key: (slot.box, squash(values[slot.key])) for slot in SLOTS if slot.key in values}
    found.update({f"label:{slot.key}": (slot.label_box, squash(slot.label)) for slot in SLOTS if slot.label})
    found["qr-caption"] = (QR_CAPTION_BOX, "扫码查验")
    return found


def glyphs(pdf: bytes) -> list[tuple[str, Box]]:
    """Each drawn character with its tight bounding box, in mm from the top-left corner."""
    document = pdfium.PdfDocument(pdf)
    found = []
    try:
        textpage = document[0].get_textpage()
        count = textpage.count_chars()
        for index in range(count):
            code = raw.FPDFText_GetUnicode(textpage, index)
            if 0xDC00 <= code < 0xE000:
                continue  # the second half of a character beyond the BMP
            if 0xD800 <= code < 0xDC00:
                code = 0x10000 + ((code - 0xD800) << 10) + (raw.FPDFText_GetUnicode(textpage, index + 1) - 0xDC00)
            char = chr(code)
            if char.isspace() or not char.isprintable():
                continue
            left, bottom, right, top = textpage.get_charbox(index, loose=False)
            found.append(
                (char, Box(left / MM_PT, PAGE_MM[1] - top / MM_PT, (right - left) / MM_PT, (top - bottom) / MM_PT))
            )
    finally:
        document.close()
    return found


def inside(inner: Box, outer: Box, tolerance: float = 0.2) -> bool:
    return (
        inner.x >= outer.x - tolerance
        and inner.right <= outer.right + tolerance
        and inner.y >= outer.y - tolerance
        and inner.bottom <= outer.bottom + tolerance
    )


def test_layout_boxes_never_meet():
    boxes = [(slot.key, slot.box) for slot in SLOTS] + [(f"label:{s.key}", s.label_box) for s in SLOTS if s.label]
    fixed = [("photo", PHOTO_BOX), ("qr", QR_BOX), ("qr-caption", QR_CAPTION_BOX)]
    for i, (name, box) in enumerate(boxes + fixed):
        assert inside(box, INNER_FRAME, 0), name
        for other_name, other in (boxes + fixed)[i + 1 :]:
            assert not box.intersects(other), (name, other_name)
    assert not SEAL_BOXES["Committee"].intersects(SEAL_BOXES["Issuer"])
    for seal, own in SEALED.items():
        assert inside(SEAL_BOXES[seal], INNER_FRAME, 0)
        met = {name for name, box in boxes + fixed if box.intersects(SEAL_BOXES[seal])}
        assert met == own, (seal, met)


@pytest.mark.parametrize(
    "data", [CONTRACT, LONGEST, WIDEST, SHORTEST], ids=["contract", "longest", "widest", "shortest"]
)
def test_every_text_stays_in_its_own_box(renderer, data):
    request = request_of(data)
    pdf = render(renderer, request)
    expected = regions(request)
    printed: dict[str, list[tuple[str, Box]]] = {name: [] for name in expected}
    for char, glyph in glyphs(pdf):
        owners = [name for name, (box, _) in expected.items() if inside(glyph, box)]
        assert len(owners) == 1, f"{char!r} at {glyph} lies in {owners or 'no box'}"
        printed[owners[0]].append((char, glyph))
    for name, (_box, text) in expected.items():
        assert "".join(c for c, _ in printed[name]) == text, name
    # The texts' own bounds: apart from each other, the photo, the QR code, and the
    # seal areas (each seal covers its organisation's name and nothing else).
    bounds = {name: _union([g for _, g in chars]) for name, chars in printed.items()}
    names = list(bounds)
    for i, name in enumerate(names):
        for other in names[i + 1 :]:
            assert not bounds[name].intersects(bounds[other]), (name, other)
        assert not bounds[name].intersects(PHOTO_BOX) and not bounds[name].intersects(QR_BOX), name
        for seal, own in SEALED.items():
            assert name in own or not bounds[name].intersects(SEAL_BOXES[seal]), (name, seal)
    assert bounds["committee"].intersects(SEAL_BOXES["Committee"]) and bounds["issuer"].intersects(SEAL_BOXES["Issuer"])
    assert bounds["issue_date"].intersects(SEAL_BOXES["Issuer"])


def test_the_public_copy_says_what_it_is_inside_the_frame_above_the_title(renderer, contract_request):
    from service.forms.certificate import PUBLIC_NOTICE, render_public_copy

    pdf = render_public_copy(
        renderer, contract_request, number=NUMBER, identifier=identifier_for(contract_request), verify_url=VERIFY_URL
    )
    notice = [glyph for char, glyph in glyphs(pdf) if glyph.bottom < SLOT_BY_KEY["heading"].box.y]
    assert "".join(char for char, glyph in glyphs(pdf) if glyph.bottom < SLOT_BY_KEY["heading"].box.y) == squash(
        PUBLIC_NOTICE
    )
    # inside the frame's inner rule, clear of its lines (not standing on them, as it once did)
    assert all(inside(glyph, INNER_FRAME, 0) for glyph in notice)
    assert "照片不公开" in squash(page_texts(pdf)[0]) and not attachments(pdf)


# What each seal presses down on (GB/T 9704-2012 7.3.5.1): the signing body's name, and
# under the 发证机关's seal the issue date.
SEALED = {"Committee": {"committee"}, "Issuer": {"issuer", "issue_date", "label:issue_date"}}


def _union(boxes: list[Box]) -> Box:
    x, y = min(b.x for b in boxes), min(b.y for b in boxes)
    return Box(x, y, max(b.right for b in boxes) - x, max(b.bottom for b in boxes) - y)


def test_photo_and_qr_code_are_where_the_layout_says(contract_pdf):
    document = pdfium.PdfDocument(contract_pdf)
    try:
        images = [obj.get_bounds() for obj in document[0].get_objects() if obj.type == raw.FPDF_PAGEOBJ_IMAGE]
    finally:
        document.close()
    placed = [(x0 / MM_PT, PAGE_MM[1] - y1 / MM_PT, (x1 - x0) / MM_PT, (y1 - y0) / MM_PT) for x0, y0, x1, y1 in images]
    wanted = [(box.x, box.y, box.w, box.h) for box in (PHOTO_BOX, QR_BOX)]
    assert len(placed) == 2
    for got, want in zip(sorted(placed, key=lambda b: b[1]), wanted):
        assert all(abs(a - b) < 0.1 for a, b in zip(got, want)), (got, want)


# --- the seals: where they press, and what stays legible under them ------------------------

UNSEALED = "本证书未加盖电子印章，加盖实物印章后有效"
# A committee name of 38 characters with a bracketed level in it (issue 13).
BRACKETED = "湖北省工程技术系列高级职称评审委员会武汉东湖新技术开发区分会（正高级工程师）"


def _star(seal: Box) -> Box:
    """The bounds of the seal's star: a pentagram of outer radius STAR_RATIO of the diameter,
    point up (its arms reach sin 72° of that across, its feet cos 36° below the centre)."""
    radius = STAR_RATIO * SEAL_MM
    half_width, foot = radius * math.sin(math.radians(72)), radius * math.cos(math.radians(36))
    cx, cy = seal.x + seal.w / 2, seal.y + seal.h / 2
    return Box(cx - half_width, cy - radius, 2 * half_width, radius + foot)


@pytest.mark.parametrize("data", [CONTRACT, LONGEST, WIDEST], ids=["contract", "longest", "widest"])
def test_the_seals_press_on_the_names_below_their_star(renderer, data):
    """GB/T 9704-2012 7.3.5.1: the seal presses down on the signing body's name and the
    date, which sit slightly below its centre: the star stays above the text."""
    pdf = render(renderer, request_of(data))
    printed = glyphs(pdf)
    for seal, box in SEAL_BOXES.items():
        star = _star(box)
        assert not [c for c, g in printed if g.intersects(star)], seal
        under = [g for _, g in printed if g.intersects(box)]
        assert under and all(g.y > box.y + box.h / 2 for g in under), seal
    issuer = SEAL_BOXES["Issuer"]
    date = [g for c, g in printed if inside(g, SLOT_BY_KEY["issue_date"].box)]
    assert date and all(g.intersects(issuer) or g.y >= issuer.bottom - 3 for g in date)


@pytest.mark.parametrize(
    "name",
    [BRACKETED, LONGEST["committee"]["name"], WIDEST["committee"]["name"]],
    ids=["bracketed", "longest", "widest"],
)
def test_long_organisation_names_fit_two_lines_never_broken_inside_brackets(name):
    for key in ("committee", "issuer"):
        placed = place(SLOT_BY_KEY[key], name, FONTS_DIR)
        assert len(placed.lines) <= 2 and "".join(placed.lines) == name.replace(" ", "")
        for line in placed.lines:
            assert line.count("（") == line.count("）") and line.count("〔") == line.count("〕"), placed.lines


def test_a_name_in_two_lines_breaks_between_its_parts():
    placed = place(SLOT_BY_KEY["committee"], BRACKETED, FONTS_DIR)
    assert placed.lines == ("湖北省工程技术系列高级职称评审委员会", "武汉东湖新技术开发区分会（正高级工程师）")
    placed = place(
        SLOT_BY_KEY["issuer"], "武汉东湖新技术开发区人力资源和社会保障局（武汉市东湖新技术开发区管理委员会）", FONTS_DIR
    )
    assert placed.lines[0].endswith("保障局") and placed.lines[1].startswith("（")


def test_an_unsealed_certificate_says_so_in_a_line_and_its_metadata(renderer, contract_request, contract_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    unsealed = render(renderer, contract_request, unsealed_notice=UNSEALED)
    assert UNSEALED in squash(page_texts(unsealed)[0]) and UNSEALED not in squash(page_texts(contract_pdf)[0])
    reader = PdfFileReader(io.BytesIO(unsealed))
    assert reader.trailer["/Info"]["/Subject"] == UNSEALED
    assert UNSEALED in reader.root["/Metadata"].data.decode()
    # The line is in its own box, clear of the seal areas (kept clean for a stamp pressed by hand) ...
    expected = regions(contract_request, UNSEALED)
    notice = [g for c, g in glyphs(unsealed) if inside(g, NOTICE_BOX)]
    assert len(notice) == len(expected["notice"][1])
    assert not any(g.intersects(seal) for g in notice for seal in SEAL_BOXES.values())
    # ... and sealed later, the certificate is the same page without it: same number, same QR code.
    from PIL import ImageChops

    from tests.golden import rasterize

    (with_line,), (without,) = rasterize(unsealed, 100), rasterize(contract_pdf, 100)
    left, top, right, bottom = ImageChops.difference(with_line, without).getbbox()
    px = 100 / 25.4
    assert Box(left / px, top / px, (right - left) / px, (bottom - top) / px).intersects(NOTICE_BOX)
    assert inside(Box(left / px, top / px, (right - left) / px, (bottom - top) / px), NOTICE_BOX, 0.5)


# --- golden images -------------------------------------------------------------------------


def test_golden_contract(renderer, contract_request):
    # as issued: the QR code holds the URL and the signed payload of docs/qr-payload.md's vectors
    payload = json.loads((Path(__file__).parent / "data/offline/vectors.json").read_text(encoding="utf-8"))["payload"]
    pdf = render(renderer, contract_request, offline_payload=payload)
    assert_matches_golden(pdf, "certificate/contract")


def test_golden_longest(renderer):
    assert_matches_golden(render(renderer, request_of(LONGEST)), "certificate/longest")


# --- seals ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from service.config import Settings
    from service.registry.db import make_engine, migrate, session_factory
    from service.sealing.startup import build_sealer_pool
    from tests.signing.conftest import FROZEN

    settings = Settings(data_dir=tmp_path_factory.mktemp("certificate-seals") / "data")
    settings.data_dir.mkdir()
    engine = make_engine(settings.registry_url)
    migrate(engine)
    pool = build_sealer_pool(settings, session_factory(engine), FROZEN, environ={}, fixed_time=FROZEN)
    yield pool
    pool.close()


def test_seal_areas_match_the_printed_seal_boxes():
    committee, issuer = SEAL_AREAS
    assert (committee.name, issuer.name) == ("Committee", "Issuer")
    assert committee.page == issuer.page == 0
    assert committee.rect == SEAL_RECTS["Committee"] and issuer.rect == SEAL_RECTS["Issuer"]
    for field in (committee, issuer):
        x1, y1, x2, y2 = field.rect
        assert abs((x2 - x1) - 40 * MM_PT) < 0.05 and abs((y2 - y1) - 40 * MM_PT) < 0.05


def _colour(pdf: bytes):
    document = pdfium.PdfDocument(pdf)
    try:
        document.init_forms()
        return document[0].render(scale=150 / 72, may_draw_forms=True).to_pil().convert("RGB")
    finally:
        document.close()


def test_the_red_of_a_seal_is_multiplied_over_the_text(pool, contract_pdf, contract_request):
    """Ink on paper: under the seals, the names and the date stay black, never painted red."""
    sealed = pool.seal(contract_pdf, contract_request.committee.code, contract_request.issuer.code, SEAL_AREAS)
    before, after = _colour(contract_pdf), _colour(sealed)
    px = 150 / 25.4
    black = reddened = 0
    for box in SEAL_BOXES.values():
        for y in range(round(box.y * px), round(box.bottom * px)):
            for x in range(round(box.x * px), round(box.right * px)):
                if sum(before.getpixel((x, y))) < 150:  # text, before sealing
                    black += 1
                    r, g, b = after.getpixel((x, y))
                    reddened += r > 140 and g < 90
    assert black > 500 and reddened == 0, (black, reddened)


def test_sealed_certificate_validates_with_seals_on_the_names(pool, contract_pdf, contract_request):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    sealed = pool.seal(contract_pdf, contract_request.committee.code, contract_request.issuer.code, SEAL_AREAS)
    report = pool.validate(sealed)
    assert report.verdict == "valid", report.reasons
    first, second = report.seals
    assert (first.field_name, second.field_name) == ("Committee", "Issuer")
    assert first.organisation == contract_request.committee.name and second.organisation == contract_request.issuer.name

    reader = PdfFileReader(io.BytesIO(sealed))
    rects = {name: tuple(float(v) for v in ref.get_object()["/Rect"]) for name, _, ref in enumerate_sig_fields(reader)}
    for name, rect in SEAL_RECTS.items():
        assert all(abs(a - b) < 0.01 for a, b in zip(rects[name], rect)), (name, rects[name], rect)
    # The seals sit on the organisations' names as printed: centred across, the names
    # below the seal's centre.
    printed = glyphs(contract_pdf)
    for seal, key in (("Committee", "committee"), ("Issuer", "issuer")):
        name = _union([g for _, g in printed if inside(g, SLOT_BY_KEY[key].box)])
        box = SEAL_BOXES[seal]
        assert abs(name.x + name.w / 2 - (box.x + box.w / 2)) < 1.5, seal
        assert box.y + box.h / 2 < name.y < box.bottom, seal

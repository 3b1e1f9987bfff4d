"""The review form 专业技术资格评审表: content, structure, PDF/A, determinism."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from service import FONTS_DIR
from service.config import Limits
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.documents.filters import cn_date, dot_date
from service.forms.review_form import SPEC
from service.forms.spec import RenderContext, render_form
from tests import variants
from tests.pdftext import attachments, fonts_of_chars, image_count, page_texts, pdf_text, squash

ROOT = Path(__file__).resolve().parent.parent
SKIP_KEYS = {"data_base64", "media_type", "size_bytes"}
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def render(renderer, payload: dict, ctx: RenderContext = RenderContext(FONTS_DIR)) -> bytes:
    return render_form(renderer, SPEC, validate_payload(Declaration, payload, Limits()), ctx)


def printed_strings(value, key=None):
    """Every value of the payload as the form prints it (a tuple: any of these ways)."""
    if key in SKIP_KEYS:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from printed_strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from printed_strings(item, key)
    elif isinstance(value, bool):
        yield "是" if value else "否"
    elif isinstance(value, (int, float)):
        yield str(int(value)) if float(value).is_integer() else str(value)
    elif isinstance(value, str):
        if _DATE.match(value):
            yield (dot_date(value), cn_date(value))
        elif key == "submitted_at":
            day = datetime.fromisoformat(value).date()
            yield (dot_date(day), cn_date(day))
        else:
            yield value


def printed(expected, text: str) -> bool:
    choices = expected if isinstance(expected, tuple) else (expected,)
    return any(squash(choice) in text for choice in choices)


@pytest.fixture(scope="module")
def contract_pdf(renderer, contract_declaration) -> bytes:
    return render(renderer, contract_declaration)


def test_every_input_string_is_in_the_text_layer(contract_pdf, contract_declaration):
    text = pdf_text(contract_pdf)
    missing = [s for s in printed_strings(contract_declaration) if not printed(s, text)]
    assert missing == []


@pytest.mark.parametrize("variant", [variants.teacher, variants.exceptional, variants.transfer, variants.many_rows])
def test_every_input_string_is_in_the_text_layer_of_each_variant(renderer, declaration, variant):
    payload = variant(declaration)
    text = pdf_text(render(renderer, payload))
    missing = [s for s in printed_strings(payload) if not printed(s, text)]
    assert missing == []


def test_every_page_carries_its_number_and_the_total(contract_pdf):
    pages = page_texts(contract_pdf)
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in squash(text)


def test_sections_come_in_the_order_of_the_official_form(contract_pdf):
    text = pdf_text(contract_pdf)
    headings = [
        "专业技术资格评审表",
        "一、基本情况",
        "二、学历教育",
        "继续教育与培训经历",
        "三、工作经历",
        "四、年度考核",
        "五、任职以来主要工作业绩和履行岗位职责情况",
        "六、任现职以来主要专业技术工作业绩",
        "七、业绩成果（一）论文",
        "（二）著作",
        "（三）专利",
        "（四）获奖",
        "（五）项目课题",
        "八、审核与评审意见",
        "基层单位意见",
        "公示情况",
        "评审委员会评审意见",
        "应到人数实到人数同意不同意弃权",
        "审批（备案）意见",
        "附：申报材料目录",
    ]
    positions = [text.find(h) for h in headings]
    assert -1 not in positions, [h for h, p in zip(headings, positions) if p < 0]
    assert positions == sorted(positions)


def test_empty_sections_print_none(renderer, declaration):
    text = pdf_text(render(renderer, variants.minimal(declaration)))
    for header in [
        "论文发表时间论文题目刊物名称ISSNCN本人排名",
        "著作出版时间著作名称出版社ISBN本人角色撰写字数（万字）",
        "工作经历起止时间工作单位职务/岗位从事专业技术工作证明人",
        "年度考核考核年度考核结果考核年度考核结果",
    ]:
        assert header + "无" in text, header
    assert "岗位职责情况无" in text


def test_optional_personal_fields_left_empty_print_none(renderer, declaration):
    """曾用名, 行政职务, 学术团体兼职 and 外语水平 the payload leaves out print 无, as empty sections
    do (DOMAIN.md: the archive copy shows they were considered); given, they print themselves."""
    applicant = declaration["applicant"]
    applicant.update(former_name=None, administrative_post=None, academic_societies=None, foreign_language=None)
    text = pdf_text(render(renderer, declaration))
    assert "曾用名无出生日期" in text
    assert "行政职务无申报资格" in text
    assert "学术团体兼职无外语水平无" in text
    applicant.update(former_name="张珊", administrative_post="工艺室副主任", foreign_language="大学英语六级")
    text = pdf_text(render(renderer, declaration))
    assert "曾用名张珊出生日期" in text and "行政职务工艺室副主任申报资格" in text and "外语水平大学英语六级" in text


def test_ranks_print_under_a_heading_that_says_so(contract_pdf, contract_declaration):
    """Ranks (1/6) print in columns headed 本人排名: papers, patents, awards."""
    text = pdf_text(contract_pdf)
    for heading in ("ISSNCN本人排名", "专利号本人排名", "授奖单位本人排名"):
        assert heading in text, heading
    award = contract_declaration["awards"][0]
    assert f"{award['issuer']}{award['rank']}" in text


def test_the_exception_route_always_prints_its_basis(renderer, declaration):
    payload = variants.exceptional(declaration)
    del payload["application"]["exception"]
    text = pdf_text(render(renderer, payload))
    assert "二、破格申报依据破格条款无依据说明无佐证材料无三、学历教育" in text
    assert "破格申报依据" not in pdf_text(render(renderer, declaration))


def test_the_photo_is_printed_in_the_basic_data_page(contract_pdf, renderer, declaration):
    assert image_count(contract_pdf, 2) == 1
    declaration["applicant"]["photo"] = None
    without = render(renderer, declaration)
    assert image_count(without, 2) == 0
    assert "照片（二寸）" in pdf_text(without)


def test_the_photo_is_two_inch(contract_pdf):
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(contract_pdf)
    try:
        (bounds,) = [obj.get_bounds() for obj in document[1].get_objects() if obj.type == raw.FPDF_PAGEOBJ_IMAGE]
    finally:
        document.close()
    left, bottom, right, top = (v * 25.4 / 72 for v in bounds)
    assert abs(right - left - 35.0) < 0.1 and abs(top - bottom - 49.0) < 0.1


def test_teacher_block_only_for_teachers(contract_pdf, renderer, declaration):
    assert "中小学教师信息" not in pdf_text(contract_pdf)
    assert "八、中小学教师信息" in pdf_text(render(renderer, variants.teacher(declaration)))


def test_long_table_repeats_its_header_and_never_splits_a_row(renderer, declaration):
    payload = variants.many_rows(declaration, rows=120)
    pages = [squash(t) for t in page_texts(render(renderer, payload))]
    titles = [squash(p["title"]) for p in payload["papers"]]
    paper_pages = [i for i, text in enumerate(pages) if any(t in text for t in titles)]
    assert len(paper_pages) >= 3, "the 120 papers should span several pages"
    for i in paper_pages:
        assert "发表时间论文题目刊物名称ISSNCN本人排名" in pages[i], f"page {i + 1} lacks the header"
    for title in titles:
        # A row kept whole: its title appears complete on exactly one page.
        assert sum(title in text for text in pages) == 1, title


def test_long_summary_flows_across_pages(renderer, declaration):
    declaration["work_summary"] = variants.long_text(12_000)
    pdf = render(renderer, declaration)
    pages = page_texts(pdf)
    assert squash(declaration["work_summary"]) in pdf_text(pdf)
    summary_pages = [i for i, t in enumerate(pages) if "（3）" in t or "（20）" in t or "（40）" in t]
    assert len(set(summary_pages)) >= 2


def test_rare_name_characters_render_through_the_fallback_face(renderer, declaration):
    declaration["applicant"]["name"] = "刘䶮"
    declaration["applicant"]["former_name"] = "王𠇔"
    pdf = render(renderer, declaration)
    text = pdf_text(pdf)
    assert "刘䶮" in text and "王𠇔" in text
    fonts = fonts_of_chars(pdf, "䶮𠇔张")
    assert fonts["𠇔"] and all("HanaMin" in name for name in fonts["𠇔"])
    assert fonts["䶮"]  # drawn by the main face or the fallback, never missing


def test_pdf_is_pdf_a_3b_with_the_payload_attached(contract_pdf, contract_declaration):
    root = PdfFileReader(io.BytesIO(contract_pdf)).root
    xmp = root["/Metadata"].data.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    (filespec,) = [f.get_object() for f in root["/AF"]]
    assert filespec["/AFRelationship"] == "/Source"
    files = attachments(contract_pdf)
    assert list(files) == ["review-form.json"]
    attached = json.loads(files["review-form.json"])
    assert attached["applicant"]["name"] == contract_declaration["applicant"]["name"]
    assert attached["declaration_id"] == contract_declaration["declaration_id"]
    assert attached["applicant"]["photo"]["data_base64"] == contract_declaration["applicant"]["photo"]["data_base64"]


def test_output_does_not_depend_on_the_clock(renderer, declaration):
    declaration["application"]["submitted_at"] = None
    first = render(renderer, declaration, RenderContext(FONTS_DIR, document_date=date(2024, 9, 1)))
    second = render(renderer, declaration, RenderContext(FONTS_DIR, document_date=date(2024, 9, 1)))
    assert first == second
    assert "2024年09月01日" in pdf_text(first)
    other_day = render(renderer, declaration, RenderContext(FONTS_DIR, document_date=date(2024, 9, 2)))
    assert other_day != first


_RENDER_SCRIPT = """
import json, sys
from service.config import Limits, Settings
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.documents.render import Renderer
from service.forms.review_form import SPEC
from service.forms.spec import RenderContext, render_form
s = Settings()
payload = validate_payload(Declaration, json.load(open(sys.argv[1], encoding="utf-8")), Limits())
sys.stdout.buffer.write(render_form(Renderer(s.templates_dir, s.fonts_dir), SPEC, payload, RenderContext(s.fonts_dir)))
"""


def test_byte_identical_across_processes(contract_pdf, tmp_path):
    source = tmp_path / "declaration.json"
    source.write_text(
        json.dumps(json.loads((ROOT / "tests/data/contract/declaration.json").read_text("utf-8"))), "utf-8"
    )
    outputs = []
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", _RENDER_SCRIPT, str(source)],
            capture_output=True,
            check=True,
            cwd=ROOT,
            env={**_env(), "PYTHONHASHSEED": seed},
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == contract_pdf


def _env() -> dict:
    import os

    return dict(os.environ)


def test_page_numbers_only_on_documents_of_more_than_one_page(renderer, contract_pdf, declaration):
    from service.forms import summary_sheet

    assert "第1页共" in squash(page_texts(contract_pdf)[0])
    model = validate_payload(Declaration, declaration, Limits())
    one_page = render_form(renderer, summary_sheet.SPEC, model, RenderContext(FONTS_DIR))
    assert len(page_texts(one_page)) == 1
    assert "页共" not in squash(page_texts(one_page)[0])


def test_images_are_not_interpolated_as_pdf_a_requires(contract_pdf):
    assert b"/Interpolate true" not in contract_pdf

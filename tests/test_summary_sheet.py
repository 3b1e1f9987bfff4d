"""一览表预览: exactly one page, whatever the lists hold; everything it promises is on it."""

from __future__ import annotations

import copy
import re
from datetime import UTC

import pytest

from service import FONTS_DIR
from service.config import Limits
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.documents.filters import cut
from service.documents.raster import page_count
from service.forms import summary_sheet
from service.forms.spec import RenderContext
from tests import variants
from tests.golden import assert_matches_golden
from tests.pdftext import fonts_of_chars, ink_of_chars, pdf_text, squash


def render(renderer, payload):
    model = validate_payload(Declaration, payload, Limits())
    return summary_sheet.render_summary_step(renderer, summary_sheet.SPEC, model, RenderContext(FONTS_DIR))


def promised(context) -> list[str]:
    d = context["d"]
    strings = [
        cut(d.applicant.name, context["c"]),
        d.applicant.gender,
        d.application.series,
        d.application.specialty,
        d.application.title,
        d.application.route,
        context["d"].declaration_id,
    ]
    for shown in context["lists"]:
        strings.append(f"{shown.title}（{shown.total}项）")
        strings += [f"{i}.{item}" for i, item in enumerate(shown.items, start=1)]
        if shown.items and shown.more:
            strings.append(f"等{shown.total}项")
    strings += [f"{r.year}年度：{r.result}" for r in context["reviews"]]
    return strings


def biggest(base: dict) -> dict:
    """Every list at the row limit and every one-line field at its longest."""
    payload = variants.many_rows(base, rows=500)
    payload["patents"] = payload["patents"] * 500
    payload["achievements"] = payload["achievements"] * 250
    payload["applicant"]["name"] = "欧阳" + "娜" * 48
    payload["application"]["recommending_unit"]["name"] = "湖北省" + "某" * 190 + "有限公司"
    payload["applicant"]["current_technical_work"] = "化工" * 100
    payload["education"][0]["school"] = "武汉" * 100
    payload["education"][0]["major"] = "化学" * 100
    payload["current_titles"][0]["approving_body"] = "评审" * 100
    payload["plan"]["name"] = "年度" * 100
    payload["annual_reviews"] = [{"year": 1990 + i, "result": "基本合格" * 5} for i in range(30)]
    return payload


def test_ranks_say_what_they_are(renderer, declaration):
    """An award's or a paper's 1/6 prints as 「排名 1/6」; a rank the platform already words keeps its words."""
    declaration["papers"][0]["rank"] = "第一作者"
    text = pdf_text(render(renderer, declaration)[0])
    award = declaration["awards"][0]
    assert f"{award['name']}{award['grade']}{award['issuer']}2020.12排名{award['rank']}" in text
    assert "第一作者" in text and "排名第一作者" not in text
    assert re.findall(r"(?<!排名)(?<![\d/.])\d+/\d+", text) == []


def test_no_education_prints_none(renderer, declaration):
    declaration["education"] = []
    text = pdf_text(render(renderer, declaration)[0])
    assert "最高学历无学制" in text


@pytest.mark.parametrize("case", ["contract", "minimal", "many", "biggest"])
def test_always_exactly_one_page_with_everything_it_promises(renderer, declaration, case):
    payload = {
        "contract": lambda d: d,
        "minimal": variants.minimal,
        "many": lambda d: variants.many_rows(d, 60),
        "biggest": biggest,
    }[case](declaration)
    pdf, context = render(renderer, payload)
    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    missing = [s for s in promised(context) if squash(s) not in text]
    assert missing == []


def test_long_lists_are_cut_with_a_count(renderer, declaration):
    pdf, context = render(renderer, variants.many_rows(declaration, 60))
    papers = next(s for s in context["lists"] if s.title == "论文")
    assert papers.total == 60 and 0 < len(papers.items) < 60
    assert "等60项" in pdf_text(pdf)


def test_contract_example_shows_its_lists_whole(renderer, declaration):
    pdf, context = render(renderer, declaration)
    assert all(s.more == 0 for s in context["lists"])
    assert not re.search(r"等\d+项", pdf_text(pdf))


@pytest.mark.parametrize("case", ["contract", "many"])
def test_summary_sheet_matches_golden(renderer, declaration, case):
    payload = declaration if case == "contract" else variants.many_rows(copy.deepcopy(declaration), 60)
    pdf, _ = render(renderer, payload)
    assert_matches_golden(pdf, f"summary-sheet/{case}")


def test_a_bold_name_is_one_weight_with_rare_characters(renderer, declaration):
    declaration["applicant"]["name"] = "欧阳䶮龑"
    pdf, _ = render(renderer, declaration)
    # 龑 is not in the main face: the fallback, which has no bold, is emboldened.
    fonts = fonts_of_chars(pdf, "欧龑")
    assert all(name.endswith("-Bold") for name in fonts["欧"] | fonts["龑"]), fonts


def test_synthetic_bold_adds_the_ink_of_a_bold_face(renderer):
    from datetime import datetime

    from service.documents.render import PdfOptions

    html = (
        '<html lang="zh-CN"><body style="font-size: 30pt"><p>欧阳䶮龑𠇔</p>'
        '<p style="font-weight: bold">欧阳䶮龑𠇔</p></body></html>'
    )
    options = PdfOptions(date=datetime(2024, 1, 1, tzinfo=UTC), pdf_variant=None)
    pdf = renderer.html_to_pdf(html, template="forms/review-form/form.html", options=options)
    ink = ink_of_chars(pdf, "欧阳龑𠇔")
    noto = min(ink[c][1] / ink[c][0] for c in "欧阳")  # the main face's own bold
    for char in "龑𠇔":
        regular, bold = ink[char]
        assert noto * 0.85 < bold / regular < 1.9, (char, regular, bold, noto)

"""Paper a personnel office files without a second look (issue 13): line breaking,
continuations and long unbreakable runs, read from the text layer of the rendered forms."""

from __future__ import annotations

import json
import re
from datetime import UTC

import pytest

from service import FONTS_DIR, TEMPLATES_DIR
from service.config import Limits
from service.documents.columns import Col, Fitter, fit_widths, smallest
from service.documents.tabular import advances_for
from service.documents.typeset import JOINER, ZERO_WIDTH_SPACE, plain, typeset_html
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_form
from tests import variants
from tests.conftest import load_contract
from tests.pdflines import fields, lone_character_lines, split_numbers, text_lines
from tests.pdftext import continued_title, page_body, page_texts, pdf_text, squash

FORMS = all_forms()
FIT = Fitter(advances_for(FONTS_DIR / "NotoSerifSC-Regular.otf"))
VARIANTS = {
    "contract": lambda d: d,
    "long": variants.long_variant,
    "minimal": variants.minimal,
    "teacher": variants.teacher,
    "exceptional": variants.exceptional,
    "transfer": variants.transfer,
    "many": variants.many_rows,
}


def render(renderer, slug: str, payload: dict) -> bytes:
    spec = FORMS[slug]
    return render_form(renderer, spec, spec.validate(payload, Limits()), RenderContext(FONTS_DIR))


def _cases() -> list[tuple[str, str]]:
    cases = [("review-form", name) for name in VARIANTS]
    cases += [("summary-sheet", name) for name in ("contract", "long", "many")]
    for slug in ("unit-review", "assessment", "attachment-list", "integrity-pledge", "written-test-application"):
        cases += [(slug, name) for name in ("contract", "long", "teacher", "many")]
    cases += [("exception-approval", "exceptional"), ("transfer", "transfer")]
    cases += [("publicity", "publicity-pre-review.json"), ("publicity", "publicity-result.json")]
    cases += [(slug, "sample") for slug in SAMPLED]
    return cases


# Forms whose payload is not a declaration: checked on their sample.
SAMPLED = ("roster", "publicity-proof", "admission-ticket")


def _payload(slug: str, name: str) -> dict:
    if slug == "publicity":
        return load_contract(name)
    if slug in SAMPLED:
        return json.loads((TEMPLATES_DIR / "forms" / slug / "sample.json").read_text("utf-8"))
    return VARIANTS[name](load_contract("declaration.json"))


@pytest.mark.parametrize(("slug", "name"), _cases(), ids=[f"{s}-{n}" for s, n in _cases()])
def test_no_lone_characters_and_no_broken_numbers(renderer, slug, name):
    """No line of a field is one lone character of a longer text, and no number or code
    goes on over a line break (issue 13: 「工程师（中 / 级）」, 「9422016000 / 301000188」)."""
    pdf = render(renderer, slug, _payload(slug, name))
    assert lone_character_lines(pdf) == []
    assert split_numbers(pdf) == []


def test_codes_never_break_they_shrink(renderer, declaration):
    declaration["current_titles"][0]["certificate_no"] = "9422016000301000188942201600030"
    declaration["education"][0]["certificate_no"] = "1049012011050012341049012011050"
    declaration["papers"][0]["issn"] = "1000-6613-2024-0001"
    declaration["application"]["recommending_unit"]["uscc"] = "91420100MA4K2XXXXX91420100"
    pdf = render(renderer, "review-form", declaration)
    assert split_numbers(pdf) == []
    text = pdf_text(pdf)
    assert "9422016000301000188942201600030" in text and "91420100MA4K2XXXXX91420100" in text


# --- the typesetting pass ------------------------------------------------------------


def test_bracketed_levels_and_the_last_two_characters_are_joined():
    html = typeset_html("<td>助理工程师（初级）</td><td>武汉市人力资源和社会保障局</td><p>同意推荐。</p><td>无</td>")
    assert "（" + JOINER + "初" + JOINER + "级" + JOINER + "）" in html
    # Words whole (社会保障局 is one of the shipped words), a break allowed between words only.
    assert JOINER.join("社会保障局") in html and JOINER.join("推荐") + "。" in html
    assert "市人" in html and "源和社" in html
    assert "<td>无</td>" in html
    assert plain(html) == "<td>助理工程师（初级）</td><td>武汉市人力资源和社会保障局</td><p>同意推荐。</p><td>无</td>"


def test_tags_entities_and_codes_are_left_alone():
    html = '<td class="c" style="width: 12.5%">9422016000301000188</td><td>a &amp; b&#34;c</td><img src="data:x">'
    assert typeset_html(html) == html


def test_long_unbreakable_runs_get_break_opportunities():
    html = typeset_html("<td>" + "W" * 20_000 + "</td><td>" + "&amp;" * 30 + "</td>")
    assert html.count(ZERO_WIDTH_SPACE) >= 20_000 // 6
    # ... in a span without ligatures, so that no ligature spans a break in the text layer.
    assert html.startswith('<td><span class="run">W')
    assert (
        plain(html).replace('<span class="run">', "").replace("</span>", "")
        == "<td>" + "W" * 20_000 + "</td><td>" + "&amp;" * 30 + "</td>"
    )
    assert "&amp;" * 6 + ZERO_WIDTH_SPACE + "&amp;" in html  # entities are never cut ...
    markup = "<td>&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;假标题&lt;/h1&gt;</td>"
    assert "&<" not in typeset_html(markup) and "&lt;/td&gt;" in typeset_html(markup)  # ... nor split from a run


def test_the_inserted_characters_are_not_in_the_text_layer(renderer, declaration):
    declaration["applicant"]["administrative_post"] = "工艺室副主任（主持工作）"
    declaration["work_summary"] = "Ｗ" + "ABCDEFGHIJ" * 10 + "，同意推荐。"
    text = pdf_text(render(renderer, "review-form", declaration))
    assert "工艺室副主任（主持工作）" in text and "Ｗ" + "ABCDEFGHIJ" * 10 + "，同意推荐。" in text


# --- long unbreakable runs (issue 11, item 4) -------------------------------------------


def test_a_field_of_20000_unbreakable_characters_breaks_into_lines(renderer, declaration):
    """Layout stays linear: the field breaks into many lines of bounded width, and the
    text layer holds every character (it used to take a minute, growing quadratically)."""
    declaration["work_summary"] = "W" * 20_000
    pdf = render(renderer, "review-form", declaration)
    assert squash(pdf_text(pdf)).count("W") == 20_000
    lines = [line for line in text_lines(pdf) if set(line.text) == {"W"}]
    assert len(lines) > 20_000 / 80
    content_width_pt = 167 / 25.4 * 72
    assert max(line.right - line.left for line in lines) < content_width_pt


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        ("publicity", ("intro",)),
        ("assessment", ("assessment", "self_summary")),
        ("exception-approval", ("application", "exception", "text")),
        ("written-test-application", ("written_test", "reason")),
        ("publicity-proof", ("statement",)),
        ("admission-ticket", ("notices", 0)),
    ],
)
def test_long_runs_break_in_the_lists_and_the_auxiliary_forms(renderer, slug, path):
    if slug == "publicity":
        payload = load_contract("publicity-pre-review.json")
    elif slug in SAMPLED:
        payload = _payload(slug, "sample")
    else:
        payload = variants.exceptional(load_contract("declaration.json"))
    if slug == "assessment":
        payload["assessment"] = {}
    if slug == "written-test-application":
        payload["written_test"] = {}
    if slug == "admission-ticket":
        payload["notices"] = [""]
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "W" * 20_000
    assert squash(pdf_text(render(renderer, slug, payload))).count("W") == 20_000


# --- column widths that follow their content ----------------------------------------------


def test_columns_follow_their_content():
    columns = (Col("起止时间", 25, "one"), Col("单位", 25, "name"), Col("证书编号", 10, "code", 8.0), Col("说明", 40))
    rows = [["2007.09", "武汉工程大学", "9422016000301000188", "化工"]]
    widths = fit_widths(columns, rows, 167, FIT)
    assert abs(sum(widths) - 100) < 0.01
    assert widths[0] < 25  # a short date gives back the room it does not need ...
    code_mm = widths[2] / 100 * 167 - 2 * FIT.padding_mm
    assert code_mm >= FIT.width_mm("9422016000301000188", 8.0)  # ... a code gets what it needs
    assert widths[3] / widths[1] == pytest.approx(40 / 25, rel=0.01)  # the rest, by share


def test_a_value_shrinks_a_step_before_it_wraps():
    room = FIT.width_mm("大学本科", 9.0) * 0.9
    size = int(re.search(r'class="fs(\d+)"', FIT.cell("大学本科", room, 9.0)).group(1)) / 100
    assert smallest(9.0) <= size < 9.0 and FIT.width_mm("大学本科", size) <= room
    assert FIT.cell("大学本科", room * 2, 9.0) == "大学本科"
    assert FIT.cell("大学本科", room * 0.5, 9.0) == "大学本科"  # more than a step: it wraps
    # A code shrinks as far as it must and never wraps; one too long even then breaks
    # rather than run into the next column.
    code_room = FIT.width_mm("9422016000301000188", 8.0) * 0.85
    assert FIT.cell("9422016000301000188", code_room / 0.85 + 1, 8.0, "code") == "9422016000301000188"
    assert re.fullmatch(
        r'<span class="fs\d+ nowrap">9422016000301000188</span>',
        FIT.cell("9422016000301000188", code_room, 8.0, "code"),
    )
    assert "nowrap" not in FIT.cell("9422016000301000188" * 5, code_room, 8.0, "code")
    # Free text wraps; a name far too long for a step smaller is broken between its parts.
    assert FIT.cell("化工" * 20, room, 9.0, "text") == "化工" * 20
    cell = FIT.cell("武汉市工程技术初级评审委员会", FIT.width_mm("武汉市工程技术初级", 9.0) + 1, 9.0, "name")
    assert cell.endswith("武汉市工程技术初级<br>评审委员会")


# --- continuations ---------------------------------------------------------------------


def test_a_section_running_over_a_page_repeats_its_title_with_continued(renderer, declaration):
    pages = page_texts(render(renderer, "review-form", variants.long_variant(declaration)))
    headers = [continued_title(text) for text in pages]
    assert "五、任职以来主要工作业绩和履行岗位职责情况（续）" in headers
    assert "七、业绩成果（一）论文（续）" in headers
    for text, header in zip(pages, headers):
        if header.endswith("（续）"):
            # A continuation page: the section goes on, under the repeated column headings for a table.
            assert "论文" not in header or page_body(text).startswith("发表时间论文题目")
    # A page where a section starts at the top says nothing of the kind.
    assert not any(h.endswith("（续）") and page_body(t).startswith(h[:-3]) for t, h in zip(pages, headers))


@pytest.mark.parametrize("summary_chars", [0, 600, 1200, 1800, 2400, 3000, 3600])
def test_a_short_table_moves_whole_with_its_heading(renderer, declaration, summary_chars):
    """The 5-row attachment list (and every table of at most 8 rows) never splits."""
    declaration["work_summary"] = variants.long_text(summary_chars) if summary_chars else None
    declaration["papers"] = variants.papers(6)
    pages = [page_body(text) for text in page_texts(render(renderer, "review-form", declaration))]
    names = [squash(a["name"]) for a in declaration["attachments"]]
    holding = [i for i, text in enumerate(pages) if any(name in text for name in names)]
    assert len(holding) == 1 and "附：申报材料目录" in pages[holding[0]]
    holding = [i for i, text in enumerate(pages) if "第6篇" in text or "第1篇" in text]
    assert len(set(holding)) == 1 and "（一）论文" in pages[holding[0]]


def test_the_publicity_closing_block_stays_with_the_last_rows(renderer):
    payload = load_contract("publicity-pre-review.json")
    pages = page_texts(render(renderer, "publicity", payload))
    assert len(pages) == 2
    last = squash(pages[-1])
    rows = payload["rows"]
    assert squash(rows[-1]["name"]) in last and squash(rows[-2]["name"]) in last
    for closing in ("公示期", "监督电话", payload["publisher"], "2024年12月23日", "（盖章）"):
        assert squash(closing) in last
    # The continuation page repeats the title line.
    assert squash(pages[1].splitlines()[-2]) == squash(payload["title"]) + "（续）"


def test_a_3000_character_paper_title_leaves_no_page_without_the_headings(renderer, declaration):
    declaration["papers"] = variants.papers(3)
    declaration["papers"][1]["title"] = variants.long_text(3000)
    pages = [page_body(text) for text in page_texts(render(renderer, "review-form", declaration))]
    with_papers = [text for text in pages if "第2篇" in text or "任现职以来，本人坚持" in text]
    assert len(with_papers) >= 3
    assert all("发表时间论文题目刊物名称ISSNCN本人排名" in text for text in with_papers)


def test_pdflines_finds_what_it_looks_for(renderer):
    """The scanner itself: a lone character and a broken number, made on purpose."""
    html = (
        '<html lang="zh-CN"><body style="font-size: 12pt"><div style="width: 5.2em">工程师（中级）</div>'
        '<div style="width: 5em; overflow-wrap: anywhere; margin-top: 10mm">94220160003010001880</div></body></html>'
    )
    from datetime import datetime

    from service.documents.render import PdfOptions

    options = PdfOptions(date=datetime(2024, 1, 1, tzinfo=UTC), pdf_variant=None)
    pdf = renderer.html_to_pdf(html, template="forms/review-form/form.html", options=options)
    assert lone_character_lines(pdf) and split_numbers(pdf)
    assert len(fields(text_lines(pdf))) == 2

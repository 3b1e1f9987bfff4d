"""The auxiliary forms: filled from the declaration, printable blank, golden images, the API.

Each form lists the payload fields it shows (``SHOWN``); the text layer must
carry every one of them, and the blank form none of them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from decimal import Decimal

import pytest

from service import FONTS_DIR, TEMPLATES_DIR
from service.config import Limits
from service.documents.filters import cn_date, dot_date
from service.errors import InvalidInput
from service.forms.auxiliary import KB, SPECS
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from service.profiles.load import default_profile
from tests import variants
from tests.conftest import auth, load_contract
from tests.golden import assert_matches_golden
from tests.paths import set_at, values_at
from tests.pdftext import (
    attachments,
    continued_title,
    page_body,
    page_texts,
    pdf_text,
    running_header,
    squash,
    text_below_the_body,
)

FORMS = {spec.slug: spec for spec in SPECS}
SLUGS = list(FORMS)


def sample(slug: str) -> dict:
    return json.loads((TEMPLATES_DIR / "forms" / slug / "sample.json").read_text("utf-8"))


def contract_payload(slug: str) -> dict:
    """The contract's declaration, as the platform would send it for this form
    (破格 and 转评 forms need their route and its data)."""
    payload = load_contract("declaration.json")
    if slug == "exception-approval":
        return variants.exceptional(payload)
    if slug == "transfer":
        return variants.transfer(payload)
    return payload


PAYLOADS = {"contract": contract_payload, "sample": sample}


def render(renderer, slug: str, payload: dict) -> bytes:
    spec = FORMS[slug]
    return render_form(renderer, spec, spec.validate(payload, Limits()), RenderContext(FONTS_DIR))


_CACHE: dict[tuple[str, str], bytes] = {}


def rendered(renderer, slug: str, case: str) -> bytes:
    """Each form and case is rendered once for all the tests that read it."""
    if (slug, case) not in _CACHE:
        if case == "blank":
            _CACHE[slug, case] = render_blank(renderer, FORMS[slug], RenderContext(FONTS_DIR))
        else:
            _CACHE[slug, case] = render(renderer, slug, PAYLOADS[case](slug))
    return _CACHE[slug, case]


# --- what each form shows -----------------------------------------------------


def _dot(value):
    return dot_date(value)


def _cn(value):
    return cn_date(value)


def _years(value):
    return f"{value}年"


def _size(value):
    """As the attachment list prints it: every size of the list in KB (no file of 10 MB here)."""
    return KB.text(KB.units(value))


def _day_of(value):
    """``submitted_at`` prints as its day."""
    return cn_date(value[:10])


def opinion(path: str) -> list:
    return [f"{path}.text", f"{path}.signer", (f"{path}.date", _cn)]


APPLICANT = ["applicant.name", "applicant.gender", ("applicant.birth_date", _dot), "application.recommending_unit.name"]
DECLARED = ["application.series", "application.specialty", "application.title", "application.level"]

SHOWN = {
    "unit-review": [
        "declaration_id",
        "plan.year",
        "plan.committee.name",
        *APPLICANT,
        "application.recommending_unit.uscc",
        "applicant.id_number",
        ("applicant.work_start_date", _dot),
        "current_titles[0].title",
        "current_titles[0].level",
        ("current_titles[0].approved_on", _dot),
        "education[0].education_level",
        *DECLARED,
        "application.route",
        ("opinions.publicity.start", _cn),
        ("opinions.publicity.end", _cn),
        "opinions.publicity.result",
        *opinion("opinions.unit"),
        "unit_review.checks[*].note",
        "unit_review.handler",
        "unit_review.phone",
    ],
    "assessment": [
        *APPLICANT,
        "applicant.political_status",
        "current_titles[0].title",
        "current_titles[0].level",
        ("current_titles[0].approved_on", _dot),
        "education[0].education_level",
        ("assessment.term_start", _dot),
        ("assessment.term_end", _dot),
        "assessment.post",
        "assessment.self_summary",
        "assessment.achievements",
        "assessment.staff_total",
        "assessment.participants",
        "assessment.excellent",
        "assessment.competent",
        "assessment.basically_competent",
        "assessment.incompetent",
        *opinion("assessment.grassroots_opinion"),
        *opinion("assessment.unit_opinion"),
    ],
    "exception-approval": [
        "declaration_id",
        "plan.year",
        "plan.committee.name",
        *APPLICANT,
        "applicant.id_number",
        ("applicant.work_start_date", _dot),
        ("applicant.years_in_specialty", _years),
        "applicant.current_technical_work",
        "education[0].school",
        "education[0].major",
        "education[0].education_level",
        "education[0].degree",
        ("education[0].end", _dot),
        "current_titles[0].title",
        "current_titles[0].level",
        ("current_titles[0].approved_on", _dot),
        "current_titles[0].approving_body",
        *DECLARED,
        "application.exception.rule",
        "application.exception.text",
        "application.exception.evidence[*]",
        *opinion("opinions.unit"),
        *opinion("opinions.competent"),
        *opinion("opinions.approval"),
    ],
    "transfer": [
        "declaration_id",
        "plan.year",
        "plan.committee.name",
        *APPLICANT,
        "applicant.id_number",
        ("applicant.work_start_date", _dot),
        "education[0].education_level",
        *DECLARED,
        "application.transfer.original_series",
        "application.transfer.original_specialty",
        "application.transfer.original_title",
        "application.transfer.original_level",
        ("application.transfer.original_approved_on", _dot),
        "application.transfer.original_issuer",
        "application.transfer.original_certificate_no",
        "application.transfer.new_post",
        ("application.transfer.new_post_start", _dot),
        ("application.transfer.years_in_post", _years),
        "application.transfer.reason",
        *opinion("opinions.unit"),
        *opinion("opinions.competent"),
    ],
    "attachment-list": [
        "declaration_id",
        "applicant.name",
        "application.recommending_unit.name",
        *DECLARED,
        "attachments[*].category",
        "attachments[*].name",
        ("attachments[*].size_bytes", _size),
        ("application.submitted_at", _day_of),
    ],
    "integrity-pledge": [
        "applicant.name",
        "applicant.id_number",
        "application.recommending_unit.name",
        *DECLARED,
        "plan.committee.name",
        ("application.submitted_at", _day_of),
    ],
}

# Labels each blank must carry (compared without whitespace).
LABELS = {
    "unit-review": [
        "单位审核意见表",
        "推荐意见表",
        "单位名称",
        "统一社会信用代码",
        "姓名",
        "证件号码",
        "现职称",
        "申报资格",
        "审核项目",
        "材料真实性",
        "□属实□不属实",
        "学历",
        "资历",
        "业绩",
        "考核",
        "继续教育",
        "□符合□不符合",
        "公示时间",
        "公示结果",
        "单位审核推荐意见",
        "（单位盖章）",
        "年月日",
        "经办人",
        "联系电话",
    ],
    "assessment": [
        "专业技术人员年度及任职期满考核表",
        "单位（盖章）",
        "考核期",
        "聘任岗位",
        "任职期",
        "年度考核结果",
        "个人总结",
        "主要业绩",
        "民主测评",
        "实有人数参加人数优秀合格基本合格不合格",
        "考核等次□优秀□合格□基本合格□不合格",
        "基层单位意见",
        "单位意见",
        "年月日",
    ],
    "exception-approval": [
        "破格申报审批表",
        "姓名",
        "证件号码",
        "最高学历",
        "现职称",
        "申报资格",
        "评委会",
        "破格条款",
        "破格理由",
        "佐证材料",
        "所在单位意见",
        "主管部门意见",
        "人社部门审批意见",
        "（人社部门盖章）",
        "经办人（签字）",
        "年月日",
    ],
    "transfer": [
        "转评申报表",
        "原专业技术资格",
        "原系列",
        "原专业",
        "资格名称",
        "取得时间",
        "发证机关",
        "证书编号",
        "转评申报资格",
        "申报系列",
        "现岗位",
        "现岗位工作年限",
        "转评理由",
        "所在单位意见",
        "主管部门意见",
        "年月日",
    ],
    "attachment-list": [
        "附件一览表",
        "申报人",
        "申报编号",
        "序号材料类别/文件名称文件大小",
        "合计",
        "类，个文件",
        "申报人（签字）",
        "年月日",
    ],
    "integrity-pledge": [
        "个人诚信承诺书",
        "姓名",
        "证件号码",
        "申报资格",
        squash(default_profile().pledge.text),
        "承诺人（签名）",
        "年月日",
    ],
}


def shown_strings(slug: str, payload: dict) -> list[str]:
    strings = []
    for field in SHOWN[slug]:
        path, fmt = field if isinstance(field, tuple) else (field, str)
        strings += [fmt(value) for value in values_at(payload, path)]
    return strings


def assert_all_printed(strings, text: str) -> None:
    missing = [s for s in strings if squash(s) not in text]
    assert missing == []


# --- filled ---------------------------------------------------------------------


@pytest.mark.parametrize("case", ["contract", "sample"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_shown_field_is_in_the_text_layer(renderer, slug, case):
    payload = PAYLOADS[case](slug)
    strings = shown_strings(slug, payload)
    assert len(strings) >= 8
    assert_all_printed(strings, pdf_text(rendered(renderer, slug, case)))


@pytest.mark.parametrize("case", ["contract", "sample"])
@pytest.mark.parametrize("slug", SLUGS)
def test_filled_forms_carry_their_labels_and_the_payload(renderer, slug, case):
    pdf = rendered(renderer, slug, case)
    text = pdf_text(pdf)
    # Less what only a blank prints: empty boxes, 年 月 日, the blank total.
    labels = [label for label in LABELS[slug] if not any(mark in label for mark in ("年月日", "□", "类，个"))]
    assert [label for label in labels if label not in text] == []
    files = attachments(pdf)
    assert list(files) == [f"{slug}.json"]
    assert json.loads(files[f"{slug}.json"])["declaration_id"] == PAYLOADS[case](slug)["declaration_id"]


@pytest.mark.parametrize("slug", ["unit-review", "assessment", "exception-approval", "transfer", "integrity-pledge"])
@pytest.mark.parametrize("case", ["contract", "sample"])
def test_one_page_forms_fit_on_one_page(renderer, slug, case):
    assert len(page_texts(rendered(renderer, slug, case))) == 1


def test_unit_review_ticks_the_given_results_and_leaves_the_others_empty(renderer):
    payload = sample("unit-review")
    payload["unit_review"]["checks"] = [
        {"item": "材料真实性", "result": "不属实", "note": "学历证书与原件不一致"},
        {"item": "考核", "result": "符合"},
    ]
    text = pdf_text(render(renderer, "unit-review", payload))
    assert "□属实□✓不属实学历证书与原件不一致" in text
    assert "考核任职期间年度考核结果□✓符合□不符合" in text
    for item in ("学历", "资历", "业绩", "继续教育"):
        assert re.search(item + r"[^□]*□符合□不符合", text), item
    assert text.count("□✓") == 2


def test_contract_unit_review_without_checklist_prints_empty_boxes(renderer):
    text = pdf_text(rendered(renderer, "unit-review", "contract"))
    assert "□✓" not in text
    assert text.count("□符合□不符合") == 5 and text.count("□属实□不属实") == 1


def test_unit_review_falls_back_to_the_recommending_opinion(renderer, declaration):
    declaration["opinions"]["recommending"] = {
        "text": "同意推荐该同志申报工程师资格。",
        "signer": "孙九",
        "date": "2024-08-27",
    }
    declaration["opinions"]["unit"] = None
    text = pdf_text(render(renderer, "unit-review", declaration))
    assert "同意推荐该同志申报工程师资格。" in text and "孙九" in text and "2024年08月27日" in text


def test_assessment_grade_and_term_reviews(renderer):
    text = pdf_text(rendered(renderer, "assessment", "sample"))
    assert "□✓优秀□合格□基本合格□不合格" in text
    # Only the reviews of the term 2021–2023.
    assert "2021年度：合格2022年度：合格2023年度：优秀" in text
    assert "2019年度" not in text and "2020年度" not in text


def test_assessment_without_its_section_uses_the_declaration(renderer, contract_declaration):
    text = pdf_text(rendered(renderer, "assessment", "contract"))
    assert squash(contract_declaration["work_summary"]) in text
    for x in contract_declaration["achievements"]:
        assert squash(x["name"]) in text and squash(x["outcome"]) in text
    for r in contract_declaration["annual_reviews"]:
        assert f"{r['year']}年度：{r['result']}" in text
    assert "助理工程师" in text.split("聘任岗位")[1][:10]  # the post of the current appointment
    assert "□✓" not in text


def test_assessment_terms_come_from_the_current_appointment(renderer, declaration, contract_declaration):
    """Without an assessment section (the contract's example), 考核期 and 任职期 are the current
    appointment's term, still running; with the section's own term, that one."""
    start = dot_date(contract_declaration["current_titles"][0]["appointments"][0]["start"])
    text = pdf_text(rendered(renderer, "assessment", "contract"))
    assert f"考核期：{start}—至今" in text
    assert f"任职期{start}—至今年度考核" in text
    declaration["current_titles"][0]["appointments"][0].update(start="2018-03", end="2022-06")
    declaration["assessment"] = {"grade": "合格"}
    text = pdf_text(render(renderer, "assessment", declaration))
    assert "考核期：2018.03—2022.06" in text and "任职期2018.03—2022.06年度考核" in text
    # Only the reviews of that term.
    assert "2019年度" in text and "2023年度" not in text
    text = pdf_text(rendered(renderer, "assessment", "sample"))
    assert "考核期：2021.01—2023.12" in text


def test_the_blank_assessment_leaves_the_terms_to_be_written_in(renderer):
    text = pdf_text(rendered(renderer, "assessment", "blank"))
    assert "考核期：年月至年月" in text and "任职期年度考核" in text


LONG_TEXTS = {
    "unit-review": [["opinions", "unit", "text"]],
    "assessment": [
        ["assessment", "self_summary"],
        ["assessment", "achievements"],
        ["assessment", "unit_opinion", "text"],
    ],
    "exception-approval": [["application", "exception", "text"], ["opinions", "approval", "text"]],
    "transfer": [["application", "transfer", "reason"], ["opinions", "competent", "text"]],
}


@pytest.mark.parametrize("slug", list(LONG_TEXTS))
def test_long_texts_flow_over_pages_and_nothing_is_cut_off(renderer, slug):
    payload = sample(slug)
    texts = [
        variants.long_text(2500, sentence=f"第{i}段：" + variants.SUMMARY_SENTENCE)
        for i in range(len(LONG_TEXTS[slug]))
    ]
    for path, long_text in zip(LONG_TEXTS[slug], texts):
        set_at(payload, path, long_text)
    pdf = render(renderer, slug, payload)
    pages = page_texts(pdf)
    assert len(pages) >= 3
    text = pdf_text(pdf)
    assert [t[:20] for t in texts if squash(t) not in text] == []
    assert text_below_the_body(pdf) == []
    # Long text starts on the first page instead of leaving it half empty.
    assert squash(texts[0])[:40] in squash(pages[0])
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in squash(page)


# The section each long text is printed in, as the top margin names it when it continues.
CONTINUED = {
    "unit-review": ["单位审核推荐意见"],
    "assessment": ["个人总结", "主要业绩", "单位意见"],
    "exception-approval": ["破格理由", "所在单位意见、主管部门意见、人社部门审批意见"],
    "transfer": ["转评理由", "所在单位意见、主管部门意见"],
    "written-test-application": ["申请理由", "所在单位意见"],
}


@pytest.mark.parametrize("slug", list(CONTINUED))
def test_pages_after_the_first_name_the_form_the_applicant_and_the_section_continued(renderer, slug):
    """A form of several pages: each page after the first is headed by the applicant and the
    form (申报人：张三　专业技术人员年度及任职期满考核表（续）), and a page that goes on with a
    section's text names that section with （续）; the first page has neither."""
    payload = sample(slug)
    paths = LONG_TEXTS.get(slug, [["written_test", "reason"], ["written_test", "unit_opinion", "text"]])
    texts = [variants.long_text(2500, sentence=f"第{i}段：" + variants.SUMMARY_SENTENCE) for i in range(len(paths))]
    for path, long_text in zip(paths, texts):
        set_at(payload, path, long_text)
    spec = all_forms()[slug]
    pages = page_texts(render_form(renderer, spec, spec.validate(payload, Limits()), RenderContext(FONTS_DIR)))
    assert len(pages) >= 3
    title = squash(spec.title)
    assert running_header(pages[0]) == "" and continued_title(pages[0]) == ""
    continued = 0
    for number, page in enumerate(pages[1:], start=2):
        assert running_header(page) == f"申报人：{squash(payload['applicant']['name'])}{title}（续）", number
        body = page_body(page)
        inside = any(body[:12] in squash(t) and not squash(t).startswith(body[:12]) for t in texts)
        if inside:  # the page begins inside a long text (the first 第N段 after its top says which)
            which = int(re.search(r"第(\d)段", body).group(1))
            assert continued_title(page) == CONTINUED[slug][which] + "（续）", number
            continued += 1
    assert continued >= 1


def test_the_review_form_names_the_applicant_on_every_page_after_the_cover(renderer, declaration):
    spec = all_forms()["review-form"]
    payload = spec.validate(variants.long_variant(declaration), Limits())
    pages = page_texts(render_form(renderer, spec, payload, RenderContext(FONTS_DIR)))
    assert len(pages) >= 5
    assert running_header(pages[0]) == ""
    for page in pages[1:]:
        assert running_header(page) == f"申报人：{squash(declaration['applicant']['name'])}专业技术资格评审表（续）"


def test_attachment_list_groups_by_category_with_totals(renderer):
    payload = sample("attachment-list")
    text = pdf_text(rendered(renderer, "attachment-list", "sample"))
    categories = list(dict.fromkeys(a["category"] for a in payload["attachments"]))
    printed = [_kb(text, a) for a in payload["attachments"]]
    assert f"合计{len(categories)}类，{len(payload['attachments'])}个文件{sum(printed):.1f}KB" in text
    # Each category once, as a heading with its count and the sum of its files' printed sizes,
    # followed by its files.
    headings = []
    for category in categories:
        files = [a for a in payload["attachments"] if a["category"] == category]
        subtotal = sum(_kb(text, f) for f in files)
        heading = text.index(squash(category) + f"{len(files)}个，{subtotal:.1f}KB")
        headings.append(heading)
        for f in files:
            assert text.index(squash(f["name"])) > heading
    assert headings == sorted(headings)


def _kb(text: str, attachment: dict) -> Decimal:
    """The size printed after a file's name, in KB (every size of the list is in KB)."""
    found = re.search(re.escape(squash(attachment["name"])) + r"(\d+\.\d)KB", text)
    assert found, attachment["name"]
    return Decimal(found.group(1))


def test_the_attachment_total_is_the_sum_of_the_printed_sizes(renderer, declaration):
    """The contract's five files print 47.1 + 43.9 + 304.7 + 95.8 + 117.7 = 609.2 KB; their
    exact sum, rounded (609.3 KB), was printed as the total. A list with a file of 10 MB or
    more is printed in MB; a file of unknown size leaves the total (and its category's) out."""
    text = pdf_text(rendered(renderer, "attachment-list", "contract"))
    printed = [_kb(text, a) for a in declaration["attachments"]]
    assert sum(printed) == Decimal("609.2")
    assert "合计4类，5个文件609.2KB" in text
    declaration["attachments"] = [
        {"category": "身份证件", "name": "a.pdf", "size_bytes": 15_000_000},
        {"category": "身份证件", "name": "b.pdf", "size_bytes": 5_000},
        {"category": "学历学位证书", "name": "c.pdf", "size_bytes": 7},
    ]
    text = pdf_text(render(renderer, "attachment-list", declaration))
    # 14.305 → 14.31, 0.0048 → 0.01 (a file is never printed as nothing), 7 B → 0.01.
    assert "a.pdf14.31MB2b.pdf0.01MB" in text and "c.pdf0.01MB" in text
    assert "身份证件2个，14.32MB" in text and "合计2类，3个文件14.33MB" in text
    declaration["attachments"][2]["size_bytes"] = None
    text = pdf_text(render(renderer, "attachment-list", declaration))
    assert "学历学位证书1个3c.pdf合计" in text and re.search(r"合计2类，3个文件$", text.split("申报人（签字）")[0])


def test_long_attachment_list_repeats_its_header_and_keeps_files_whole(renderer, declaration):
    declaration["attachments"] = [
        {
            "category": ["身份证件", "学历学位证书", "其他业绩成果相关证明材料"][i % 3],
            "name": f"证明材料第{i:03d}号.pdf",
            "size_bytes": 10_000 + i,
        }
        for i in range(90)
    ]
    raw = page_texts(render(renderer, "attachment-list", declaration))
    pages = [squash(t) for t in raw]
    assert len(pages) >= 3
    for text in pages:
        assert "序号材料类别/文件名称文件大小" in text
    for item in declaration["attachments"]:
        assert sum(item["name"] in text for text in pages) == 1
    assert "合计3类，90个文件" in pages[-1]
    # Each page after the first names the applicant and the form, and the list it goes on with.
    for page in raw[1:]:
        assert running_header(page) == f"申报人：{declaration['applicant']['name']}附件一览表（续）"
        assert continued_title(page) == "附件清单（续）"


def test_pledge_prints_the_seed_manuals_text(renderer):
    text = pdf_text(rendered(renderer, "integrity-pledge", "contract"))
    assert "本人承诺所提交的所有申报评审资料（包括学历、职称、考试、奖项证书及论文、业绩证明等材料）均为真实。" in text
    # As the Hubei forms word the sanction (the platform's screen has the slip 「停止申报任职称资格」).
    assert "如提供虚假的申报资料，本人自愿三年内停止申报职称，并接受政府相关部门的处理。" in text
    assert "任职称资格" not in text
    assert not re.search(r"[(),]", default_profile().pledge.text)  # full-width punctuation only


# --- blank ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_blank_carries_the_labels_and_no_payload_data(renderer, slug):
    pdf = rendered(renderer, slug, "blank")
    text = pdf_text(pdf)
    assert [label for label in LABELS[slug] if squash(label) not in text] == []
    # Every value the filled forms show, except one-character and pure numbers
    # (a blank numbers its empty rows).
    values = {squash(s) for case in PAYLOADS for s in shown_strings(slug, PAYLOADS[case](slug))}
    leaked = [v for v in values if len(v) > 1 and not v.isdigit() and v in text]
    assert leaked == []
    assert "□✓" not in text
    assert attachments(pdf) == {}
    assert len(page_texts(pdf)) == 1


BLANK_BOXES = ["assessment", "exception-approval", "transfer", "unit-review"]


def lowest_ink_mm(pdf: bytes) -> float:
    """How far down page 1 its lowest ink lies, in mm from the paper's top edge."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=2, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    inked = [y for y in range(image.height) if image.crop((0, y, image.width, y + 1)).getextrema()[0] < 128]
    return inked[-1] / (2 * 72 / 25.4)


@pytest.mark.parametrize("slug", BLANK_BOXES)
def test_a_blank_fills_its_page_with_room_to_write(renderer, slug):
    """The blank's writing boxes (个人总结 and 主要业绩, 破格理由, 转评理由, the unit's opinion)
    take the room its page leaves: one page, its grid ending within 3 mm of the page's
    content bottom (A4, 18 mm bottom margin); with the boxes' own heights, as a filled
    form keeps them, it ended 6 to 15 mm higher."""
    pdf = rendered(renderer, slug, "blank")
    assert len(page_texts(pdf)) == 1
    content_bottom = 297 - 18
    assert content_bottom - 3 < lowest_ink_mm(pdf) <= content_bottom + 0.5
    unfilled = render_blank(renderer, dataclasses.replace(FORMS[slug], blank_fill=()), RenderContext(FONTS_DIR))
    assert lowest_ink_mm(unfilled) < lowest_ink_mm(pdf) - 4


# --- golden images --------------------------------------------------------------


@pytest.mark.parametrize("case", ["contract", "sample", "blank"])
@pytest.mark.parametrize("slug", SLUGS)
def test_matches_golden(renderer, slug, case):
    assert_matches_golden(rendered(renderer, slug, case), f"{slug}/{case}")


# --- contract: the optional sections --------------------------------------------


def test_samples_validate_and_the_contract_example_still_does(contract_declaration):
    from service.contract.declaration import Declaration
    from service.contract.parse import validate_payload

    d = validate_payload(Declaration, contract_declaration, Limits())
    assert d.unit_review is None and d.assessment is None and d.opinions.competent is None
    for slug in SLUGS:
        FORMS[slug].validate(sample(slug), Limits())


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda d: d.update(unit_review={"checks": [{"item": "学历", "result": "属实"}]}),
            "unit_review.checks[0]",
            "“学历”的审核结果应为“符合”或“不符合”",
        ),
        (
            lambda d: d.update(unit_review={"checks": [{"item": "考核", "result": "符合"}, {"item": "考核"}]}),
            "unit_review.checks",
            "审核项目“考核”重复，每项只填一次",
        ),
        (
            lambda d: d.update(unit_review={"checks": [{"item": "学位"}]}),
            "unit_review.checks[0].item",
            "应为以下之一：材料真实性、学历、资历、业绩、考核、继续教育",
        ),
        (
            lambda d: d.update(assessment={"staff_total": 10, "participants": 12}),
            "assessment",
            "参加人数不能超过实有人数",
        ),
        (
            lambda d: d.update(assessment={"participants": 10, "excellent": 6, "competent": 5}),
            "assessment",
            "优秀、合格、基本合格、不合格票数之和不能超过参加人数",
        ),
        (
            lambda d: d.update(assessment={"term_start": "2023-12", "term_end": "2021-01"}),
            "assessment.term_end",
            "任职期结束时间不能早于开始时间",
        ),
        (
            lambda d: d.update(assessment={"grade": "良好"}),
            "assessment.grade",
            "应为以下之一：优秀、合格、基本合格、不合格",
        ),
        (lambda d: d.update(assessment={"excellent": -1}), "assessment.excellent", "不能小于 0"),
        (lambda d: d["opinions"].update(competent={"signer": "陈七"}), "opinions.competent.text", "缺少必填项"),
    ],
)
def test_optional_sections_are_validated_in_chinese(declaration, change, path, message):
    change(declaration)
    with pytest.raises(InvalidInput) as raised:
        FORMS["unit-review"].validate(declaration, Limits())
    assert [(e.path, e.message) for e in raised.value.errors] == [(path, message)]


# --- routes: 破格 and 转评 ---------------------------------------------------------


@pytest.mark.parametrize(("slug", "route"), [("exception-approval", "破格"), ("transfer", "转评")])
def test_route_forms_refuse_other_routes(declaration, slug, route):
    with pytest.raises(InvalidInput) as raised:
        FORMS[slug].validate(declaration, Limits())
    (error,) = raised.value.errors
    assert error.path == "application.route"
    assert f"申报类型为“{route}”" in error.message and "本申报的申报类型为“正常”" in error.message


def test_the_transfer_form_needs_its_section(declaration):
    declaration["application"]["route"] = "转评"
    with pytest.raises(InvalidInput) as raised:
        FORMS["transfer"].validate(declaration, Limits())
    (error,) = raised.value.errors
    assert error.path == "application.transfer" and error.type == "missing"
    assert "原系列" in error.message


def test_the_exception_form_without_a_basis_leaves_it_to_be_written_in(renderer, declaration):
    declaration["application"]["route"] = "破格"
    pdf = render(renderer, "exception-approval", declaration)
    text = pdf_text(pdf)
    assert squash(declaration["applicant"]["name"]) in text
    # The rule and the reason are empty, the evidence list has ruled rows to fill in, as on the blank form.
    assert "破格条款破格理由序号佐证材料1234所在单位意见" in text
    assert text.count("无") == pdf_text(rendered(renderer, "exception-approval", "blank")).count("无")


# --- the API --------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_api_renders_the_form_its_preview_and_its_blank(client, keys, slug):
    headers = auth(keys["platform"])
    payload = sample(slug)
    response = client.post(f"/api/v1/forms/{slug}", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert squash(payload["applicant"]["name"]) in pdf_text(response.content)

    preview = client.post(f"/api/v1/forms/{slug}?format=png&page=1", json=payload, headers=headers)
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    assert preview.headers["x-page-count"] == response.headers["x-page-count"]

    blank = client.get(f"/api/v1/forms/{slug}/blank", headers=headers)
    assert blank.status_code == 200
    assert blank.headers["content-type"] == "application/pdf"
    text = pdf_text(blank.content)
    assert squash(payload["applicant"]["name"]) not in text
    assert squash(LABELS[slug][0]) in text
    assert client.get(f"/api/v1/forms/{slug}/blank?format=png&page=1", headers=headers).content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("slug", "path"), [("exception-approval", "application.route"), ("transfer", "application.route")]
)
def test_api_refuses_a_regular_declaration_for_route_forms(client, keys, declaration, slug, path):
    response = client.post(f"/api/v1/forms/{slug}", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input"
    assert [e["path"] for e in body["errors"]] == [path]


def test_api_names_the_missing_section(client, keys, declaration):
    declaration["application"]["route"] = "转评"
    response = client.post("/api/v1/forms/transfer", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["application.transfer"]
    declaration["application"]["route"] = "破格"
    response = client.post("/api/v1/forms/exception-approval", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 200


def test_api_reports_contract_errors_before_the_route(client, keys, declaration):
    declaration["applicant"]["birth_date"] = "1989/05/26"
    response = client.post("/api/v1/forms/transfer", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["applicant.birth_date"]


def test_api_lists_the_auxiliary_forms_with_their_blanks(client, keys):
    response = client.get("/api/v1/forms", headers=auth(keys["platform"]))
    assert response.status_code == 200
    listed = {form["form"]: form for form in response.json()}
    for slug, spec in FORMS.items():
        assert listed[slug]["blank"] is True
        assert listed[slug]["title"] == spec.title
        assert listed[slug]["orientation"] == "portrait"
        properties = listed[slug]["schema"]["properties"]
        assert {"applicant", "application", "unit_review", "assessment"} <= set(properties)


def test_openapi_carries_the_samples(client):
    schema = client.get("/openapi.json").json()
    for slug in SLUGS:
        content = schema["paths"][f"/api/v1/forms/{slug}"]["post"]["requestBody"]["content"]["application/json"]
        example = content["examples"]["contract"]["value"]
        assert example == sample(slug)
    assert "/api/v1/forms/unit-review/blank" in schema["paths"]


def test_payload_is_not_changed_by_rendering(renderer):
    payload = sample("assessment")
    before = copy.deepcopy(payload)
    render(renderer, "assessment", payload)
    assert payload == before

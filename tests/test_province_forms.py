"""单位公示证明, 准考证 and 笔试申请表: filled, printable blank, golden images, the API.

As in tests/test_auxiliary_forms.py, each form lists the payload fields it shows
(``SHOWN``): the text layer must carry every one of them, and the blank form none.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service import FONTS_DIR, TEMPLATES_DIR
from service.config import Limits
from service.contract.admission_ticket import EXAM_KINDS
from service.documents.filters import cn_date, dot_date
from service.errors import InvalidInput
from service.forms import admission_ticket, publicity_proof, written_test
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from tests import variants
from tests.conftest import auth, load_contract
from tests.golden import assert_matches_golden
from tests.paths import set_at, values_at
from tests.pdftext import attachments, image_count, page_texts, pdf_text, squash, text_below_the_body

SLUGS = ["publicity-proof", "admission-ticket", "written-test-application"]
FORMS = {slug: all_forms()[slug] for slug in SLUGS}


def sample(slug: str) -> dict:
    return json.loads((TEMPLATES_DIR / "forms" / slug / "sample.json").read_text("utf-8"))


def minimal_proof() -> dict:
    """Only what the proof requires: no year, committee, code, signer, contact or date."""
    payload = sample("publicity-proof")
    for key in ("year", "committee", "handling", "statement", "responsible", "handler", "phone", "date"):
        payload.pop(key)
    payload["unit"].pop("uscc")
    payload["applicants"] = [{"name": "张三", "specialty": "化工", "title": "工程师"}]
    return payload


def minimal_ticket() -> dict:
    """Only what the ticket requires: no photo, plan, committee, room, seat, notices or issuer."""
    payload = sample("admission-ticket")
    for key in ("year", "plan_name", "committee", "organizer", "notices", "issued_on"):
        payload.pop(key)
    payload["candidate"].pop("photo")
    for key in ("end", "room", "seat"):
        payload["exam"].pop(key)
    return payload


CASES = {
    "publicity-proof": {"sample": lambda: sample("publicity-proof"), "minimal": minimal_proof},
    "admission-ticket": {"sample": lambda: sample("admission-ticket"), "minimal": minimal_ticket},
    # The contract's declaration has no written_test section: its boxes print empty.
    "written-test-application": {
        "sample": lambda: sample("written-test-application"),
        "contract": lambda: load_contract("declaration.json"),
    },
}
FILLED = [(slug, case) for slug in SLUGS for case in CASES[slug]]


def payload_of(slug: str, case: str) -> dict:
    return CASES[slug][case]()


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
            _CACHE[slug, case] = render(renderer, slug, payload_of(slug, case))
    return _CACHE[slug, case]


# --- what each form shows -----------------------------------------------------


def _cn(value):
    return cn_date(value)


def _dot(value):
    return dot_date(value)


def _day_of(value):
    """A date and time prints as its day."""
    return cn_date(value[:10])


def _years(value):
    return f"{value}年"


def _working_days(value):
    return f"共{value}个工作日"


def _birth_month(value):
    return dot_date(value[:7])


def opinion(path: str) -> list:
    return [f"{path}.text", f"{path}.signer", (f"{path}.date", _cn)]


SHOWN = {
    "publicity-proof": [
        "year",
        "committee",
        "unit.name",
        "unit.uscc",
        "applicants[*].name",
        "applicants[*].gender",
        "applicants[*].series",
        "applicants[*].specialty",
        "applicants[*].title",
        "applicants[*].level",
        ("period.start", _cn),
        ("period.end", _cn),
        ("period.working_days", _working_days),
        "place",
        "handling",
        "statement",
        "responsible",
        "handler",
        "phone",
        ("date", _cn),
    ],
    "admission-ticket": [
        "ticket_no",
        "plan_name",
        "committee",
        "organizer",
        "candidate.name",
        "candidate.gender",
        "candidate.id_type",
        "candidate.id_number",
        "candidate.work_unit",
        "application.series",
        "application.specialty",
        "application.title",
        "application.level",
        "exam.kind",
        ("exam.start", _day_of),
        "exam.venue",
        "exam.room",
        "exam.seat",
        "notices[*]",
        ("issued_on", _cn),
    ],
    "written-test-application": [
        "declaration_id",
        "plan.year",
        "plan.committee.name",
        "applicant.name",
        "applicant.gender",
        ("applicant.birth_date", _birth_month),
        "applicant.id_number",
        "applicant.phone",
        ("applicant.work_start_date", _dot),
        ("applicant.years_in_specialty", _years),
        "application.recommending_unit.name",
        "application.series",
        "application.specialty",
        "application.title",
        "application.level",
        "application.route",
        "current_titles[0].title",
        "current_titles[0].level",
        ("current_titles[0].approved_on", _dot),
        "education[0].education_level",
        "education[0].school",
        "education[0].major",
        "written_test.reason",
        ("written_test.applied_on", _cn),
        *opinion("written_test.unit_opinion"),
        *opinion("written_test.organizer_opinion"),
    ],
}

# Labels every copy carries, filled or blank (compared without whitespace) ...
LABELS = {
    "publicity-proof": [
        "单位公示证明",
        "评审年度",
        "评委会",
        "单位名称",
        "统一社会信用代码",
        "公示人员",
        "序号姓名性别申报系列申报专业申报资格",
        "公示时间",
        "个工作日",
        "公示地点及方式",
        "公示结果",
        "公示期间无异议",
        "公示期间有异议",
        "异议及处理情况",
        "证明",
        "单位（盖章）",
        "单位负责人（签字）",
        "经办人",
        "联系电话",
    ],
    "admission-ticket": [
        "准考证",
        "准考证号",
        "姓名",
        "性别",
        "证件类型",
        "证件号码",
        "工作单位",
        "申报系列",
        "申报级别",
        "申报专业",
        "申报职称",
        "考试类别",
        "考试时间",
        "考试地点",
        "考场",
        "座位号",
        "评委会",
        "考生须知",
    ],
    "written-test-application": [
        "笔试申请表",
        "评审年度",
        "申报编号",
        "姓名",
        "性别",
        "出生年月",
        "证件号码",
        "联系电话",
        "工作单位",
        "现职称",
        "取得时间",
        "参加工作时间",
        "学历",
        "毕业院校",
        "所学专业",
        "申报系列",
        "申报专业",
        "专业工作年限",
        "申报资格",
        "申报类型",
        "评委会",
        "申请理由",
        "本人承诺",
        squash(written_test.PLEDGE_TEXT),
        "申请人（签字）",
        "所在单位意见",
        "单位（盖章）",
        "单位负责人（签字）",
        "评委会组建单位意见",
        "（盖章）",
    ],
}
# ... and what only the blank carries: empty boxes, 年 月 日 to fill in, its own wording.
BLANK_LABELS = {
    "publicity-proof": ["□公示期间无异议□公示期间有异议", squash(publicity_proof.BLANK_STATEMENT), "年月日"],
    "admission-ticket": [
        "职称评审考试准考证",
        "照片（二寸）",
        "□面试□笔试",
        "年月日时分至时分",
        *[squash(n) for n in admission_ticket.default_notices(None)],
    ],
    "written-test-application": ["年月日"],
}


def shown_strings(slug: str, payload: dict) -> list[str]:
    strings = []
    for field in SHOWN[slug]:
        path, fmt = field if isinstance(field, tuple) else (field, str)
        strings += [fmt(value) for value in values_at(payload, path)]
    return strings


# --- filled ---------------------------------------------------------------------


@pytest.mark.parametrize(("slug", "case"), FILLED)
def test_every_shown_field_is_in_the_text_layer(renderer, slug, case):
    strings = shown_strings(slug, payload_of(slug, case))
    assert len(strings) >= 8
    text = pdf_text(rendered(renderer, slug, case))
    assert [s for s in strings if squash(s) not in text] == []


@pytest.mark.parametrize(("slug", "case"), FILLED)
def test_filled_forms_carry_their_labels_fit_one_page_and_attach_the_payload(renderer, slug, case):
    pdf = rendered(renderer, slug, case)
    text = pdf_text(pdf)
    assert [label for label in LABELS[slug] if label not in text] == []
    assert len(page_texts(pdf)) == 1
    files = attachments(pdf)
    assert list(files) == [f"{slug}.json"]
    # The attached source is the payload as validated ...
    validated = FORMS[slug].validate(payload_of(slug, case), Limits())
    attached = json.loads(files[f"{slug}.json"])
    assert attached == json.loads(json.dumps(validated.model_dump(mode="json")))
    if slug != "written-test-application":
        # ... and the forms' own payloads validate again from it to the same. (A declaration's
        # months are written as {"year", "month", "day"} objects: YearMonth has no serializer.)
        assert FORMS[slug].validate(attached, Limits()) == validated


@pytest.mark.parametrize(("slug", "case"), FILLED)
def test_output_is_deterministic(renderer, slug, case):
    assert render(renderer, slug, payload_of(slug, case)) == rendered(renderer, slug, case)


_RENDER_SCRIPT = """
import json, sys
from service.config import Limits, Settings
from service.documents.render import Renderer
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_form
s = Settings()
spec = all_forms()[sys.argv[2]]
payload = spec.validate(json.load(open(sys.argv[1], encoding="utf-8")), Limits())
sys.stdout.buffer.write(render_form(Renderer(s.templates_dir, s.fonts_dir), spec, payload, RenderContext(s.fonts_dir)))
"""


def test_the_ticket_is_byte_identical_across_processes(renderer, tmp_path):
    """The same ticket (with its photo) from two processes hashing differently: the same bytes."""
    source = tmp_path / "ticket.json"
    source.write_text(json.dumps(sample("admission-ticket"), ensure_ascii=False), "utf-8")
    root = Path(__file__).resolve().parent.parent
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _RENDER_SCRIPT, str(source), "admission-ticket"],
            capture_output=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1] == rendered(renderer, "admission-ticket", "sample")


# --- 单位公示证明 ---------------------------------------------------------------------


def test_the_proof_certifies_its_period_and_outcome(renderer):
    text = pdf_text(rendered(renderer, "publicity-proof", "sample"))
    assert (
        "我单位已于2024年08月26日至2024年09月01日（共5个工作日）对上述3名申报人员的申报材料进行了评审前公示，"
        "公示期间无异议。特此证明。"
    ) in text
    assert "□✓公示期间无异议□公示期间有异议" in text
    assert "异议及处理情况无" in text  # considered, and there was none
    assert "公示人员（共3人）" in text


def test_an_objection_prints_its_handling_and_a_statement_replaces_the_sentence(renderer):
    payload = sample("publicity-proof")
    payload["outcome"] = "有异议"
    payload["handling"] = "公示期间收到1件关于李明远业绩材料的异议，经单位核实，相关业绩真实有效，已书面答复。"
    payload["statement"] = "经公示，上述人员符合申报条件，特此证明。"
    text = pdf_text(render(renderer, "publicity-proof", payload))
    assert "□公示期间无异议□✓公示期间有异议" in text
    assert squash(payload["handling"]) in text
    assert "经公示，上述人员符合申报条件，特此证明。" in text and "我单位已于" not in text


def test_the_sentence_names_the_handling_of_an_objection(renderer):
    payload = sample("publicity-proof")
    payload["outcome"] = "有异议"
    payload["handling"] = "已核实处理。"
    text = pdf_text(render(renderer, "publicity-proof", payload))
    assert "公示期间收到异议，已按规定核实处理（处理情况见上）。特此证明。" in text


def test_a_long_list_of_applicants_repeats_its_headings_and_keeps_rows_whole(renderer):
    payload = sample("publicity-proof")
    payload["applicants"] = [
        {"name": f"申报人{i:03d}", "gender": "男", "series": "工程技术人员", "specialty": "化工", "title": "工程师"}
        for i in range(80)
    ]
    pdf = render(renderer, "publicity-proof", payload)
    pages = [squash(t) for t in page_texts(pdf)]
    assert len(pages) >= 3
    for text in pages:
        assert "公示人员（共80人）序号姓名性别申报系列申报专业申报资格" in text
    for person in payload["applicants"]:
        assert sum(person["name"] in text for text in pages) == 1
    assert "对上述80名申报人员" in pages[-1] and "单位（盖章）" in pages[-1]
    assert text_below_the_body(pdf) == []


# --- 准考证 ------------------------------------------------------------------------


def test_the_ticket_title_names_the_plan_and_the_kind(renderer):
    text = pdf_text(rendered(renderer, "admission-ticket", "sample"))
    assert text.startswith("2024年度安徽省工程系列化工工程专业高级职称评审面试准考证")
    assert "考试时间2024年10月12日09:00—11:30" in text
    assert image_count(rendered(renderer, "admission-ticket", "sample"), 1) == 1  # the photo
    # Without a plan or a committee: 职称评审面试准考证, and the photo box to stick one in.
    minimal = pdf_text(rendered(renderer, "admission-ticket", "minimal"))
    assert minimal.startswith("职称评审面试准考证")
    assert "照片（二寸）" in minimal and image_count(rendered(renderer, "admission-ticket", "minimal"), 1) == 0


@pytest.mark.parametrize(
    ("change", "title"),
    [
        (lambda t: t.update(plan_name="安徽省工程系列高级职称评审"), "2024年度安徽省工程系列高级职称评审面试准考证"),
        (lambda t: t.update(plan_name=None), "2024年度安徽省工程系列化工工程专业高级职称评审委员会面试准考证"),
        (lambda t: t.update(plan_name=None, committee=None), "2024年度职称评审面试准考证"),
        (lambda t: t["exam"].update(kind="笔试"), "2024年度安徽省工程系列化工工程专业高级职称评审笔试准考证"),
    ],
)
def test_ticket_titles(change, title):
    payload = sample("admission-ticket")
    change(payload)
    ticket = FORMS["admission-ticket"].validate(payload, Limits())
    assert "".join(admission_ticket.title_lines(ticket)) == title


@pytest.mark.parametrize(
    ("start", "end", "printed"),
    [
        ("2024-10-12T09:00:00+08:00", None, "2024年10月12日 09:00"),
        ("2024-10-12T09:00:00+08:00", "2024-10-13T17:30:00+08:00", "2024年10月12日 09:00 至 2024年10月13日 17:30"),
        # Another zone is printed in Beijing time; a time without a zone is Beijing time.
        ("2024-10-12T01:00:00Z", "2024-10-12T03:30:00Z", "2024年10月12日 09:00—11:30"),
        ("2024-10-12T09:00", "2024-10-12 11:30", "2024年10月12日 09:00—11:30"),
    ],
)
def test_exam_times_print_in_beijing_time(start, end, printed):
    payload = sample("admission-ticket")
    payload["exam"].update(start=start, end=end)
    exam = FORMS["admission-ticket"].validate(payload, Limits()).exam
    assert admission_ticket.exam_time(exam.start, exam.end) == printed


def test_the_ticket_prints_its_kinds_notices_unless_the_payload_sends_its_own(renderer):
    interview = pdf_text(rendered(renderer, "admission-ticket", "sample"))
    assert all(squash(n) in interview for n in admission_ticket.default_notices("面试"))
    assert "笔试须使用黑色墨水笔" not in interview
    payload = sample("admission-ticket")
    payload["exam"]["kind"] = "笔试"
    payload["notices"] = ["请携带2B铅笔和黑色签字笔。", "考试时长120分钟。"]
    text = pdf_text(render(renderer, "admission-ticket", payload))
    assert "考生须知1.请携带2B铅笔和黑色签字笔。2.考试时长120分钟。" in text
    assert squash(admission_ticket.default_notices("笔试")[0]) not in text


# --- 笔试申请表 ----------------------------------------------------------------------


def test_the_application_is_dated_when_the_applicant_signs(renderer):
    sampled = pdf_text(rendered(renderer, "written-test-application", "sample"))
    assert "申请人（签字）：2024年07月16日" in sampled
    # Without the section: the declaration's submission, and the opinions left to be written in.
    contract = pdf_text(rendered(renderer, "written-test-application", "contract"))
    assert "申请人（签字）：2024年08月20日" in contract
    assert contract.count("年月日") == 2
    assert "申请理由本人承诺" in contract


# --- blank ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_blank_carries_the_labels_and_no_payload_data(renderer, slug):
    pdf = rendered(renderer, slug, "blank")
    text = pdf_text(pdf)
    assert [label for label in LABELS[slug] + BLANK_LABELS[slug] if label not in text] == []
    # Every value the filled forms show, except one-character and pure numbers (a blank
    # numbers its empty rows) and the exam's kinds (the blank offers both to tick).
    values = {squash(s) for case in CASES[slug] for s in shown_strings(slug, payload_of(slug, case))}
    leaked = [v for v in values if len(v) > 1 and not v.isdigit() and v not in EXAM_KINDS and v in text]
    assert leaked == []
    assert "□✓" not in text
    assert attachments(pdf) == {}
    assert len(page_texts(pdf)) == 1


@pytest.mark.parametrize(
    ("slug", "seals"),
    [("publicity-proof", ["单位（盖章）"]), ("written-test-application", ["单位（盖章）", "（盖章）"])],
)
def test_every_seal_box_is_printed_whatever_the_payload(renderer, slug, seals):
    for case in [*CASES[slug], "blank"]:
        text = pdf_text(rendered(renderer, slug, case))
        assert all(seal in text for seal in seals), case


# --- long texts, markup -----------------------------------------------------------

LONG_TEXTS = {
    "publicity-proof": [["handling"], ["statement"]],
    "admission-ticket": [["notices", 0], ["notices", 1]],
    "written-test-application": [["written_test", "reason"], ["written_test", "unit_opinion", "text"]],
}


@pytest.mark.parametrize("slug", SLUGS)
def test_long_texts_flow_over_pages_and_nothing_is_cut_off(renderer, slug):
    payload = sample(slug)
    if slug == "publicity-proof":
        payload["outcome"] = "有异议"  # its handling is one of the long texts
    if slug == "admission-ticket":
        payload["notices"] = ["", ""]
    texts = [variants.long_text(2500, sentence=f"第{i}段：" + variants.SUMMARY_SENTENCE) for i in range(2)]
    for path, long_text in zip(LONG_TEXTS[slug], texts):
        set_at(payload, path, long_text)
    pdf = render(renderer, slug, payload)
    pages = page_texts(pdf)
    assert len(pages) >= 3
    text = pdf_text(pdf)
    assert [t[:20] for t in texts if squash(t) not in text] == []
    assert text_below_the_body(pdf) == []
    # The first long text starts on the first page instead of leaving it half empty.
    assert squash(texts[0])[:40] in squash(pages[0])
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in squash(page)


# Markup in a name, and markup and template syntax in a free text (the ticket's venue).
NAME_MARKUP = "</td></tr></table><h1>假标题</h1>"
TEXT_MARKUP = (
    '正文里也有：{{ 7*7 }}{% print 7*7 %}<img src="file:///etc/passwd"><link rel=stylesheet href=//169.254.169.254>'
)
NAME_AND_TEXT = {
    "publicity-proof": (["applicants", 0, "name"], ["handling"]),
    "admission-ticket": (["candidate", "name"], ["exam", "venue"]),
    "written-test-application": (["applicant", "name"], ["written_test", "reason"]),
}


@pytest.mark.parametrize("slug", SLUGS)
def test_markup_and_template_syntax_in_input_print_as_plain_text(renderer, slug):
    payload = sample(slug)
    name_path, text_path = NAME_AND_TEXT[slug]
    set_at(payload, name_path, NAME_MARKUP)
    set_at(payload, text_path, TEXT_MARKUP)
    if slug == "publicity-proof":
        payload["outcome"] = "有异议"  # its handling prints the text
    pdf = render(renderer, slug, payload)
    text = pdf_text(pdf)
    assert squash(NAME_MARKUP) in text and squash(TEXT_MARKUP) in text
    assert renderer.fetcher.refused == []  # nothing in the input was fetched
    baseline = rendered(renderer, slug, "sample")
    assert text.count("49") == pdf_text(baseline).count("49")  # {{ 7*7 }} was not evaluated
    assert image_count(pdf, 1) == image_count(baseline, 1)  # no <img> from the input


# --- bad input ----------------------------------------------------------------------


def _photo(payload: dict, data: str) -> None:
    payload["candidate"]["photo"] = {"media_type": "image/jpeg", "data_base64": data}


BAD_INPUT = [
    ("publicity-proof", lambda p: p.update(applicants=[]), "applicants", "至少需要 1 项"),
    ("publicity-proof", lambda p: p["applicants"][1].pop("name"), "applicants[1].name", "缺少必填项"),
    (
        "publicity-proof",
        lambda p: p["period"].update(working_days=3),
        "period.working_days",
        "评审前公示不少于 5 个工作日，当前为 3 个工作日",
    ),
    (
        "publicity-proof",
        lambda p: p["period"].update(working_days=9),
        "period.working_days",
        "工作日数 9 超过了公示期的天数（2024-08-26 至 2024-09-01 共 7 天）",
    ),
    ("publicity-proof", lambda p: p["period"].update(end="2024-08-01"), "period.end", "公示结束日期不能早于开始日期"),
    ("publicity-proof", lambda p: p.update(outcome="有异议"), "handling", "公示结果为“有异议”时须填写异议及处理情况"),
    ("publicity-proof", lambda p: p.update(outcome="无"), "outcome", "应为以下之一：无异议、有异议"),
    ("publicity-proof", lambda p: p.update(date="2024-08-30"), "date", "证明日期不能早于公示结束日期 2024-09-01"),
    ("publicity-proof", lambda p: p.pop("place"), "place", "缺少必填项"),
    (
        "admission-ticket",
        lambda p: p["candidate"].update(id_number="34010419890526"),
        "candidate.id_number",
        "居民身份证号码应为 18 位数字（末位可为 X）",
    ),
    ("admission-ticket", lambda p: p["exam"].update(kind="口试"), "exam.kind", "应为以下之一：面试、笔试"),
    (
        "admission-ticket",
        lambda p: p["exam"].update(end="2024-10-12T08:00:00+08:00"),
        "exam.end",
        "考试结束时间应晚于开始时间",
    ),
    (
        "admission-ticket",
        lambda p: p["exam"].update(start="2024/10/12 09:00"),
        "exam.start",
        "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    ),
    (
        "admission-ticket",
        lambda p: p["exam"].update(start="9999-12-31T23:00:00-05:00", end=None),
        "exam.start",
        "考试时间的年份应在 1980 至 2100 年之间",
    ),
    ("admission-ticket", lambda p: p.update(ticket_no="1" * 41), "ticket_no", "过长：最多 40 个字符"),
    ("admission-ticket", lambda p: _photo(p, "不是图片"), "candidate.photo.data_base64", "照片不是合法的 Base64 编码"),
    (
        "written-test-application",
        lambda p: p["written_test"].update(applied_on="2024/07/16"),
        "written_test.applied_on",
        "日期格式应为 YYYY-MM-DD",
    ),
    (
        "written-test-application",
        lambda p: p["written_test"].update(unit_opinion={"signer": "王五"}),
        "written_test.unit_opinion.text",
        "缺少必填项",
    ),
    (
        "written-test-application",
        lambda p: p["written_test"].update(reson=p["written_test"].pop("reason")),
        "written_test.reson",
        "未知字段 written_test.reson，是否应为 reason？",
    ),
]


@pytest.mark.parametrize(("slug", "change", "path", "message"), BAD_INPUT)
def test_bad_input_is_named_by_its_path_in_chinese(slug, change, path, message):
    payload = sample(slug)
    change(payload)
    with pytest.raises(InvalidInput) as raised:
        FORMS[slug].validate(payload, Limits())
    assert [(e.path, e.message) for e in raised.value.errors] == [(path, message)]


# --- golden images --------------------------------------------------------------


@pytest.mark.parametrize(("slug", "case"), [*FILLED, *((slug, "blank") for slug in SLUGS)])
def test_matches_golden(renderer, slug, case):
    assert_matches_golden(rendered(renderer, slug, case), f"{slug}/{case}")


# --- the API --------------------------------------------------------------------

# A value of each form's payload the PDF prints, and the change that makes it a 422.
API_CASES = {
    "publicity-proof": (["unit", "name"], lambda p: p["period"].update(working_days=4), "period.working_days"),
    "admission-ticket": (["candidate", "name"], lambda p: p["exam"].update(kind="口试"), "exam.kind"),
    "written-test-application": (
        ["applicant", "name"],
        lambda p: p["written_test"].update(applied_on="2024-13-01"),
        "written_test.applied_on",
    ),
}


# The province whose manual has the form (its profile serves it; the others answer 404).
PROVINCE_OF = {"publicity-proof": "hubei", "admission-ticket": "anhui", "written-test-application": "anhui"}


@pytest.mark.parametrize("slug", SLUGS)
def test_api_renders_the_form_its_preview_and_its_blank_and_names_bad_fields(settings, slug):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.conftest import make_key

    s = settings.model_copy(update={"profile": PROVINCE_OF[slug]})
    with TestClient(create_app(s)) as client:
        _api_case(client, {"platform": make_key(s, "platform")}, slug)


def _api_case(client, keys, slug):
    headers = auth(keys["platform"])
    payload = sample(slug)
    shown_path, spoil, bad_path = API_CASES[slug]
    shown = squash(values_at(payload, ".".join(shown_path))[0])
    response = client.post(f"/api/v1/forms/{slug}", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert shown in pdf_text(response.content)

    preview = client.post(f"/api/v1/forms/{slug}?format=png&page=1", json=payload, headers=headers)
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")

    blank = client.get(f"/api/v1/forms/{slug}/blank", headers=headers)
    assert blank.status_code == 200 and blank.headers["content-type"] == "application/pdf"
    assert shown not in pdf_text(blank.content) and squash(LABELS[slug][0]) in pdf_text(blank.content)

    bad = copy.deepcopy(payload)
    spoil(bad)
    refused = client.post(f"/api/v1/forms/{slug}", json=bad, headers=headers)
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "invalid_input"
    assert [e["path"] for e in body["errors"]] == [bad_path]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in body["errors"])


def _served(settings, path: str, province: str):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.conftest import make_key

    s = settings.model_copy(update={"profile": province})
    with TestClient(create_app(s)) as client:
        return client.get(path, headers=auth(make_key(s, "platform"))).json()


def test_api_lists_the_forms_with_their_blanks_and_documented_schemas(settings):
    listed = {}
    for province in ("hubei", "anhui"):
        listed.update({f["form"]: f for f in _served(settings, "/api/v1/forms", province)})
    for slug, spec in FORMS.items():
        assert listed[slug]["blank"] is True
        assert listed[slug]["title"] == spec.title
        assert listed[slug]["orientation"] == "portrait"
    proof = listed["publicity-proof"]["schema"]
    assert proof["properties"]["place"]["description"] == "公示地点及方式，如 单位公示栏、单位内网"
    assert proof["$defs"]["ProofPeriod"]["properties"]["working_days"]["minimum"] == 5
    ticket = listed["admission-ticket"]["schema"]
    assert ticket["$defs"]["ExamSession"]["properties"]["kind"]["description"] == "考试类别：面试 / 笔试"
    assert "written_test" in listed["written-test-application"]["schema"]["properties"]


def test_openapi_carries_the_samples(settings):
    for slug in SLUGS:
        schema = _served(settings, "/openapi.json", PROVINCE_OF[slug])
        content = schema["paths"][f"/api/v1/forms/{slug}"]["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"]["contract"]["value"] == sample(slug)
        assert f"/api/v1/forms/{slug}/blank" in schema["paths"]

"""Every form, variant and province read back from its text layer (issue 22).

What a clerk filing the paper would catch, checked over everything the service prints:

- no short value (a name, a title, a unit, a term: at most 12 characters) split across two
  lines of its field (「高级教|师」, 「评审委|员会」);
- no page without its document's title or its applicant's name (a loose page in an archive);
- totals that are the sums of their printed items (附件一览表's sizes and counts, 花名册's
  head count).
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import cache, lru_cache

import pypdfium2 as pdfium
import pytest

from service import FONTS_DIR, PROFILES_DIR, TEMPLATES_DIR
from service.config import Limits, Settings
from service.contract.parse import validate_payload
from service.forms.catalog import all_forms
from service.forms.spec import RenderContext, render_blank, render_form
from service.profiles.load import available, load_profile
from tests import variants
from tests.conftest import load_contract
from tests.pdflines import CJK, fields, text_lines
from tests.pdftext import page_texts, squash
from tests.variants import long_variant, minimal

PROFILES = sorted(available(PROFILES_DIR))
SHORT = 12
FREE_TEXT = 60  # service.documents.typeset.WORDS_MAX
DECLARATION_VARIANTS = {"contract": lambda: load_contract("declaration.json")}
DECLARATION_VARIANTS["long"] = lambda: long_variant(load_contract("declaration.json"))
DECLARATION_VARIANTS["minimal"] = lambda: minimal(load_contract("declaration.json"))


def _sample(slug: str) -> dict:
    import json

    spec = all_forms()[slug]
    return json.loads((TEMPLATES_DIR / "forms" / slug / spec.sample).read_text("utf-8"))


def _is_declaration_form(slug: str) -> bool:
    return getattr(all_forms()[slug].model, "__name__", "") == "Declaration"


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name in PROFILES:
        for slug in load_profile(name, PROFILES_DIR).forms:
            cases.append((name, slug, "sample"))
            if all_forms()[slug].blank_context is not None:
                cases.append((name, slug, "blank"))
            if _is_declaration_form(slug):
                cases += [(name, slug, variant) for variant in DECLARATION_VARIANTS]
    return cases


CASES = _cases()


@lru_cache(maxsize=1)
def _renderer():
    from service.documents.render import Renderer

    return Renderer(TEMPLATES_DIR, FONTS_DIR)


def _payload(slug: str, variant: str) -> dict:
    """The variant as the platform sends it for this form (破格 and 转评 forms need their
    route and its data)."""
    if variant == "sample":
        return copy.deepcopy(_sample(slug))
    payload = DECLARATION_VARIANTS[variant]()
    if slug == "exception-approval":
        return variants.exceptional(payload)
    if slug == "transfer":
        return variants.transfer(payload)
    return payload


@lru_cache(maxsize=4)
def _limits(name: str) -> Limits:
    settings = Settings(profile=name, profiles_dir=PROFILES_DIR)
    return settings.with_profile(load_profile(name, PROFILES_DIR)).limits


@cache
def rendered(name: str, slug: str, variant: str) -> bytes:
    spec, profile = all_forms()[slug], load_profile(name, PROFILES_DIR)
    ctx = RenderContext(FONTS_DIR, profile=profile)
    if variant == "blank":
        return render_blank(_renderer(), spec, ctx)
    payload = _payload(slug, variant)
    model = (
        spec.validate(payload, _limits(name)) if spec.parse else validate_payload(spec.model, payload, _limits(name))
    )
    return render_form(_renderer(), spec, model, ctx)


def short_values(payload) -> set[str]:
    """The payload's printed words: strings of 2 to 12 characters with an ideograph, on one line."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in ("photo", "data_base64", "id_number", "phone"):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            text = squash(value)
            if 2 <= len(text) <= SHORT and CJK.search(text) and "\n" not in value:
                found.add(text)

    walk(payload)
    return found


def split_values(pdf: bytes, values: set[str]) -> list[str]:
    """Values a field prints over a line break: in the field's text, in none of its lines.
    Fields of free text (more than 60 characters: a summary, an opinion) break anywhere,
    as Chinese prose does."""
    split = []
    for one in fields(text_lines(pdf)):
        joined = squash("".join(line.text for line in one.lines))
        if len(one.lines) < 2 or len(joined) > FREE_TEXT:
            continue
        lines = [squash(line.text) for line in one.lines]
        for value in values:
            if value in joined and not any(value in line for line in lines):
                split.append(f"p{one.lines[0].page}: {value} in {one.text}")
    return split


FILLED = [case for case in CASES if case[2] != "blank"]


@pytest.mark.parametrize(("name", "slug", "variant"), FILLED, ids=["-".join(case) for case in FILLED])
def test_no_short_value_is_split_across_lines(name, slug, variant):
    assert split_values(rendered(name, slug, variant), short_values(_payload(slug, variant))) == []


def _title_and_name(pdf: bytes, slug: str, variant: str) -> tuple[str, str | None]:
    """The title a page must carry (a list's own title where the payload names it, else
    the form's as its metadata gives it), and the applicant's name where there is one."""
    document = pdfium.PdfDocument(pdf)
    try:
        title = document.get_metadata_dict().get("Title", "")
    finally:
        document.close()
    if variant == "sample" and isinstance(_sample(slug).get("title"), str):
        title = _sample(slug)["title"]
    name = None
    if variant != "blank" and _is_declaration_form(slug):
        name = _payload(slug, variant)["applicant"]["name"]
    return squash(title), name


@pytest.mark.parametrize(("name", "slug", "variant"), CASES, ids=["-".join(case) for case in CASES])
def test_every_page_carries_its_title_or_its_applicant(name, slug, variant):
    pdf = rendered(name, slug, variant)
    title, applicant = _title_and_name(pdf, slug, variant)
    assert title
    loose = [
        number
        for number, text in enumerate(page_texts(pdf), start=1)
        if title not in squash(text) and (applicant is None or applicant not in squash(text))
    ]
    assert loose == [], f"pages without 「{title}」 or the applicant's name: {loose}"


# --- totals ------------------------------------------------------------------------------

_SIZE = r"(\d+\.\d+)(KB|MB)"
_TOKENS = re.compile(rf"合计(\d+)类，(\d+)个文件{_SIZE}|(\d+)个，{_SIZE}|{_SIZE}")


def attachment_totals(text: str) -> dict:
    """The attachment list's text read as categories (count, size and their files' sizes)
    and the total row."""
    groups: list[dict] = []
    total = None
    for match in _TOKENS.finditer(text):
        if match.group(1):
            total = {"groups": int(match.group(1)), "files": int(match.group(2)), "size": Decimal(match.group(3))}
        elif match.group(5):
            groups.append({"count": int(match.group(5)), "size": Decimal(match.group(6)), "files": []})
        elif groups:
            groups[-1]["files"].append(Decimal(match.group(8)))
    return {"groups": groups, "total": total}


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("variant", ["sample", "contract", "long"])
def test_the_attachment_lists_totals_are_the_sums_of_its_rows(name, variant):
    if "attachment-list" not in load_profile(name, PROFILES_DIR).forms:
        pytest.skip(f"{name} has no attachment list")
    read = attachment_totals(squash("".join(page_texts(rendered(name, "attachment-list", variant)))))
    groups, total = read["groups"], read["total"]
    assert groups and total is not None
    for group in groups:
        assert len(group["files"]) == group["count"]
        assert sum(group["files"]) == group["size"]
    assert total["groups"] == len(groups)
    assert total["files"] == sum(g["count"] for g in groups)
    assert total["size"] == sum(g["size"] for g in groups)


def test_the_totals_check_catches_a_total_that_is_not_the_sum():
    read = attachment_totals("一职称证书2个，3.0KB1a.pdf1.0KB2b.pdf2.1KB合计1类，2个文件3.0KB")
    assert sum(read["groups"][0]["files"]) != read["groups"][0]["size"]


@pytest.mark.parametrize("name", PROFILES)
def test_the_rosters_head_count_is_the_number_of_its_rows(name):
    if "roster" not in load_profile(name, PROFILES_DIR).forms:
        pytest.skip(f"{name} has no roster")
    sample = _sample("roster")
    rows = sample["rows"] + sample["declarations"]  # a declaration is one more row
    text = squash("".join(page_texts(rendered(name, "roster", "sample"))))
    found = re.search(r"合计(\d+)人(?:（(.*?)）)?。", text)
    assert found is not None
    assert int(found.group(1)) == len(rows)
    if found.group(2):
        assert sum(int(n) for n in re.findall(r"(\d+)人", found.group(2))) == len(rows)


def test_the_split_check_catches_a_word_broken_over_two_lines():
    """The check itself: a word set in a box too narrow for it is broken, and caught."""
    import weasyprint

    html = '<p style="width: 22pt; font-size: 10pt; font-family: serif">高级教师</p>'
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert split_values(pdf, {"高级教师"}) != []


# --- certificates ------------------------------------------------------------------------

CERTIFICATE_TEXTS = {
    "contract": {},
    # What the issue saw broken on certificates: 「化学工|程与工艺」, 「专业技|术职务」.
    "chemistry": {
        "qualification.specialty": "化学工程与工艺",
        "qualification.title": "正高级工程师",
        "holder.work_unit": "湖北省化学工业研究设计院有限公司",
        "committee.name": "湖北省工程系列化工专业正高级专业技术职务任职资格评审委员会",
    },
    "teacher": {
        "qualification.series": "中小学教师",
        "qualification.specialty": "中学数学",
        "qualification.title": "高级教师",
        "qualification.level": "副高级",
        "holder.name": "欧阳娜娜",
        "committee.name": "湖北省中小学教师高级职务评审委员会",
        "issuer.name": "武汉市人力资源和社会保障局",
    },
}


def certificate_request(variant: str) -> dict:
    data = load_contract("certificate-request.json")
    for path, value in CERTIFICATE_TEXTS[variant].items():
        section, key = path.split(".")
        data[section][key] = value
    return data


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("variant", sorted(CERTIFICATE_TEXTS))
def test_no_short_value_of_a_certificate_is_split(name, variant):
    from service.certificates.identifiers import make_identifier
    from service.contract.certificate import CertificateRequest
    from service.forms.certificate import render_certificate, wording_of

    profile = load_profile(name, PROFILES_DIR)
    data = certificate_request(variant)
    request = CertificateRequest.model_validate(data)
    identifier = make_identifier(type_code="0102", issuer_uscc=request.issuer.code, serial="000001", version=1)
    pdf = render_certificate(
        _renderer(),
        request,
        number="9420242024000001",
        identifier=identifier,
        verify_url="https://zc.example.cn/v/abc",
        wording=wording_of(profile.certificate, profile.terms()),
    )
    values = short_values(data) | {squash(label) for label in profile.certificate.labels.values()}
    assert split_values(pdf, values) == []


# --- one type size per row ---------------------------------------------------------------


@pytest.mark.parametrize("name", PROFILES)
def test_the_values_of_a_row_of_the_exception_form_share_one_size(name):
    """破格申报审批表: 现职称, 取得时间 and 审批机关 in one size, as 申报资格 and 现从事专业技术工作
    are (a title set a step smaller beside a date at full size looked like a mistake)."""
    if "exception-approval" not in load_profile(name, PROFILES_DIR).forms:
        pytest.skip(f"{name} has no exception form")
    payload = _payload("exception-approval", "contract")
    title = payload["current_titles"][0]
    rows = [
        [title["title"], title["approved_on"].replace("-", "."), title["approving_body"][:4]],
        [payload["application"]["series"], payload["applicant"]["current_technical_work"]],
    ]
    lines = [line for line in text_lines(rendered(name, "exception-approval", "contract")) if line.page == 1]
    for row in rows:
        sizes = {round(line.size, 2) for value in row for line in lines if value in squash(line.text)}
        assert len(sizes) == 1, (row, sizes)

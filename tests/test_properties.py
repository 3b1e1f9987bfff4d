"""Property tests (Hypothesis) of the contract models and the renderers.

- Whatever validates, validates again to the same model from its own JSON: the stored
  request of a certificate is validated anew at every reissue and public copy.
- Any valid certificate request renders, and each of its printed texts is in the PDF's
  text layer exactly as sent (after NFC), markup and template syntax included.
- Any valid declaration renders as a review form, with each text in its text layer.
- Whatever text a field is given, validation answers with a model or with field errors
  in Chinese, never with another exception.

The examples are bounded (a render costs up to a second) and the same on every run.
"""

from __future__ import annotations

import copy
import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import FONTS_DIR
from service.config import Limits
from service.contract.certificate import MAX_CHARS, CertificateRequest
from service.contract.declaration import Declaration
from service.contract.parse import validate_payload
from service.errors import InvalidInput
from service.forms.catalog import all_forms
from service.forms.certificate import render_certificate
from service.forms.spec import RenderContext, render_form
from tests.conftest import load_contract
from tests.pdftext import pdf_text

RENDERS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CHEAP = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# What platforms send: common hanzi (the shipped face covers GB 2312), rare name characters
# (the fallback face), full-width punctuation, ASCII with every markup and template sign.
HANZI = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤湖北省武汉市工程技术研究院有限公司化工中级职称评审委员会人力资源社会保障厅"
RARE = "䶮龑𠇔㐀"
PUNCTUATION = "（）〔〕「」《》、，。：；！？—…·"
ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
ALPHABET = st.sampled_from(HANZI + RARE + PUNCTUATION + ASCII)


def text(max_size: int, min_size: int = 1):
    # Single spaces inside, none at the ends (the contract strips them), never two in a row.
    words = st.lists(st.text(ALPHABET, min_size=1, max_size=12), min_size=1, max_size=max(1, max_size // 4))
    return words.map(" ".join).map(lambda s: s[:max_size].strip()).filter(lambda s: len(s) >= min_size)


def squashed(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", value))


# --- the certificate ---------------------------------------------------------------

PRINTED = {  # (section, field): limit, for the texts the certificate prints as sent
    ("holder", "name"): MAX_CHARS["name"],
    ("holder", "work_unit"): MAX_CHARS["work_unit"],
    ("holder", "id_number"): MAX_CHARS["id_number"],
    ("qualification", "series"): MAX_CHARS["series"],
    ("qualification", "specialty"): MAX_CHARS["specialty"],
    ("qualification", "title"): MAX_CHARS["title"],
    ("qualification", "nature"): MAX_CHARS["nature"],
    ("qualification", "approval_doc_no"): MAX_CHARS["approval_doc_no"],
}


@st.composite
def certificate_requests(draw) -> dict:
    body = load_contract("certificate-request.json")
    body["holder"]["id_type"] = "护照"  # a number of any shape, then
    body["declaration_id"] = draw(text(MAX_CHARS["declaration_id"]))
    for (section, field), limit in PRINTED.items():
        body[section][field] = draw(text(limit))
    body["holder"]["gender"] = draw(st.sampled_from(["男", "女"]))
    body["qualification"]["level"] = draw(st.sampled_from(["正高级", "副高级", "中级", "初级"]))
    return body


@RENDERS
@given(body=certificate_requests())
def test_any_valid_certificate_request_renders_with_every_text_in_the_text_layer(renderer, body):
    request = validate_payload(CertificateRequest, body, Limits())
    pdf = render_certificate(
        renderer,
        request,
        number="9420244200010000001",
        identifier="1.2.156.3005.2.ZCZS.11420000011043123X.9420244200010000001.001.2",
        verify_url="https://zc.example/v/token",
    )
    layer = squashed(pdf_text(pdf))
    for section, field in PRINTED:
        assert squashed(body[section][field]) in layer, (field, body[section][field])


@CHEAP
@given(body=certificate_requests())
def test_a_valid_certificate_request_validates_again_from_its_own_json(body):
    request = validate_payload(CertificateRequest, body, Limits())
    again = validate_payload(CertificateRequest, request.model_dump(mode="json"), Limits())
    assert again.model_dump(mode="json") == request.model_dump(mode="json")


@CHEAP
@given(value=st.text(max_size=80), field=st.sampled_from(sorted(PRINTED)))
def test_any_text_in_any_field_is_a_model_or_chinese_field_errors(value, field):
    body = load_contract("certificate-request.json")
    body[field[0]][field[1]] = value
    try:
        validate_payload(CertificateRequest, body, Limits())
    except InvalidInput as refused:
        assert refused.errors and all(re.search("[\u4e00-\u9fff]", e.message) for e in refused.errors)
        assert {e.path for e in refused.errors} <= {f"{field[0]}.{field[1]}", "holder.id_number"}


# --- the review form ---------------------------------------------------------------

REVIEW_FORM = all_forms()["review-form"]
# Texts of the declaration the review form prints as they are (free text and names).
DECLARATION_TEXTS = [
    ("applicant", "name"),
    ("applicant", "former_name"),
    ("applicant", "birthplace"),
    ("application", "title"),
    ("application", "specialty"),
    ("work_summary",),
]


@st.composite
def declarations(draw) -> tuple[dict, list[str]]:
    body = load_contract("declaration.json")
    written = []
    for path in DECLARATION_TEXTS:
        target = body
        for key in path[:-1]:
            target = target[key]
        limit = 50 if path[-1] in ("name", "former_name") else 100 if path[-1] in ("title", "specialty") else 400
        target[path[-1]] = value = draw(text(limit, min_size=2))
        written.append(value)
    return body, written


@RENDERS
@given(case=declarations())
def test_any_valid_declaration_renders_as_a_review_form_with_its_texts(renderer, case):
    body, written = case
    payload = validate_payload(Declaration, copy.deepcopy(body), Limits())
    pdf = render_form(renderer, REVIEW_FORM, payload, RenderContext(FONTS_DIR))
    layer = squashed(pdf_text(pdf))
    for value in written:
        assert squashed(value) in layer, value

"""The declaration contract: what validates, and how bad input is reported."""

from __future__ import annotations

import base64
import copy
import io
import json
import random
import re

import pytest
from PIL import Image
from pydantic import ValidationError

from service.config import Limits, Settings
from service.contract.certificate import CertificateRequest
from service.contract.declaration import Declaration
from service.contract.parse import parse_payload, validate_payload
from service.contract.tables import PreReviewPublicity, ResultPublicity
from service.errors import InvalidInput
from tests import variants
from tests.conftest import auth, load_contract


def errors_of(payload, limits: Limits | None = None) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        validate_payload(Declaration, payload, limits or Limits())
    return {e.path: e.message for e in caught.value.errors}


def test_contract_example_validates_as_it_is(declaration):
    model = validate_payload(Declaration, declaration, Limits())
    assert model.applicant.name == "张三"
    assert str(model.education[0].start) == "2007-09"
    assert model.opinions.committee is None
    assert model.applicant.photo.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    "variant",
    [
        variants.minimal,
        variants.long_variant,
        variants.teacher,
        variants.exceptional,
        variants.transfer,
        variants.many_rows,
    ],
)
def test_real_platform_variations_validate(declaration, variant):
    model = validate_payload(Declaration, variant(declaration), Limits())
    assert model.applicant.name == "张三"


def test_null_sections_become_empty_lists(declaration):
    model = validate_payload(Declaration, variants.minimal(declaration), Limits())
    assert model.training == [] and model.books == [] and model.attachments == []
    assert model.opinions.unit is None


def test_blank_optional_strings_are_absent_but_blank_required_ones_fail(declaration):
    declaration["applicant"]["former_name"] = "  "
    declaration["applicant"]["ethnicity"] = ""
    model = validate_payload(Declaration, declaration, Limits())
    assert model.applicant.former_name is None and model.applicant.ethnicity is None
    declaration["applicant"]["name"] = ""
    assert errors_of(declaration) == {"applicant.name": "不能为空"}


def _misnamed_teacher_fields(declaration) -> dict:
    """A teacher declaration whose platform named three fields its own way (issue 13)."""
    payload = variants.teacher(declaration)
    info = payload["teacher_info"]
    info["staffing"] = info.pop("staffing_category")
    info["teaching_since"] = info.pop("teaching_start")
    info["teaching_stage"] = info.pop("school_stage")
    return payload


def test_unknown_fields_are_named_with_the_field_most_likely_meant(declaration):
    payload = _misnamed_teacher_fields(declaration)
    payload["applicant"]["wechat"] = "zhangsan"
    payload["papers"][0]["impact"] = 2.1
    payload["new_section_2025"] = {"anything": 1}
    assert errors_of(payload) == {
        "teacher_info.staffing": "未知字段 teacher_info.staffing，是否应为 staffing_category？",
        "teacher_info.teaching_since": "未知字段 teacher_info.teaching_since，是否应为 teaching_start？",
        "teacher_info.teaching_stage": "未知字段 teacher_info.teaching_stage，是否应为 school_stage？",
        "applicant.wechat": "未知字段 applicant.wechat：接口约定中没有该字段，请删除或核对字段名",
        "papers[0].impact": "未知字段 papers[0].impact：接口约定中没有该字段，请删除或核对字段名",
        "new_section_2025": "未知字段 new_section_2025：接口约定中没有该字段，请删除或核对字段名",
    }


def test_unknown_fields_are_reported_with_the_other_errors(declaration):
    payload = _misnamed_teacher_fields(declaration)
    payload["applicant"]["gender"] = "M"
    assert set(errors_of(payload)) == {
        "applicant.gender",
        "teacher_info.staffing",
        "teacher_info.teaching_since",
        "teacher_info.teaching_stage",
    }


def test_a_province_may_have_unknown_fields_ignored(declaration, monkeypatch):
    payload = _misnamed_teacher_fields(declaration)
    payload["teacher_info"]["school_stage"] = "初中"
    model = validate_payload(Declaration, payload, Limits(unknown_fields="ignore"))
    assert model.teacher_info.school_stage == "初中" and model.teacher_info.staffing_category is None
    monkeypatch.setenv("ZC_CONTRACT_UNKNOWN_FIELDS", "ignore")
    assert Settings().limits.unknown_fields == "ignore"
    # Ignoring unknown fields never hides a bad known one.
    payload["applicant"]["gender"] = "M"
    assert errors_of(payload, Limits(unknown_fields="ignore")) == {"applicant.gender": "应为以下之一：男、女"}


def test_the_contract_examples_have_no_unknown_field():
    for name, model in (
        ("declaration.json", Declaration),
        ("certificate-request.json", CertificateRequest),
        ("publicity-pre-review.json", PreReviewPublicity),
        ("publicity-result.json", ResultPublicity),
    ):
        validate_payload(model, load_contract(name), Limits())


def test_every_bad_field_is_named_by_its_json_path_in_chinese(declaration):
    declaration["applicant"]["birth_date"] = "1989/05/26"
    declaration["applicant"]["gender"] = "M"
    declaration["papers"][0]["published"] = "2022年3月"
    declaration["education"][0]["end"] = "2006-07"
    declaration["applicant"]["id_number"] = "4201061989"
    declaration["plan"]["year"] = "二〇二四"
    declaration["annual_reviews"][2] = {"year": 2021}
    declaration["application"]["route"] = "特殊"
    declaration["patents"][0]["is_main"] = "也许"
    del declaration["plan"]["committee"]["name"]
    found = errors_of(declaration)
    assert found == {
        "applicant.birth_date": "日期格式应为 YYYY-MM-DD",
        "applicant.gender": "应为以下之一：男、女",
        "papers[0].published": "年月格式应为 YYYY-MM",
        "education[0].end": "结束时间不能早于开始时间",
        "applicant.id_number": "居民身份证号码应为 18 位数字（末位可为 X）",
        "plan.year": "应为整数",
        "annual_reviews[2].result": "缺少必填项",
        "application.route": "可用值：正常、破格、转评",
        "patents[0].is_main": "应为 true 或 false",
        "plan.committee.name": "缺少必填项",
    }


def test_impossible_dates_are_refused(declaration):
    declaration["applicant"]["birth_date"] = "1989-02-30"
    declaration["work_history"][0]["start"] = "2011-13"
    assert errors_of(declaration) == {
        "applicant.birth_date": "日期不存在，请检查年月日",
        "work_history[0].start": "日期不存在，请检查年月",
    }


def test_committee_votes_must_add_up(declaration):
    declaration["opinions"]["committee"] = {"expected": 25, "present": 21, "agree": 20, "disagree": 2, "abstain": 1}
    assert errors_of(declaration) == {"opinions.committee": "同意、不同意、弃权票数之和不能超过实到人数"}


def test_wrong_types_for_sections(declaration):
    declaration["papers"] = {"title": "x"}
    declaration["applicant"] = "张三"
    found = errors_of(declaration)
    assert found == {"papers": "应为列表", "applicant": "应为对象"}


# --- limits -------------------------------------------------------------------


def test_text_limit_is_enforced_and_configurable(declaration):
    declaration["work_summary"] = "字" * 20_001
    assert errors_of(declaration) == {"work_summary": "文字过长：最多 20000 个字符，当前 20001 个，请精简后再提交"}
    declaration["work_summary"] = "字" * 20_000
    validate_payload(Declaration, declaration, Limits())
    declaration["work_summary"] = "字" * 101
    assert "work_summary" in errors_of(declaration, Limits(max_text_chars=100))


def test_row_limit_is_enforced_before_rows_are_validated(declaration):
    declaration["papers"] = [{"broken": True}] * 501
    # One error for the list, not 501 for its rows: the rows were never looked at.
    assert errors_of(declaration) == {"papers": "条目过多：最多 500 条，当前 501 条"}
    declaration["papers"] = variants.papers(500)
    validate_payload(Declaration, declaration, Limits())


def _photo_payload(declaration, image: Image.Image, fmt="JPEG") -> dict:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    declaration["applicant"]["photo"] = {
        "media_type": "image/png" if fmt == "PNG" else "image/jpeg",
        "data_base64": base64.b64encode(buffer.getvalue()).decode(),
    }
    return declaration


def test_photo_over_the_pixel_limit_is_refused(declaration):
    payload = _photo_payload(declaration, Image.new("L", (4001, 10)), "PNG")
    assert errors_of(payload) == {"applicant.photo.data_base64": "照片尺寸过大：长宽均不能超过 4000 像素，当前 4001×10"}


def test_photo_over_the_byte_limit_is_refused(declaration):
    # Random pixels do not compress: about 5.9 MB of PNG.
    noise = Image.frombytes("RGB", (1400, 1400), random.Random(7).randbytes(1400 * 1400 * 3))
    payload = _photo_payload(declaration, noise, "PNG")
    found = errors_of(payload, Limits(max_photo_bytes=1024 * 1024))
    assert found["applicant.photo.data_base64"].startswith("照片文件过大：最多 1 MB")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not an image", "照片文件无法识别：不是 JPEG 或 PNG 图片"),
        (b"GIF89a" + bytes(100), "照片文件无法识别：不是 JPEG 或 PNG 图片"),
    ],
)
def test_photo_that_is_not_an_image_is_refused(declaration, data, message):
    declaration["applicant"]["photo"]["data_base64"] = base64.b64encode(data).decode()
    assert errors_of(declaration) == {"applicant.photo.data_base64": message}


def test_truncated_photo_is_refused(declaration):
    whole = base64.b64decode(declaration["applicant"]["photo"]["data_base64"])
    declaration["applicant"]["photo"]["data_base64"] = base64.b64encode(whole[: len(whole) // 2]).decode()
    message = errors_of(declaration)["applicant.photo.data_base64"]
    assert message.startswith("照片文件已损坏或不完整")


def test_photo_that_is_not_base64_is_refused(declaration):
    declaration["applicant"]["photo"]["data_base64"] = "这不是base64"
    assert errors_of(declaration) == {"applicant.photo.data_base64": "照片不是合法的 Base64 编码"}


def test_body_that_is_not_json_is_reported_with_its_position():
    with pytest.raises(InvalidInput) as caught:
        parse_payload(Declaration, b'{"declaration_id": "x",\n  oops}', Limits())
    assert caught.value.errors[0].message == "请求体不是合法的 JSON：第 2 行第 3 列附近有误"


# --- over HTTP ----------------------------------------------------------------


def test_api_returns_422_with_every_field(client, keys, declaration):
    declaration["applicant"]["birth_date"] = "26/05/1989"
    declaration["papers"][0]["title"] = None
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input"
    assert {(e["path"], e["message"]) for e in body["errors"]} == {
        ("applicant.birth_date", "日期格式应为 YYYY-MM-DD"),
        ("papers[0].title", "应为文字"),
    }


def test_api_refuses_a_body_over_the_limit_with_413(client, keys, declaration):
    declaration["work_summary"] = "x" * (10 * 1024 * 1024)
    response = client.post("/api/v1/forms/review-form", content=json.dumps(declaration), headers=auth(keys["platform"]))
    assert response.status_code == 413
    assert response.json()["message"] == "请求体过大：最多 10 MB"


def test_api_refuses_a_streamed_body_over_the_limit_without_content_length(client, keys):
    def chunks():
        for _ in range(11):
            yield b" " * (1024 * 1024)

    response = client.post("/api/v1/forms/review-form", content=chunks(), headers=auth(keys["platform"]))
    assert response.status_code == 413


def test_api_refuses_non_utf8_body(client, keys, declaration):
    body = json.dumps(declaration, ensure_ascii=False).encode("gbk", errors="ignore")
    response = client.post("/api/v1/forms/review-form", content=body, headers=auth(keys["platform"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "请求体应为 UTF-8 编码的 JSON"


def test_contract_model_is_immutable(declaration):
    model = validate_payload(Declaration, copy.deepcopy(declaration), Limits())
    with pytest.raises(ValidationError, match="frozen"):
        model.applicant.name = "李四"


def test_api_names_an_unknown_field_and_the_schema_forbids_them(client, keys, declaration):
    payload = _misnamed_teacher_fields(declaration)
    response = client.post("/api/v1/forms/review-form", json=payload, headers=auth(keys["platform"]))
    assert response.status_code == 422
    assert {
        "path": "teacher_info.staffing",
        "message": "未知字段 teacher_info.staffing，是否应为 staffing_category？",
        "type": "unknown_field",
    } in response.json()["errors"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["TeacherInfo"]["additionalProperties"] is False
    assert schemas["CertificateRequest"]["additionalProperties"] is False


def test_the_schema_allows_extra_fields_where_they_are_ignored(tmp_path):
    from service.app import create_app

    # The schema is built without starting the app.
    settings = Settings(data_dir=tmp_path / "data", limits=Limits(unknown_fields="ignore"))
    schemas = create_app(settings).openapi()["components"]["schemas"]
    assert "additionalProperties" not in schemas["TeacherInfo"]


def test_a_photo_that_fails_to_decode_says_so_in_words(declaration):
    """A PNG whose data is damaged (its header's checksum broken) is refused in words a clerk
    can pass on, never with the decoder's exception class (「（OSError）」)."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, "PNG")
    png = buffer.getvalue()
    damaged = png[:60] + b"\xff\xff" + png[62:]
    declaration["applicant"]["photo"] = {"media_type": "image/png", "data_base64": base64.b64encode(damaged).decode()}
    message = errors_of(declaration)["applicant.photo.data_base64"]
    assert message == "照片文件已损坏或不完整，请重新上传（图像数据无法完整解码）"
    assert not re.search(r"[A-Za-z]+Error", message)

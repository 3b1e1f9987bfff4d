"""The hostile-input corpus, payloads: each case sent over HTTP with the answer it must get.

Photos that are not what they claim, characters that hide or reorder text, impossible
dates, numbers out of range, bodies that break JSON parsers. Every refusal is a 4xx with
the field's path and a Chinese message (``assert_clear_refusal``); forms are validated
inside the worker processes, so a case that killed one would answer 500 ``worker_failed``.
"""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests import hostile
from tests.conftest import auth, load_contract, make_key


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hostile") / "data",
        seal_level="B-T",
        verify_rate_per_minute=6000,
        verify_burst=1000,
    )
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
        yield client, keys


def certificate_request(**photo) -> dict:
    body = load_contract("certificate-request.json")
    body["holder"]["photo"].update(photo)
    return body


def post_certificate(env, body, declaration_id: str):
    client, keys = env
    if isinstance(body, dict):
        body = {**body, "declaration_id": declaration_id}
        body = json.dumps(body, ensure_ascii=False).encode()
    return client.post(
        "/api/v1/certificates", content=body, headers={**auth(keys["platform"]), "Content-Type": "application/json"}
    )


# --- photos ---------------------------------------------------------------------

PHOTO = "holder.photo.data_base64"
PHOTO_CASES = {
    # name: (photo fields, expected message fragment)
    "a PDF": ({"data_base64": hostile.b64(hostile.PDF)}, "无法识别"),
    "an SVG that names a file": ({"data_base64": hostile.b64(hostile.SVG)}, "无法识别"),
    "a GIF": ({"data_base64": hostile.b64(hostile.gif())}, "JPEG 或 PNG"),
    "a decompression bomb": ({"data_base64": hostile.b64(hostile.png_bomb()), "media_type": "image/png"}, "照片"),
    "a truncated JPEG with FF D9 appended": (
        {"data_base64": hostile.b64(hostile.truncated_jpeg_with_end_marker())},
        "已损坏或不完整",
    ),
    "a 4000×4000 PNG without pixel data": (
        {"data_base64": hostile.b64(hostile.png_without_pixels()), "media_type": "image/png"},
        "已损坏或不完整",
    ),
    "a JPEG declared image/png": (
        {"data_base64": hostile.b64(hostile.encoded(hostile.noise_image(), "JPEG")), "media_type": "image/png"},
        "照片类型与声明不符",
    ),
    "a PNG declared image/jpeg": (
        {"data_base64": hostile.b64(hostile.encoded(hostile.noise_image(), "PNG")), "media_type": "image/jpeg"},
        "照片类型与声明不符",
    ),
}


@pytest.mark.parametrize("case", list(PHOTO_CASES))
def test_photos_that_are_not_what_they_claim_are_refused(env, case):
    photo, fragment = PHOTO_CASES[case]
    response = post_certificate(env, certificate_request(**photo), f"HOSTILE-PHOTO-{case}")
    hostile.assert_clear_refusal(response, 422, PHOTO, fragment)


@pytest.mark.parametrize(
    "photo",
    [hostile.jpeg_with_big_exif(), hostile.jpeg_with_looping_exif()],
    ids=["60 KB EXIF block", "EXIF IFD pointing to itself"],
)
def test_photos_with_odd_exif_are_issued(env, photo):
    response = post_certificate(env, certificate_request(data_base64=hostile.b64(photo)), f"HOSTILE-EXIF-{len(photo)}")
    assert response.status_code == 201, response.text


# --- characters -------------------------------------------------------------------

INVISIBLE = {
    "right-to-left override": "\u202e张三\u202c",
    "C1 control": "张\u0085三",
    "U+FFFF": "张三\uffff",
    "zero-width space": "张\u200b三",
    "BOM inside": "张\ufeff三",
    "line break": "张\n三",
    "variation selector": "张\ufe00三",
}


@pytest.mark.parametrize("case", list(INVISIBLE))
@pytest.mark.parametrize(
    "path",
    ["holder.name", "holder.id_number", "committee.organizer", "qualification.approval_doc_no", "declaration_id"],
)
def test_names_numbers_and_codes_refuse_invisible_characters(env, case, path):
    body = certificate_request()
    section, _, field = path.rpartition(".")
    target = body[section] if section else body
    if field == "id_number":
        body["holder"]["id_type"] = "护照"
    target[field] = INVISIBLE[case]
    raw = json.dumps(body, ensure_ascii=True).encode()  # U+FFFF and controls as \u escapes
    response = post_certificate(env, raw, "x")
    hostile.assert_clear_refusal(response, 422, path, "U+")


def test_a_name_with_a_direction_override_is_never_issued_and_lookups_refuse_it(env):
    client, _ = env
    response = post_certificate(
        env,
        {**certificate_request(), "holder": {**certificate_request()["holder"], "name": "\u202e张三\u202c"}},
        "HOSTILE-RLO",
    )
    hostile.assert_clear_refusal(response, 422, "holder.name", "U+202E（从右向左强制）")
    lookup = client.post("/api/v1/verify/lookup", json={"number": "942024420001000001", "name": "\u202e张三\u202c"})
    hostile.assert_clear_refusal(lookup, 422, "name", "U+202E")


def test_names_are_nfc_normalised(env):
    client, keys = env
    body = certificate_request()
    body["holder"]["name"] = "Ame\u0301lie 张"  # e + combining acute: é once composed
    issued = post_certificate(env, body, "HOSTILE-NFC")
    assert issued.status_code == 201, issued.text
    assert issued.json()["holder"]["name"] == "Am\u00e9lie 张"
    found = client.post("/api/v1/verify/lookup", json={"number": issued.json()["number"], "name": "Ame\u0301lie 张"})
    assert found.json()["found"] is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("\u202e倒序的总结\u202c", "U+202E"),
        ("总结\x07响铃", "U+0007"),
        ("总结\u009b控制", "U+009B"),
        ("总结\ufdd0非字符", "U+FDD0"),
    ],
)
def test_free_text_refuses_what_cannot_be_printed_faithfully(env, declaration, text, fragment):
    client, keys = env
    declaration["work_summary"] = text
    raw = json.dumps(declaration, ensure_ascii=True).encode()
    response = client.post(
        "/api/v1/forms/review-form", content=raw, headers={**auth(keys["platform"]), "Content-Type": "application/json"}
    )
    hostile.assert_clear_refusal(response, 422, "work_summary", fragment)


# --- dates and numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "status", "fragment"),
    [
        ("issue_date", "2024-02-30", 422, "日期不存在"),
        ("holder.birth_date", "1989-13-01", 422, "日期不存在"),
        ("qualification.acquired_on", "24-12-20", 422, "YYYY-MM-DD"),
        ("issue_date", 20241230, 422, "YYYY-MM-DD"),
        ("holder.name", 12345, 422, "应为文字"),
        ("holder.name", "张" * 51, 422, "50"),
        ("holder.name", "W" * 20000, 422, "50"),
    ],
)
def test_impossible_dates_and_values_out_of_range_on_a_certificate(env, path, value, status, fragment):
    body = certificate_request()
    section, _, field = path.rpartition(".")
    (body[section] if section else body)[field] = value
    response = post_certificate(env, body, "HOSTILE-RANGE")
    hostile.assert_clear_refusal(response, status, path, fragment)


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("plan.year", 99999, "不能大于 2100"),
        ("plan.year", -1, "不能小于 1980"),
        ("plan.year", 1.5, "整数"),
        ("plan.year", "二〇二四", "整数"),
        ("applicant.birth_date", "2024-02-30", "日期不存在"),
    ],
)
def test_impossible_dates_and_numbers_out_of_range_on_a_form(env, declaration, path, value, fragment):
    client, keys = env
    section, field = path.split(".")
    declaration[section][field] = value
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    hostile.assert_clear_refusal(response, 422, path, fragment)


# --- bodies that break parsers ---------------------------------------------------


def _with_raw(field_json: bytes) -> bytes:
    """The certificate request with its holder's name replaced by raw JSON text."""
    body = certificate_request()
    body["holder"]["name"] = "@@NAME@@"
    return json.dumps(body, ensure_ascii=False).encode().replace(b'"@@NAME@@"', field_json)


BODIES = {
    # name: (body, status, path, fragment)
    "nested 10,000 deep": (hostile.nested(10_000), 422, "(body)", "嵌套层数过多"),
    "nested 1,000 deep inside one field": (_with_raw(hostile.nested(1_000)), 422, "(body)", "嵌套层数过多"),
    "an integer of 5,000 digits": (_with_raw(b"9" * 5000), 422, "holder.name", "整数位数过多"),
    "NaN": (_with_raw(b"NaN"), 422, "holder.name", "NaN"),
    "Infinity": (_with_raw(b"-Infinity"), 422, "holder.name", "Infinity"),
    "1e999": (_with_raw(b"1e999"), 422, "holder.name", "超出范围"),
    "a lone surrogate": (_with_raw(b'"\\ud800\\u5f20"'), 422, "holder.name", "代理码元"),
    "a lone surrogate in a key": (b'{"\\udc00": 1}', 422, "(body)", "代理码元"),
    "duplicate keys": (b'{"declaration_id": "A", "declaration_id": "B"}', 422, "declaration_id", "不止一次"),
    "not UTF-8": ("{}".encode("utf-16"), 422, "(body)", "UTF-8"),
    "not JSON": (b"{'holder': 1}", 422, "(body)", "不是合法的 JSON"),
    "empty": (b"", 422, "(body)", None),  # 不是合法的 JSON, or 缺少必填项 where FastAPI reads it
}


@pytest.mark.parametrize("case", list(BODIES))
def test_bodies_that_break_parsers_get_a_clear_422_on_every_route(env, case):
    client, keys = env
    body, status, path, fragment = BODIES[case]
    headers = {"Content-Type": "application/json"}
    platform, staff = {**headers, **auth(keys["platform"])}, {**headers, **auth(keys["staff"])}
    # Issuance parses in a thread, forms in a worker process, lookups, reissues and
    # revocations where FastAPI reads a pydantic body; batches on the event loop.
    for url, who in (
        ("/api/v1/certificates", platform),
        ("/api/v1/forms/review-form", platform),
        ("/api/v1/verify/lookup", headers),
        ("/api/v1/certificates/942024420001000001/reissue", staff),
        ("/api/v1/certificates/942024420001000001/revoke", staff),
        ("/api/v1/batches", staff),
    ):
        response = client.post(url, content=body, headers=who)
        expected_path = path if url == "/api/v1/certificates" or path == "(body)" else None
        hostile.assert_clear_refusal(response, status, expected_path, fragment)


def test_deep_nesting_inside_the_reissue_corrections_is_refused(env):
    client, keys = env
    body = b'{"reason": "\xe6\x9b\xb4\xe6\xad\xa3", "corrections": {"holder": ' + hostile.nested(2_000, b"{}") + b"}}"
    response = client.post(
        "/api/v1/certificates/942024420001000001/reissue",
        content=body,
        headers={**auth(keys["staff"]), "Content-Type": "application/json"},
    )
    hostile.assert_clear_refusal(response, 422, "(body)", "嵌套层数过多")


def test_a_json_lines_batch_line_is_read_as_strictly(env):
    client, keys = env
    lines = json.dumps(certificate_request(), ensure_ascii=False).encode() + b"\n" + b'{"a": NaN}\n'
    response = client.post(
        "/api/v1/batches", content=lines, headers={**auth(keys["platform"]), "Content-Type": "application/x-ndjson"}
    )
    hostile.assert_clear_refusal(response, 422, "line 2.a", "NaN")


def test_huge_arrays_are_refused_before_their_rows_are_read(env, declaration):
    client, keys = env
    declaration["papers"] = [{"title": "x"}] * 100_000
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    hostile.assert_clear_refusal(response, 422, "papers", "条目过多")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/forms/review-form",
        "/api/v1/certificates",
        "/api/v1/verify/lookup",
        "/api/v1/verify/upload",
        "/api/v1/batches",
    ],
)
def test_a_gzip_bomb_is_refused_unopened(env, url):
    client, keys = env
    response = client.post(
        url,
        content=hostile.gzip_bomb(),
        headers={**auth(keys["platform"]), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    hostile.assert_clear_refusal(response, 415, "header.content-encoding", "不接受压缩的请求体")


def test_a_body_over_the_limit_on_a_pydantic_route_is_413_in_chinese(env):
    client, _ = env
    response = client.post(
        "/api/v1/verify/lookup",
        content=b'{"number": "' + b"1" * (11 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    hostile.assert_clear_refusal(response, 413, "(body)", "请求体过大")


def test_a_pydantic_route_names_its_fields_without_the_body_prefix(env):
    client, keys = env
    response = client.post(
        "/api/v1/certificates/942024420001000001/revoke", json={"reason": 1}, headers=auth(keys["staff"])
    )
    hostile.assert_clear_refusal(response, 422, "reason", "应为文字")


# --- markup and long runs in every text field -------------------------------------

MARKUP = [
    "<script>alert(1)</script>",
    "</td><style>*{display:none}</style>",
    "{{ 7*7 }}{% raw %}",
    "url(file:///etc/passwd)",
    "<img src=//169.254.169.254/x>",
    "&amp;&lt;&#x5f20;",
    "${jndi:ldap://x}",
]
CERTIFICATE_TEXT_FIELDS = {
    ("holder", "name"): 50,
    ("holder", "id_number"): 30,  # id_type is not printed
    ("holder", "work_unit"): 60,
    ("qualification", "series"): 30,
    ("qualification", "specialty"): 30,
    ("qualification", "title"): 30,
    ("qualification", "nature"): 20,
    ("qualification", "approval_doc_no"): 40,
}


def test_markup_and_template_syntax_in_every_certificate_field_print_as_text(env):
    from tests.pdftext import image_count, pdf_text

    client, keys = env
    body = certificate_request()
    body["holder"]["id_type"] = "护照"  # any shape of number, then
    values = {}
    for index, ((section, field), limit) in enumerate(CERTIFICATE_TEXT_FIELDS.items()):
        value = (MARKUP[index % len(MARKUP)] + str(index))[-limit:]
        body[section][field] = values[(section, field)] = value
    response = post_certificate(env, body, "HOSTILE-MARKUP")
    assert response.status_code == 201, response.text
    pdf = client.get(response.json()["pdf_url"], headers=auth(keys["platform"])).content
    text = "".join(pdf_text(pdf).split())
    for (_section, field), value in values.items():
        assert "".join(value.split()) in text, (field, value)
    assert "49" not in text  # {{ 7*7 }} was not evaluated
    assert image_count(pdf, 1) <= 3  # the photo, the QR code, no image from the input


def test_a_20000_character_run_without_a_break_renders(env, declaration):
    client, keys = env
    declaration["work_summary"] = "W" * 20_000
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 200, response.text[:300]


def test_the_worker_pool_survived_the_corpus(env, declaration):
    client, keys = env
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 200
    assert copy.deepcopy(declaration) == declaration


def test_an_organisation_code_of_odd_characters_is_named_in_chinese(env):
    client, keys = env
    response = client.post(
        "/api/v1/organisations",
        json={"code": "è\U00042956", "name": "某单位", "role": "issuer", "no_key": True},
        headers=auth(keys["admin"]),
    )
    hostile.assert_clear_refusal(response, 422, "code", "机构代码")
    assert "organisation" not in response.text


def _string_leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))
    elif isinstance(value, str) and path[-1] not in ("data_base64", "media_type"):
        yield path


def test_markup_in_every_text_field_of_a_declaration_prints_verbatim_or_not_at_all(env, declaration):
    """Each text field the contract takes as free text gets markup around a tag of its own;
    the review form prints each tag with its markup exactly as sent, or not at all (a field
    the form does not show): never half of it, never interpreted."""
    from service.config import Limits
    from service.contract.declaration import Declaration
    from service.contract.parse import validate_payload
    from service.errors import InvalidInput
    from tests.pdftext import pdf_text

    client, keys = env
    sent = {}
    for index, path in enumerate(_string_leaves(declaration)):
        trial = copy.deepcopy(declaration)
        target = trial
        for key in path[:-1]:
            target = target[key]
        value = f"<i>K{index}Q</i>{{{{7*7}}}}"
        target[path[-1]] = value
        try:
            validate_payload(Declaration, trial, Limits())
        except InvalidInput:
            continue  # a date, a choice, an ID number: not free text
        declaration = trial
        sent[f"K{index}Q"] = value
    assert len(sent) > 40
    response = client.post("/api/v1/forms/review-form", json=declaration, headers=auth(keys["platform"]))
    assert response.status_code == 200, response.text[:500]
    text = "".join(pdf_text(response.content).split())
    printed = [tag for tag in sent if tag in text]
    assert len(printed) > 30
    for tag in printed:
        assert text.count(sent[tag]) == text.count(tag), tag  # every occurrence with its markup around it


def test_a_version_number_too_large_for_the_database_is_a_422(env):
    # Found by the fuzzer: SQLite cannot hold it, and the query answered 500.
    client, keys = env
    response = client.get(
        "/api/v1/certificates/942024420001000001/pdf",
        params={"version": "18470881280625582052212736"},
        headers=auth(keys["platform"]),
    )
    hostile.assert_clear_refusal(response, 422, "query.version", "不能大于")

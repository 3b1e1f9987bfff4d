"""证书查验 over HTTP: the QR page, lookup, upload, their JSON twins; privacy and safety."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from service import FONTS_DIR
from service.app import create_app
from service.config import Settings
from tests.conftest import auth, load_contract, make_key
from tests.pdfbuild import handmade_pdf
from tests.pdftext import image_count, pdf_text

FULL_ID = "420106198905261525"


class _AnyTime(str):
    def __eq__(self, other) -> bool:
        return isinstance(other, str) and len(other) >= 19 and other[4] == "-" and "T" in other

    __hash__ = str.__hash__


ANY_TIME = _AnyTime("<time>")
MASKED_ID = "420106********1525"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("verify") / "data",
        seal_level="B-T",
        verify_rate_per_minute=600,
        verify_burst=200,
    )
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff")}
        yield client, keys


def issue(client, keys, declaration_id: str, **changes) -> dict:
    body = load_contract("certificate-request.json")
    body["declaration_id"] = declaration_id
    for path, value in changes.items():
        section, field = path.split("__")
        body[section][field] = value
    response = client.post("/api/v1/certificates", json=body, headers=auth(keys["platform"]))
    assert response.status_code == 201, response.text
    body = response.json()
    body["token"] = body["verification_url"].rsplit("/", 1)[1]
    body["pdf"] = client.get(body["pdf_url"], headers=auth(keys["platform"])).content
    return body


@pytest.fixture(scope="module")
def valid(env):
    return issue(*env, "VERIFY-VALID")


def test_scan_page_shows_status_fields_and_seals(env, valid):
    client, _ = env
    page = client.get(f"/v/{valid['token']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for expected in (
        "有效",
        "张三",
        MASKED_ID,
        "工程技术人员",
        "化工",
        "工程师",
        "中级",
        "2024-12-20",
        "鄂职称〔2024〕15号",
        "湖北省工程技术中级专业技术职务任职资格评审委员会",
        "湖北省人力资源和社会保障厅",
        "2024-12-30",
        valid["number"],
        "评委会",
        "发证机关",
        "验证通过",
        f"/v/{valid['token']}/file",
    ):
        assert expected in html, expected
    assert FULL_ID not in html and "13800000000" not in html and "data:image" not in html


def test_scan_page_security_and_cache_headers(env, valid):
    client, _ = env
    page = client.get(f"/v/{valid['token']}")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "'unsafe-inline'" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"].startswith("public")
    again = client.get(f"/v/{valid['token']}", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert "<script" not in page.text and "http://" not in page.text.replace(client.base_url.host, "")
    css = client.get("/static/verify.css")
    assert css.status_code == 200 and "url(" not in css.text and "@import" not in css.text
    assert css.headers["content-type"].startswith("text/css") and css.headers["cache-control"].startswith("public")
    assert client.get("/static/verify.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304
    assert client.get("/static/nothing.css").status_code == 404
    explorer_asset = client.get("/docs/assets/swagger-ui.css")
    assert explorer_asset.status_code == 200 and explorer_asset.headers["etag"] != css.headers["etag"]
    assert (
        client.get("/docs/assets/swagger-ui.css", headers={"If-None-Match": explorer_asset.headers["etag"]}).status_code
        == 304
    )


def test_unknown_or_forged_token_is_404(env, valid):
    client, _ = env
    for token in (
        "AAAAAAAAAAAAAAAAAAAAAA",
        valid["token"][:-1] + ("A" if valid["token"][-1] != "A" else "B"),
        "%3Cscript%3E",
        "x" * 41,
    ):
        page = client.get(f"/v/{token}")
        assert page.status_code == 404
        assert "未查到该证书" in page.text and "<script>" not in page.text
    assert client.get("/api/v1/verify/token/AAAAAAAAAAAAAAAAAAAAAA").json()["found"] is False


def test_json_api_says_the_same_as_the_page(env, valid):
    client, _ = env
    facts = client.get(f"/api/v1/verify/token/{valid['token']}").json()
    assert facts["found"] and facts["status"] == "valid" and facts["status_text"] == "有效"
    assert facts["holder"] == {"name": "张三", "id_number_masked": MASKED_ID, "gender": "女"}
    assert facts["qualification"]["approval_doc_no"] == "鄂职称〔2024〕15号"
    assert [s["valid"] for s in facts["seals"]["seals"]] == [True, True]
    assert FULL_ID not in str(facts)


def test_revoked_and_superseded(env):
    client, keys = env
    staff = auth(keys["staff"])
    revoked = issue(client, keys, "VERIFY-REVOKED")
    internal = "业绩证明系伪造，见纪检函〔2024〕3号，联系人王某 13800000000"
    client.post(
        f"/api/v1/certificates/{revoked['number']}/revoke",
        headers=staff,
        json={"category": "materials_falsified", "reason": internal},
    )
    page = client.get(f"/v/{revoked['token']}").text
    assert "已撤销" in page and "申报材料弄虚作假" in page and datetime.now(UTC).date().isoformat() in page
    # the public sees the category; staff's own words stay internal
    assert internal not in page and internal not in client.get(f"/api/v1/verify/token/{revoked['token']}").text
    assert client.get(f"/api/v1/certificates/{revoked['number']}", headers=auth(keys["platform"])).json()[
        "revoked"
    ] == {"at": ANY_TIME, "category": "materials_falsified", "reason": internal}
    assert (
        client.post(
            f"/api/v1/certificates/{revoked['number']}/revoke",
            headers=staff,
            json={"category": "because", "reason": "x" * 5},
        ).status_code
        == 422
    )

    old = issue(client, keys, "VERIFY-OLD")
    new = client.post(
        f"/api/v1/certificates/{old['number']}/reissue",
        headers=staff,
        json={"reason": "补证", "corrections": {"qualification": {"specialty": "化工工艺"}}},
    ).json()
    new_token = new["verification_url"].rsplit("/", 1)[1]
    page = client.get(f"/v/{old['token']}").text
    assert "已换发" in page and f'href="/v/{new_token}"' in page
    facts = client.get(f"/api/v1/verify/token/{old['token']}").json()
    assert facts["superseded_by"]["version"] == 2 and facts["superseded_by"]["status"] == "valid"
    assert client.get(f"/api/v1/verify/token/{new_token}").json()["qualification"]["specialty"] == "化工工艺"


def test_public_file_withholds_the_photo_and_the_full_id(env, valid):
    client, _ = env
    response = client.get(f"/v/{valid['token']}/file")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert MASKED_ID in text and FULL_ID not in text and "照片不公开" in text and "公开副本" in text
    assert image_count(response.content, 1) == 1  # the QR code; no photo
    assert image_count(valid["pdf"], 1) == 2
    assert "content-security-policy" not in response.headers  # a PDF viewer must not be blocked


# --- lookup ---------------------------------------------------------------------


def test_lookup_needs_number_and_name_and_a_miss_looks_like_a_wrong_name(env, valid):
    client, _ = env
    hit = client.post("/api/v1/verify/lookup", json={"number": valid["number"], "name": "张三"}).json()
    assert hit["found"] and hit["number"] == valid["number"]
    timings, bodies = [], []
    for number, name in ((valid["number"], "李四"), ("9429999999999999999", "张三")):
        start = time.perf_counter()
        response = client.post("/api/v1/verify/lookup", json={"number": number, "name": name})
        timings.append(time.perf_counter() - start)
        bodies.append((response.status_code, response.content, response.headers["content-type"]))
    assert bodies[0] == bodies[1]
    assert all(t >= 0.05 for t in timings)  # both wait out the same floor


def test_lookup_page(env, valid):
    client, _ = env
    form = client.get("/verify")
    assert form.status_code == 200 and 'name="number"' in form.text and 'enctype="multipart/form-data"' in form.text
    found = client.post("/verify", data={"number": valid["number"], "name": "张三"})
    assert "有效" in found.text and MASKED_ID in found.text and FULL_ID not in found.text
    miss = client.post("/verify", data={"number": valid["number"], "name": "王五"})
    wrong = client.post("/verify", data={"number": "123", "name": "张三"})
    assert "未查到匹配的证书" in miss.text and miss.text == wrong.text
    assert "no-store" in miss.headers["cache-control"]


def test_lookups_are_rate_limited_per_client(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", verify_rate_per_minute=6, verify_burst=3)
    with TestClient(create_app(settings)) as client:
        answers = [client.post("/api/v1/verify/lookup", json={"number": "1", "name": "张三"}) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1
        page = client.post("/verify", data={"number": "1", "name": "张三"})
        assert page.status_code == 429 and "过于频繁" in page.text and "retry-after" in page.headers


# --- upload ---------------------------------------------------------------------


def upload(client, data: bytes, name="certificate.pdf"):
    return client.post("/api/v1/verify/upload", files={"file": (name, data, "application/pdf")})


def alter_photo_bytes(pdf: bytes) -> bytes:
    """Change one byte inside the photo's JPEG data: inside the signed range, and the file stays readable."""
    start = pdf.find(b"\xff\xd8\xff")
    assert start > 0
    position = start + 400
    changed = bytearray(pdf)
    changed[position] = (changed[position] + 1) % 256
    return bytes(changed)


def append_visible_text(pdf: bytes) -> bytes:
    """An incremental update after sealing that writes new text on the page."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (FORGED) Tj ET")
    ref = writer.add_object(stream)
    contents = page["/Contents"]
    page["/Contents"] = generic.ArrayObject(
        (list(contents) if isinstance(contents, generic.ArrayObject) else [contents]) + [ref]
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_upload_genuine_current(env, valid):
    client, _ = env
    body = upload(client, valid["pdf"]).json()
    assert body["verdict"] == "genuine_current" and "真实有效" in body["message"]
    assert body["certificate"]["number"] == valid["number"] and body["document_valid"] is True


def test_upload_altered_files(env, valid):
    client, _ = env
    for altered in (alter_photo_bytes(valid["pdf"]), append_visible_text(valid["pdf"])):
        body = upload(client, altered).json()
        assert body["verdict"] == "altered", body
        assert body["certificate"]["number"] == valid["number"]  # named inside the file


def test_upload_revoked_superseded_foreign_and_unsealed(env, tmp_path):
    from service.signing.devpki import generate_dev_pki

    client, keys = env
    staff = auth(keys["staff"])
    revoked = issue(client, keys, "VERIFY-UP-REVOKED")
    client.post(f"/api/v1/certificates/{revoked['number']}/revoke", json={"reason": "撤销"}, headers=staff)
    assert upload(client, revoked["pdf"]).json()["verdict"] == "genuine_revoked"
    old = issue(client, keys, "VERIFY-UP-OLD")
    client.post(f"/api/v1/certificates/{old['number']}/reissue", json={"reason": "换发"}, headers=staff)
    assert upload(client, old["pdf"]).json()["verdict"] == "genuine_superseded"

    # Sealed by a key of another PKI: not trusted here.
    foreign = _seal_with_foreign_pki(client.app.state.services, generate_dev_pki)
    assert upload(client, foreign).json()["verdict"] == "not_issued_here"

    form = client.post(
        "/api/v1/forms/integrity-pledge", json=load_contract("declaration.json"), headers=auth(keys["platform"])
    ).content
    assert upload(client, form).json()["verdict"] == "not_issued_here"


def _seal_with_foreign_pki(services, generate_dev_pki) -> bytes:
    """A certificate-shaped PDF sealed by the keys of another PKI, with our seal layout."""
    from service.documents.certificate_layout import SEAL_AREAS
    from service.documents.seal_image import default_seal_font, render_round_seal
    from service.signing.appearance import build_seal_style
    from service.signing.keys import signer_from_pem_bytes
    from service.signing.seal import SealField, SealRequest, add_seal_fields, seal_certificate
    from service.signing.tsa import build_dev_timestamper

    pki = generate_dev_pki([("X1", "他省评委会", "committee"), ("X2", "他省人社厅", "issuer")], datetime.now(UTC))
    chain = pki.seal_ca.cert_pem + pki.root.cert_pem
    timestamper = build_dev_timestamper(pki.tsa.cert_pem, pki.tsa.key_pem)
    fields = [SealField(a.name, a.page, a.rect) for a in SEAL_AREAS]
    requests = []
    for code, field, kind in (("X1", fields[0], "certify"), ("X2", fields[1], "approve")):
        pair = pki.seal(code)
        style = build_seal_style(render_round_seal(code, None, default_seal_font()))
        requests.append(
            SealRequest(
                signer=signer_from_pem_bytes(pair.key_pem, pair.cert_pem, chain),
                field_name=field.name,
                kind=kind,
                stamp=style,
                timestamper=timestamper,
                level="B-T",
            )
        )
    pdf = services.renderer.render_pdf("forms/integrity-pledge/form.html", _pledge_context(), _options())
    return seal_certificate(add_seal_fields(pdf, list(fields)), requests[0], requests[1], "B-T")


def _pledge_context():
    from service.contract.declaration import Declaration
    from service.contract.parse import validate_payload
    from service.forms.catalog import all_forms
    from service.forms.spec import RenderContext, document_info

    spec = all_forms()["integrity-pledge"]
    model = validate_payload(Declaration, load_contract("declaration.json"), Settings().limits)
    context = dict(spec.build_context(model, RenderContext(FONTS_DIR)))
    ctx = RenderContext(FONTS_DIR)
    context["doc"] = document_info(spec, spec.document_date(model, ctx), ctx)
    context["blank"] = False
    return context


def _options():
    from datetime import date

    from service.documents.render import PdfOptions
    from service.forms.spec import midnight

    return PdfOptions(date=midnight(date(2024, 1, 1)))


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (b"GIF89a not a pdf", 422, "不是 PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage", 422, "PDF"),
    ],
)
def test_upload_of_a_non_pdf_or_broken_pdf_gets_a_clear_message(env, data, status, fragment):
    client, _ = env
    response = upload(client, data)
    assert response.status_code == status and fragment in response.json()["message"]


def test_upload_size_limit(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    settings = settings.model_copy(update={"limits": settings.limits.model_copy(update={"max_upload_bytes": 1024})})
    with TestClient(create_app(settings)) as client:
        response = upload(client, b"%PDF-1.7\n" + b"0" * 4096)
        assert response.status_code == 413


def test_upload_page(env, valid):
    client, _ = env
    page = client.post("/verify", files={"file": ("c.pdf", valid["pdf"], "application/pdf")})
    assert page.status_code == 200 and "真实有效" in page.text and MASKED_ID in page.text
    altered = client.post("/verify", files={"file": ("c.pdf", alter_photo_bytes(valid["pdf"]), "application/pdf")})
    assert "已被改动" in altered.text
    bad = client.post("/verify", files={"file": ("c.txt", b"hello", "text/plain")})
    assert bad.status_code == 422 and "不是 PDF" in bad.text


def test_every_value_is_escaped(env):
    client, keys = env
    hostile = issue(client, keys, "VERIFY-XSS", holder__name="<script>alert(1)</script>")
    html = client.get(f"/v/{hostile['token']}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _broken_signature_pdf() -> bytes:
    """A PDF that parses but whose signature field's value is a number: pyHanko trips over
    it only when it reads the signatures."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /FT /Sig /T (Committee) /V 42 >>",
    ]
    return handmade_pdf(objects)


def test_a_pdf_that_breaks_while_its_seals_are_read_is_a_422_on_both_endpoints(env):
    client, _ = env
    broken = _broken_signature_pdf()
    response = upload(client, broken)
    assert response.status_code == 422 and "PDF" in response.json()["message"]
    page = client.post("/verify", files={"file": ("c.pdf", broken, "application/pdf")})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "PDF" in page.text


@pytest.mark.parametrize(
    "files, data",
    [
        ({"file": ("c.pdf", b"%PDF-1.7 nothing else", "application/pdf")}, None),
        (None, b"--x\r\nnot a multipart body"),
    ],
)
def test_the_upload_page_answers_html_whatever_goes_wrong(env, files, data):
    client, _ = env
    if files:
        page = client.post("/verify", files=files)
    else:
        page = client.post("/verify", content=data, headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= page.status_code < 500
    assert page.headers["content-type"].startswith("text/html")


def test_the_upload_page_shows_the_uploaded_files_own_seals(env, valid):
    client, _ = env
    altered = client.post("/verify", files={"file": ("c.pdf", alter_photo_bytes(valid["pdf"]), "application/pdf")})
    assert "已被改动" in altered.text
    assert "验证未通过" in altered.text and "验证通过" not in altered.text.replace("验证未通过", "")
    assert '<p class="status-text" id="status">有效</p>' not in altered.text
    genuine = client.post("/verify", files={"file": ("c.pdf", valid["pdf"], "application/pdf")})
    assert genuine.text.count("验证通过") == 2

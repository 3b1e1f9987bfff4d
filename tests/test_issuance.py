"""Certificate issuance, reading, reissue and revocation: on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import copy
import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from service.app import create_app
from service.certificates.issuance import Actor, issue_certificate
from service.contract.certificate import CertificateRequest
from service.contract.parse import validate_payload
from service.profiles.load import default_profile
from service.registry.db import transaction
from service.registry.models import Certificate, CertificateEvent
from service.registry.orgs import add_org
from tests.conftest import auth, load_contract, make_key
from tests.pdftext import pdf_text


@pytest.fixture
def app_env(any_db_settings):
    settings = any_db_settings.model_copy(update={"seal_level": "B-T"})
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff")}
        yield client, settings, keys


@pytest.fixture
def request_body() -> dict:
    return load_contract("certificate-request.json")


def issue(client, keys, body, **headers):
    return client.post("/api/v1/certificates", json=body, headers={**auth(keys["platform"]), **headers})


def decode_qr(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_contract_request_issues_a_sealed_certificate_whose_qr_code_is_its_verification_url(app_env, request_body):
    client, settings, keys = app_env
    response = issue(client, keys, request_body)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "valid" and body["version"] == 1 and body["seal_level"] == "B-T"
    assert body["number"] == "9422024420001000001"  # 9 · 42 · 2024 · 420001 · 000001
    assert body["identifier"].startswith("1.2.156.3005.2.ZCZS.11420000011043123X.9422024420001000001.001.")
    pdf = client.get(body["pdf_url"], headers=auth(keys["platform"])).content
    import hashlib

    assert hashlib.sha256(pdf).hexdigest() == body["pdf_sha256"] and len(pdf) == body["pdf_size"]
    # one code, two uses: the page URL, and after "#" the signed payload an offline verifier reads
    assert decode_qr(pdf) == [body["qr_text"]]
    assert body["qr_text"].startswith(body["verification_url"] + "#ZC1:") and body["offline_payload"].startswith("ZC1:")
    assert body["verification_url"].startswith(settings.public_base_url + "/v/")
    token = body["verification_url"].rsplit("/", 1)[1]
    assert len(base64.urlsafe_b64decode(token + "==")) >= 12  # ≥ 96 bits
    report = client.app.state.services.sealers.validate(pdf)
    assert report.valid and len(report.seals) == 2
    assert {s.kind for s in report.seals} == {"certify", "approve"}


def test_fifty_concurrent_issuances_get_fifty_numbers_rows_and_files(app_env, request_body):
    client, settings, keys = app_env
    services = client.app.state.services
    requests = []
    for i in range(50):
        body = copy.deepcopy(request_body)
        body["declaration_id"] = f"HB-2024-GC-{i:06d}"
        requests.append(validate_payload(CertificateRequest, body, settings.limits))
    actor = Actor("platform", "test")
    with ThreadPoolExecutor(max_workers=8) as pool:
        issued = list(pool.map(lambda r: issue_certificate(services, r, actor=actor), requests))
    numbers = {i.certificate.number for i in issued}
    assert len(numbers) == 50
    assert {int(n[-6:]) for n in numbers} == set(range(1, 51))
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 50
        digests = set(session.scalars(select(Certificate.pdf_sha256)))
    assert len(digests) == 50
    assert all(services.files.exists(d) for d in digests)


def test_retries_return_the_same_certificate(app_env, request_body):
    client, settings, keys = app_env
    first = issue(client, keys, request_body, **{"Idempotency-Key": "req-123"})
    again = issue(client, keys, request_body, **{"Idempotency-Key": "req-123"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    # The same declaration without the header: still the same certificate.
    assert issue(client, keys, request_body).json()["number"] == first.json()["number"]
    with client.app.state.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_read_by_number_pdf_and_holder(app_env, request_body):
    client, settings, keys = app_env
    number = issue(client, keys, request_body).json()["number"]
    read = client.get(f"/api/v1/certificates/{number}", headers=auth(keys["platform"])).json()
    assert read["holder"]["name"] == "张三" and read["versions"][0]["version"] == 1
    mine = client.get(
        "/api/v1/certificates", params={"id_number": "420106198905261525"}, headers=auth(keys["platform"])
    ).json()
    assert [c["number"] for c in mine] == [number]
    assert client.get("/api/v1/certificates/9999", headers=auth(keys["platform"])).status_code == 404
    assert client.get(f"/api/v1/certificates/{number}", headers=auth(keys["staff"])).status_code == 403


def test_reissue_and_revoke_with_an_audit_trail(app_env, request_body):
    client, settings, keys = app_env
    first = issue(client, keys, request_body).json()
    number = first["number"]
    staff = auth(keys["staff"])
    assert client.post(f"/api/v1/certificates/{number}/reissue", json={"reason": "x"}, headers=staff).status_code == 422
    reissued = client.post(
        f"/api/v1/certificates/{number}/reissue",
        headers=staff,
        json={"reason": "姓名录入错误，更正", "corrections": {"holder": {"name": "张叁"}}},
    )
    assert reissued.status_code == 201, reissued.text
    new = reissued.json()
    assert new["number"] == number and new["version"] == 2 and new["holder"]["name"] == "张叁"
    assert new["identifier"].endswith(f"{number}.002.{new['identifier'][-1]}")
    assert new["verification_url"] != first["verification_url"]
    read = client.get(f"/api/v1/certificates/{number}", headers=auth(keys["platform"])).json()
    assert [(v["version"], v["status"]) for v in read["versions"]] == [(1, "superseded"), (2, "valid")]
    with client.app.state.services.sessions() as session:
        old = session.scalars(select(Certificate).where(Certificate.version == 1)).one()
        assert old.superseded_by_id is not None
    bad = client.post(
        f"/api/v1/certificates/{number}/reissue",
        headers=staff,
        json={"reason": "更正", "corrections": {"holder": {"birth_date": "1989/05/26"}}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "corrections.holder.birth_date"

    revoked = client.post(f"/api/v1/certificates/{number}/revoke", json={"reason": "申报材料造假"}, headers=staff)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked"]["reason"] == "申报材料造假"
    assert (
        client.post(f"/api/v1/certificates/{number}/revoke", json={"reason": "再次"}, headers=staff).status_code == 409
    )
    assert (
        client.post(f"/api/v1/certificates/{number}/reissue", json={"reason": "补证"}, headers=staff).status_code == 409
    )
    events = client.get(f"/api/v1/certificates/{number}/events", headers=staff).json()
    assert [(e["version"], e["action"]) for e in events] == [
        (1, "issued"),
        (1, "superseded"),
        (2, "reissued"),
        (2, "revoked"),
    ]
    assert all(e["actor"].startswith(("platform:", "staff:")) for e in events)
    assert events[-1]["reason"] == "申报材料造假"
    # Platforms issue; only staff reissue and revoke.
    assert (
        client.post(
            f"/api/v1/certificates/{number}/revoke", json={"reason": "试试"}, headers=auth(keys["platform"])
        ).status_code
        == 403
    )


def test_organisation_without_a_key_leaves_the_certificate_pending_seal(any_db_settings, request_body):
    from service.registry.db import open_registry

    settings = any_db_settings
    with transaction(open_registry(settings)) as session:
        add_org(session, "340001", "安徽省工程系列高级职称评审委员会", "committee", datetime.now(UTC))
    with TestClient(create_app(settings)) as client:
        keys = {"platform": make_key(settings, "platform")}
        request_body["committee"] = {"code": "340001", "name": "安徽省工程系列高级职称评审委员会"}
        response = issue(client, keys, request_body)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "pending_seal" and body["seal_level"] is None
        assert body["number"].startswith("9342024340001")
        pdf = client.get(body["pdf_url"], headers=auth(keys["platform"])).content
        assert client.app.state.services.sealers.validate(pdf).seals == ()
        # It says so, on the page and in its metadata, and so does its verification page.
        notice = settings.with_profile(default_profile()).unsealed_notice
        assert notice in pdf_text(pdf)
        page = client.get(body["verification_url"].split(settings.public_base_url.rstrip("/"))[1]).text
        assert "待签章" in page and notice in page


def test_unregistered_or_misnamed_organisations_are_refused(app_env, request_body):
    client, settings, keys = app_env
    body = copy.deepcopy(request_body)
    body["committee"]["code"] = "999999"
    response = issue(client, keys, body)
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "committee.code"
    body = copy.deepcopy(request_body)
    body["issuer"]["name"] = "某某人社局"
    response = issue(client, keys, body)
    assert response.json()["errors"] == [
        {
            "path": "issuer.name",
            "type": "org_name",
            "message": "发证机关名称与登记不一致：登记为「湖北省人力资源和社会保障厅」",
        }
    ]
    with client.app.state.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 0
        assert session.scalar(select(func.count()).select_from(CertificateEvent)) == 0


# --- photos ---------------------------------------------------------------------


def _png_with_size(width: int, height: int) -> bytes:
    """A valid 1×1 PNG whose header claims another size: a decompression bomb's signature."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data[12:29]
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"this is not an image at all", "无法识别"),
        (_png_with_size(60000, 60000), "压缩炸弹"),
        (_png_with_size(5000, 10), "尺寸过大"),
        (_jpeg(Image.new("RGB", (400, 560), "white"))[:1500], "不完整"),
    ],
)
def test_bad_photos_are_refused_with_a_clear_422(app_env, request_body, data, fragment):
    client, settings, keys = app_env
    request_body["holder"]["photo"]["data_base64"] = base64.b64encode(data).decode()
    response = issue(client, keys, request_body)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["path"] == "holder.photo.data_base64" and fragment in error["message"]


def test_cmyk_palette_and_rotated_photos_are_accepted(app_env, request_body):
    from service.documents.photo import PHOTO_PX, fit_photo

    client, settings, keys = app_env
    cmyk = _jpeg(Image.new("CMYK", (400, 560), (0, 200, 200, 0)))
    palette = io.BytesIO()
    Image.new("RGB", (400, 560), "blue").convert("P").save(palette, "PNG")
    # A landscape picture whose EXIF says "rotate 90°": the person stands upright once applied.
    wide = Image.new("RGB", (560, 400), "white")
    wide.paste((255, 0, 0), (0, 0, 280, 400))  # red on the left half
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = _jpeg(wide, exif=exif)
    for data, media in ((cmyk, "image/jpeg"), (palette.getvalue(), "image/png"), (rotated, "image/jpeg")):
        body = copy.deepcopy(request_body)
        body["declaration_id"] += media + str(len(data))
        body["holder"]["photo"] = {"media_type": media, "data_base64": base64.b64encode(data).decode()}
        assert issue(client, keys, body).status_code == 201
    fitted = Image.open(io.BytesIO(fit_photo(rotated)))
    assert fitted.size == PHOTO_PX and fitted.mode == "RGB"
    # Orientation 6 turns the red left half into the top half.
    top, bottom = fitted.getpixel((PHOTO_PX[0] // 2, 10)), fitted.getpixel((PHOTO_PX[0] // 2, PHOTO_PX[1] - 10))
    assert top[0] > 200 and top[1] < 80 and top[2] < 80
    assert min(bottom) > 230
    assert Image.open(io.BytesIO(fit_photo(cmyk))).mode == "RGB"


def test_rare_characters_and_long_names_on_the_certificate(app_env, request_body):
    from tests.pdftext import fonts_of_chars

    client, settings, keys = app_env
    request_body["holder"]["name"] = "刘䶮王𠇔" + "欧阳" * 10
    response = issue(client, keys, request_body)
    assert response.status_code == 201, response.text
    pdf = client.get(response.json()["pdf_url"], headers=auth(keys["platform"])).content
    assert "刘䶮王𠇔" in pdf_text(pdf)
    assert all(fonts_of_chars(pdf, "䶮𠇔").values())


def test_issuance_has_workers_of_its_own_and_never_queues_behind_the_forms(app_env, request_body):
    """With every form worker taken and the form queue full (a form answers 503 at once),
    a certificate is still issued and reissued: it runs in the certificate workers."""
    client, settings, keys = app_env
    forms = client.app.state.workers
    certificates = client.app.state.certificate_workers
    assert certificates is not forms and certificates.name == "certificates"
    forms.max_waiting = 0
    forms._queue()  # the queue of free workers, emptied as if each were busy with a long form
    taken = [forms._free.get_nowait() for _ in range(forms._free.qsize())]
    try:
        refused = client.post(
            "/api/v1/forms/review-form",
            json=load_contract("declaration.json"),
            headers=auth(keys["platform"]),
        )
        assert refused.status_code == 503 and refused.json()["error"] == "busy", refused.text
        issued = issue(client, keys, request_body)
        assert issued.status_code == 201, issued.text
        number = issued.json()["number"]
        reissued = client.post(
            f"/api/v1/certificates/{number}/reissue",
            json={"reason": "证书遗失", "kind": "补发"},
            headers=auth(keys["staff"]),
        )
        assert reissued.status_code == 201, reissued.text
    finally:
        for slot in taken:
            forms._free.put_nowait(slot)

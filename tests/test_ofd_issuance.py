"""The OFD twin through the service: issued beside the PDF (same number, same QR code),
downloaded like it, made again at reissue, sealed by the seal batch for a pending
certificate; uploads of OFD packages get the PDF's verdicts; a PDF-only province has none."""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from service.app import create_app
from service.config import Settings
from service.ofd.package import OFD_NS, zip_package
from service.ofd.reading import parse_xml, read_package
from service.ofd.signatures import check_package
from service.registry.models import Certificate
from tests.conftest import auth, issue_contract_certificate, make_key
from tests.test_batches import add_keyless_committee, give_key, issue_pending, wait_for

NS = {"ofd": OFD_NS}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("ofd") / "data", seal_level="B-T", batch_warm=False, verify_rate_per_minute=600
    )
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff")}
        yield client, settings, keys


def issue(client, keys, declaration_id: str) -> dict:
    return issue_contract_certificate(client, keys["platform"], declaration_id)


def download_ofd(client, keys, body: dict) -> bytes:
    response = client.get(body["ofd_url"], headers=auth(keys["platform"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ofd"
    return response.content


def upload(client, data: bytes, filename: str | None = None):
    if filename is not None:  # the name says nothing: the bytes decide
        return client.post("/api/v1/verify/upload", files={"file": (filename, data, "application/pdf")})
    return client.post("/api/v1/verify/upload", content=data, headers={"content-type": "application/ofd"})


def rezipped(ofd: bytes, change) -> bytes:
    files = read_package(ofd)
    change(files)
    return zip_package(files)


def test_every_issued_certificate_has_its_sealed_ofd_twin_with_the_same_qr_code(env):
    client, settings, keys = env
    body = issue(client, keys, "OFD-0001")
    ofd = download_ofd(client, keys, body)
    assert hashlib.sha256(ofd).hexdigest() == body["ofd_sha256"]
    files = read_package(ofd)
    services = client.app.state.services
    verdict = check_package(files, services.sm2_seals.roots(), parse_xml, services.sealers.current().trust)
    assert verdict.genuine and len(verdict.seals) == 2, verdict.problems
    assert [s.seal_name for s in verdict.seals] == [body["committee"]["name"], body["issuer"]["name"]]
    # both seals timestamped by the TSA the PDF's seals use
    assert all(s.timestamped_at is not None for s in verdict.seals)
    info = parse_xml(files["OFD.xml"]).find(".//ofd:DocInfo", NS)
    custom = {c.get("Name"): c.text for c in info.iter(f"{{{OFD_NS}}}CustomData")}
    assert custom["证照编号"] == body["number"] and custom["电子证照标识"] == body["identifier"]
    # one code on both files: the URL and, after "#", the signed offline payload
    png = next(data for name, data in files.items() if name.endswith(".png"))
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [body["qr_text"]]
    assert "#ZC1:" in body["qr_text"]
    texts = [t.text for t in parse_xml(files["Doc_0/Pages/Page_0/Content.xml"]).iter(f"{{{OFD_NS}}}TextCode")]
    assert body["holder"]["name"] in texts and body["number"] in texts


def test_uploaded_ofd_verdicts_genuine_altered_foreign_and_unreadable(env):
    client, settings, keys = env
    body = issue(client, keys, "OFD-0002")
    ofd = download_ofd(client, keys, body)
    genuine = upload(client, ofd)
    assert genuine.status_code == 200, genuine.text
    answer = genuine.json()
    assert answer["verdict"] == "genuine_current" and answer["certificate"]["number"] == body["number"]
    assert [s["valid"] for s in answer["seals"]] == [True, True] and answer["document_valid"]
    assert upload(client, ofd, filename="certificate.pdf").json()["verdict"] == "genuine_current"
    # zipped again, every file as issued: still the certificate
    assert upload(client, rezipped(ofd, lambda f: None)).json()["verdict"] == "genuine_current"

    def change_name(files):
        page = "Doc_0/Pages/Page_0/Content.xml"
        files[page] = files[page].replace(body["holder"]["name"].encode(), "李四".encode())

    def add(files):
        files["Doc_0/Res/extra.png"] = b"\x89PNG"

    def remove(files):
        del files["Doc_0/Res/font_bold.ttf"]

    for change in (change_name, add, remove):
        altered = upload(client, rezipped(ofd, change)).json()
        assert altered["verdict"] == "altered", (change.__name__, altered)
        assert altered["certificate"]["number"] == body["number"] and altered["certificate"]["genuine"] is False

    def unsealed(files):
        for name in [n for n in files if "/Signs/" in n]:
            del files[name]

    assert upload(client, rezipped(ofd, unsealed)).json()["verdict"] == "not_issued_here"
    broken = upload(client, rezipped(ofd, lambda f: f.update({"Doc_0/Signs/Signatures.xml": b"<not xml"})))
    assert broken.status_code == 422 and "OFD" in broken.json()["message"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", b"<a/>")
        archive.writestr("Doc_0/bomb.xml", b"\0" * 50_000_000)
    refused = upload(client, bomb.getvalue())
    assert refused.status_code == 422 and "不是可读取的 OFD" in refused.json()["message"]


def test_an_ofd_sealed_elsewhere_is_not_issued_here(env, tmp_path):
    from service.ofd.certificate import certificate_page, make_ofd
    from service.signing.devpki import generate_dev_pki
    from tests.signing.conftest import FROZEN
    from tests.test_certificate_doc import CONTRACT, NUMBER, VERIFY_URL, identifier_for, request_of
    from tests.test_ofd import org_seal

    client, settings, keys = env
    request = request_of(CONTRACT)
    pki = generate_dev_pki([(request.committee.code, request.committee.name, "committee")], FROZEN)
    stranger = org_seal(pki, request.committee.code, request.committee.name)
    page = certificate_page(
        request, number=NUMBER, identifier=identifier_for(request), verify_url=VERIFY_URL, fonts_dir=settings.fonts_dir
    )
    foreign = make_ofd(page, settings.fonts_dir, (stranger, stranger), FROZEN)
    answer = upload(client, foreign).json()
    assert answer["verdict"] == "not_issued_here" and answer["certificate"] is None


def test_reissue_makes_a_new_ofd_and_revoke_keeps_it_revoked(env):
    client, settings, keys = env
    body = issue(client, keys, "OFD-0003")
    first = download_ofd(client, keys, body)
    reissued = client.post(
        f"/api/v1/certificates/{body['number']}/reissue",
        json={"reason": "更正工作单位", "corrections": {"holder": {"work_unit": "武汉某设计院"}}},
        headers=auth(keys["staff"]),
    )
    assert reissued.status_code == 201, reissued.text
    second = reissued.json()
    assert second["version"] == 2 and second["ofd_sha256"] not in (None, body["ofd_sha256"])
    assert upload(client, first).json()["verdict"] == "genuine_superseded"
    new = download_ofd(client, keys, second)
    texts = [
        t.text for t in parse_xml(read_package(new)["Doc_0/Pages/Page_0/Content.xml"]).iter(f"{{{OFD_NS}}}TextCode")
    ]
    assert "武汉某设计院" in texts
    revoked = client.post(
        f"/api/v1/certificates/{body['number']}/revoke",
        json={"reason": "材料造假", "category": "materials_falsified"},
        headers=auth(keys["staff"]),
    )
    assert revoked.status_code == 200, revoked.text
    assert download_ofd(client, keys, second) == new  # kept as issued
    answer = upload(client, new).json()
    assert answer["verdict"] == "genuine_revoked" and answer["certificate"]["status"] == "revoked"


def test_a_pdf_only_province_issues_no_ofd(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(Settings().profiles_dir, profiles)
    hubei = profiles / "hubei.toml"
    hubei.write_text(hubei.read_text("utf-8").replace('formats = ["pdf", "ofd"]', 'formats = ["pdf"]'), "utf-8")
    settings = Settings(data_dir=tmp_path / "data", seal_level="B-T", profiles_dir=profiles)
    with TestClient(create_app(settings)) as client:
        keys = {"platform": make_key(settings, "platform")}
        body = issue(client, keys, "PDF-ONLY-1")
        assert body["ofd_url"] is None and body["ofd_sha256"] is None
        missing = client.get(f"/api/v1/certificates/{body['number']}/ofd", headers=auth(keys["platform"]))
        assert missing.status_code == 404 and "不签发 OFD" in missing.json()["message"]
        assert client.get(f"/api/v1/certificates/{body['number']}/ofd").status_code == 401


def test_a_pending_certificates_ofd_twin_is_sealed_by_the_seal_batch(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", seal_level="B-T", batch_processes=1, batch_chunk=5)
    add_keyless_committee(settings)
    with TestClient(create_app(settings)) as client:
        keys = {role: make_key(settings, role) for role in ("platform", "staff", "admin")}
        numbers = issue_pending(client, keys, 2, prefix="OFDPEND")
        pending = client.get(f"/api/v1/certificates/{numbers[0]}", headers=auth(keys["platform"])).json()
        assert pending["ofd_url"] is None
        missing = client.get(f"/api/v1/certificates/{numbers[0]}/ofd", headers=auth(keys["platform"]))
        assert missing.status_code == 404 and "尚未加盖电子印章" in missing.json()["message"]
        give_key(client, keys)
        job = client.post("/api/v1/batches", json={"kind": "seal", "numbers": numbers}, headers=auth(keys["staff"]))
        assert wait_for(client, keys, job.json()["id"])["done"] == 2
        services = client.app.state.services
        with services.sessions() as session:
            rows = session.scalars(select(Certificate).where(Certificate.number.in_(numbers))).all()
        assert all(r.status == "valid" and r.ofd_sha256 for r in rows)
        sealed = client.get(f"/api/v1/certificates/{numbers[0]}", headers=auth(keys["platform"])).json()
        ofd = download_ofd(client, keys, sealed)
        assert check_package(read_package(ofd), services.sm2_seals.roots(), parse_xml).genuine
        assert upload(client, ofd).json()["verdict"] == "genuine_current"


def test_a_tsa_that_does_not_answer_leaves_the_ofd_seal_without_a_timestamp(caplog):
    from types import SimpleNamespace

    from service.certificates import ofd_twin

    class Silent:
        async def async_timestamp(self, digest, algorithm):
            raise OSError("connection refused")

    services = SimpleNamespace(sealers=SimpleNamespace(current=lambda: SimpleNamespace(timestamper=Silent())))
    timestamp = ofd_twin._timestamp_of(services, "9420224420001000001")
    assert timestamp is not None and timestamp(b"signature value") is None
    assert "without a timestamp" in caplog.text and "9420224420001000001" in caplog.text
    none = SimpleNamespace(sealers=SimpleNamespace(current=lambda: SimpleNamespace(timestamper=None)))
    assert ofd_twin._timestamp_of(none, "x") is None
